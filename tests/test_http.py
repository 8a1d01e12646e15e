"""HTTP as operators and other map clients expect it: compressed answers, the public layers
and their vector tiles cacheable and shared with configured origins, and every URL right
behind a proxy that serves the service under a prefix over HTTPS."""

from __future__ import annotations

import gzip
import re

import brotli
import mapbox_vector_tile
import pytest
from importing import demo_store
from test_publication import approved

from conftest import sign_in
from layers import disclosure
from webmap import create_app

ORIGIN = "https://gis.example.gov.cn"
PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "maps.example.gov.cn",
         "X-Forwarded-Prefix": "/riskmap", "X-Forwarded-For": "10.1.2.3"}
KUNMING_Z7 = (7, 100, 54)  # the tile of zoom 7 over Kunming's urban districts


@pytest.fixture(scope="module")
def published(make_database):
    """A demo with one approved public layer; returns the store and the layer's id."""
    engine = demo_store(make_database, projects=120)
    return engine, approved(engine, "projects", rules=disclosure.Rules(min_projects=8))


def _app(engine, **config):
    return create_app({"TESTING": True, "DATABASE_URL": engine.url.render_as_string(
        hide_password=False), **config})


@pytest.fixture(scope="module")
def behind_proxy(published):
    """The service behind one proxy, sharing its public layers with ORIGIN."""
    return _app(published[0], PROXIES=1, CORS_ORIGINS=ORIGIN)


def _fetch(client, url: str, coding: str, **headers):
    return client.get(url, headers={"Accept-Encoding": coding, **headers})


def _same_page(body: bytes) -> bytes:
    """The body without what is drawn anew for every page: folium's element ids, the CSP
    nonce."""
    return re.sub(rb'_[0-9a-f]{32}|nonce="[^"]+"', b"_", body)


def _decoded(response) -> bytes:
    coding = response.headers.get("Content-Encoding")
    return {"gzip": gzip.decompress, "br": brotli.decompress}[coding](response.data)


@pytest.mark.parametrize("url", [
    "/api/public/layers/{pub}", "/tiles/public/{pub}/7/100/54.mvt", "/tiles/public/{pub}.json",
    "/", "/static/riskmap.js", "/vendor/echarts/dist/echarts.min.js",
    "/vendor/leaflet/dist/leaflet.css",
])
def test_compressed_answers_are_smaller_and_decode_to_the_same_bytes(published, url):
    client = _app(published[0]).test_client()
    url = url.format(pub=published[1])
    plain = _fetch(client, url, "identity")
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    for coding in ("gzip", "br"):
        packed = _fetch(client, url, coding)
        assert packed.headers["Content-Encoding"] == coding, url
        assert "Accept-Encoding" in packed.headers["Vary"]
        assert len(packed.data) < len(plain.data) * 0.7, (url, len(packed.data), len(plain.data))
        assert _same_page(_decoded(packed)) == _same_page(plain.data)


def test_signed_in_pages_and_district_layers_are_compressed_too(published):
    engine, _ = published
    client = sign_in(_app(engine).test_client(), engine, "regulator")
    layer = "/api/layers/premium_total/districts?period=2025"
    plain, packed = _fetch(client, layer, "identity"), _fetch(client, layer, "gzip")
    assert packed.headers["Content-Encoding"] == "gzip"
    assert _decoded(packed) == plain.data and len(packed.data) < len(plain.data) / 2
    # a compressed copy revalidates as such: 304, not the layer built and sent again
    again = _fetch(client, layer, "gzip", **{"If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    page = _fetch(client, "/statistics", "gzip")
    assert page.headers["Content-Encoding"] == "gzip"
    assert "统计分析" in _decoded(page).decode()


def test_cors_preflight_on_a_public_tile_answers_for_a_configured_origin(behind_proxy, published):
    client = behind_proxy.test_client()
    tile = f"/tiles/public/{published[1]}/7/100/54.mvt"
    asked = {"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
    preflight = client.options(tile, headers=asked)
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    # anonymous only: a page elsewhere never gets a user's cookies honoured
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    got = client.get(tile, headers={"Origin": ORIGIN})
    assert got.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in got.headers["Vary"] and "ETag" in got.headers[
        "Access-Control-Expose-Headers"]
    stranger = client.options(tile, headers={**asked, "Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in stranger.headers


def test_signed_in_endpoints_stay_same_origin(behind_proxy, published):
    engine, _ = published
    client = sign_in(behind_proxy.test_client(), engine, "regulator")
    for url in ("/tiles/projects.json", "/api/layers", "/tiles/projects/7/100/54.mvt"):
        response = client.get(url, headers={"Origin": ORIGIN})
        assert response.status_code == 200
        assert "Access-Control-Allow-Origin" not in response.headers, url
    without = _app(engine).test_client().get(  # no CORS_ORIGINS: nothing is shared
        f"/api/public/layers/{published[1]}", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in without.headers


def test_tilejson_behind_an_https_proxy_and_a_prefix_advertises_the_clients_urls(
        behind_proxy, published):
    engine, pub = published
    client = sign_in(behind_proxy.test_client(), engine, "regulator")
    projects = client.get("/tiles/projects.json?period=2025", headers=PROXY).get_json()
    assert projects["tiles"][0].startswith(
        "https://maps.example.gov.cn/riskmap/tiles/projects/{z}/{x}/{y}.mvt?from=2025-01-01")
    public = behind_proxy.test_client().get(f"/tiles/public/{pub}.json", headers=PROXY)
    assert public.get_json()["tiles"] == [
        f"https://maps.example.gov.cn/riskmap/tiles/public/{pub}/{{z}}/{{x}}/{{y}}.mvt"]
    # without PROXIES the same headers are not believed: anyone could send them
    direct = _app(engine).test_client().get(f"/tiles/public/{pub}.json", headers=PROXY)
    assert direct.get_json()["tiles"][0].startswith(f"http://localhost/tiles/public/{pub}/")


def test_pages_under_a_prefix_link_only_inside_it(behind_proxy, published):
    engine, _ = published
    client = sign_in(behind_proxy.test_client(), engine, "regulator")
    for url in ("/", "/statistics", "/districts/530102", "/search?q=滇池", "/portfolio"):
        html = client.get(url, headers=PROXY).get_data(as_text=True)
        links = re.findall(r'(?:src|href|action)="(/[^"]*)"', html)
        assert links, url
        assert all(link.startswith("/riskmap/") for link in links), (url, [
            link for link in links if not link.startswith("/riskmap/")])
    page = client.get("/", headers=PROXY).get_data(as_text=True)
    assert '"/riskmap/api/layers"' in page and "/riskmap/vendor/leaflet/dist/leaflet.js" in page
    public = behind_proxy.test_client().get("/", headers=PROXY).get_data(as_text=True)
    assert "/riskmap/api/public/layers/" in public and 'src="/vendor' not in public
    # the sign-in form sends back under the prefix too
    login = behind_proxy.test_client().get("/statistics", headers=PROXY)
    assert login.status_code == 302
    assert login.location == "/riskmap/login?next=/statistics"


def test_public_layers_and_tiles_are_shared_cacheable_whoever_asks(published):
    engine, pub = published
    app = _app(engine, PUBLIC_MAX_AGE=120)
    signed_in = sign_in(app.test_client(), engine, "regulator")
    for client in (app.test_client(), signed_in):
        for url in (f"/api/public/layers/{pub}", "/api/public/layers",
                    f"/tiles/public/{pub}/7/100/54.mvt", f"/tiles/public/{pub}.json"):
            response = client.get(url)
            assert response.status_code == 200, url
            assert response.headers["Cache-Control"] == "public, max-age=120"
            assert "Cookie" not in response.headers.get("Vary", ""), url
            assert "Set-Cookie" not in response.headers and response.headers["ETag"]
    # a tenant's tiles and layers are theirs alone, keyed by cookie or token
    tile = signed_in.get("/tiles/projects/7/100/54.mvt")
    assert tile.headers["Cache-Control"] == "private, no-cache"
    assert {"Cookie", "Authorization"} <= {v.strip() for v in tile.headers["Vary"].split(",")}


def test_a_public_tile_holds_the_approved_values_and_colours(published):
    engine, pub = published
    client = _app(engine).test_client()
    geojson = client.get(f"/api/public/layers/{pub}").get_json()
    tile = mapbox_vector_tile.decode(client.get(f"/tiles/public/{pub}/7/100/54.mvt").data)
    assert set(tile) == {"districts"}
    shown = {f["properties"]["code"]: f["properties"] for f in geojson["features"]}
    drawn = [f["properties"] for f in tile["districts"]["features"]]
    assert len(drawn) >= 5
    for props in drawn:
        assert props["colour"] == shown[props["code"]]["colour"]
        assert props["value_text"] == shown[props["code"]]["value_text"]
        assert ("value" in props) is (not shown[props["code"]]["suppressed"])
    tilejson = client.get(f"/tiles/public/{pub}.json").get_json()
    assert tilejson["legend"] == geojson["legend"]
    assert tilejson["vector_layers"][0]["id"] == "districts"
    assert client.get("/tiles/public/999999/7/100/54.mvt").status_code == 404
    assert client.get(f"/tiles/public/{pub}/7/999/54.mvt").status_code == 404
