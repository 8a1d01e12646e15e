"""The OpenAPI document: it validates, every path in it answers as it says (with the examples
it gives), the landing page negotiates JSON for OGC clients, the OGC pages have HTML, and the
interactive page (Swagger UI from /vendor) shows the API in headless Chromium."""

from __future__ import annotations

import json

import pytest
from browsing import ARTIFACTS, chromium_page, serving
from openapi_spec_validator import validate

from conftest import sign_in


@pytest.fixture(scope="module")
def app_published(kunming_published):
    from webmap import create_app

    return create_app({"TESTING": True, "DATABASE_URL": kunming_published.url.render_as_string(
        hide_password=False)})


@pytest.fixture()
def regulator(app_published, kunming_published):
    return sign_in(app_published.test_client(), kunming_published, "regulator")


def _document(client) -> dict:
    response = client.get("/api")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.get_json(force=True)


def test_the_document_validates_and_names_the_ogc_and_json_apis(regulator):
    doc = _document(regulator)
    validate(doc)
    assert {"/collections/{collectionId}/items", "/api/layers",
            "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/"
            "{tileCol}", "/api/statistics"} <= set(doc["paths"])


def _url(path: str, operation: dict) -> str:
    for param in operation["parameters"]:
        if param["in"] == "path":
            path = path.replace("{" + param["name"] + "}", str(param["example"]))
    required = [f"{p['name']}={p['example']}" for p in operation["parameters"]
                if p["in"] == "query" and p.get("required")]
    return path + ("?" + "&".join(required) if required else "")


def test_every_path_answers_as_documented(regulator):
    doc = _document(regulator)
    for path, item in doc["paths"].items():
        operation = item["get"]
        url = _url(path, operation)
        response = regulator.get(url, headers={"Accept": "application/json"})
        documented = operation["responses"]
        assert str(response.status_code) in documented, (url, response.status_code)
        assert response.status_code == 200, (url, response.status_code)
        media = response.headers["Content-Type"].split(";")[0]
        assert media in {m.split(";")[0] for m in documented["200"]["content"]}, (url, media)
        if "json" in media:
            json.loads(response.get_data(as_text=True))


def test_the_landing_page_is_json_for_ogc_clients_and_the_map_for_browsers(app_published):
    client = app_published.test_client()
    for accept in ("*/*", "application/json"):
        landing = client.get("/", headers={"Accept": accept})
        assert landing.status_code == 200 and landing.is_json, accept
        rels = {link["rel"] for link in landing.get_json()["links"]}
        assert {"service-desc", "conformance", "data"} <= rels
    browser = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.mimetype == "text/html" and "leaflet" in browser.get_data(as_text=True)
    assert client.get("/?f=json").is_json


def test_ogc_pages_have_html_that_escapes_the_data(regulator):
    page = regulator.get("/collections/projects/items?f=html&limit=5")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "共 " in html and "报建号" in html and "下一页" in html
    assert regulator.get("/collections", headers={"Accept": "text/html"}).mimetype == "text/html"
    assert regulator.get("/collections?f=xml").status_code == 400


def test_the_public_is_told_to_sign_in_for_tenant_collections(app_published):
    client = app_published.test_client()
    answer = client.get("/collections/claims/items")
    assert answer.status_code == 401 and "请先登录" in answer.get_json()["error"]
    assert client.get("/collections/nothing/items").status_code == 404


def test_the_interactive_page_shows_every_path_from_local_assets(kunming_published):
    with serving(kunming_published) as server, chromium_page() as (page, problems):
        page.goto(server + "/api/docs", wait_until="networkidle")
        page.wait_for_selector(".opblock", timeout=30_000)
        shown = page.locator(".opblock-summary-path").all_inner_texts()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
    assert any("/collections/{collectionId}/items" in s.replace("\u200b", "") for s in shown)
    assert not problems, problems
