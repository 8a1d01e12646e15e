"""The map's endpoints: catalogue, district GeoJSON, summaries, ETags and the page itself."""

from __future__ import annotations

import re

from sqlalchemy import text

from layers import catalogue
from loaders import demo, demo_load, districts
from webmap import create_app


def test_catalogue_lists_every_layer_with_its_data_url(client):
    body = client.get("/api/layers").get_json()
    ids = [layer["id"] for layer in body["layers"]]
    assert ids == [layer.id for layer in catalogue.LAYERS]
    assert body["default"] == "premium_total"
    by_id = {layer["id"]: layer for layer in body["layers"]}
    assert by_id["loss_ratio"]["data_url"] == "/api/layers/loss_ratio/districts"
    assert by_id["heat_claims"]["data_url"] == "/api/heat/claims"
    assert by_id["premium_total"]["title_zh"] == "总保费"
    assert by_id["premium_total"]["unit"] == "万元"


def test_district_geojson_with_filters(client):
    response = client.get("/api/layers/claims/districts?period=2024&stage=delivered")
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    fc = response.get_json()
    assert len(fc["features"]) == 14 and fc["legend"]["title"] == "理赔案件数"
    assert fc["filters"] == {"from": "2024-01-01", "to": "2024-12-31", "stage": "delivered"}
    names = {f["properties"]["name"] for f in fc["features"]}
    assert "五华区" in names


def test_bad_requests_say_what_is_wrong(client):
    bad = client.get("/api/layers/claims/districts?period=2024-13")
    assert bad.status_code == 400 and "period" in bad.get_json()["error"]
    assert client.get("/api/layers/no_such_layer/districts").status_code == 404
    assert client.get("/api/layers/heat_claims/districts").status_code == 404
    assert client.get("/api/districts/999999").status_code == 404


def test_district_summary_compares_with_the_city(client):
    body = client.get("/api/districts/530102").get_json()
    assert body["name"] == "五华区"
    premium = next(x for x in body["indicators"] if x["id"] == "premium_total")
    assert 0 < premium["value"] < premium["city"]  # one district's part of the city's total
    rate = next(x for x in body["indicators"] if x["id"] == "average_rate")
    assert 1.0 <= rate["city"] <= 2.5  # a city ratio, inside the demo's rate range
    assert 0 < len(body["top_projects"]) <= 10
    # the worst grade first (D … A, ungraded last), then the most open risk events
    order = {"D": 0, "C": 1, "B": 2, "A": 3, None: 4}
    ranks = [(order[p["grade"]], -p["open_risk_events"]) for p in body["top_projects"]]
    assert ranks[0][0] == min(r[0] for r in ranks)


def test_etag_answers_304_until_the_data_changes(make_database, client_for):
    engine = make_database()
    with engine.begin() as conn:
        districts.load_districts(conn, districts.district_records(city="530100"))
        demo_load.run_demo(conn, demo.DemoOptions(city="530100", projects=30))
    client = client_for(engine)
    url = "/api/layers/premium_total/districts?period=2022"
    first = client.get(url)
    tag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and not again.data
    other = client.get("/api/layers/premium_total/districts?period=2023")
    assert other.headers["ETag"] != tag  # another view, another tag
    with engine.begin() as conn:  # any edit, even outside the loaders, changes the tag
        conn.execute(text("UPDATE policy SET premium_yuan = premium_yuan + 1 WHERE id = 1"))
    changed = client.get(url, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag


def test_map_page_embeds_no_data_and_loads_nothing_from_outside(client, kunming):
    html = client.get("/").get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") or s.startswith("data:") for s in sources)
    assert "/vendor/leaflet/dist/leaflet.js" in sources
    assert "昆明市住宅工程质量潜在缺陷保险风险地图" in html
    with kunming.connect() as conn:
        some_project = conn.execute(text("SELECT name FROM project LIMIT 1")).scalar_one()
    assert some_project not in html and "FeatureCollection" not in html
    assert len(html) < 40_000


def test_vendored_assets_are_served_and_others_are_not(client):
    assert client.get("/vendor/leaflet/dist/leaflet.css").status_code == 200
    assert client.get("/vendor/leaflet.heat/dist/leaflet-heat.js").status_code == 200
    assert client.get("/vendor/pbf/dist/pbf.js").status_code == 404
    assert client.get("/vendor/leaflet/dist/../package.json").status_code == 404


def test_project_page_escapes_names_from_the_data(make_database, client_for):
    engine = make_database()
    with engine.begin() as conn:
        districts.load_districts(conn, districts.district_records(city="530100"))
        demo_load.run_demo(conn, demo.DemoOptions(city="530100", projects=5))
        conn.execute(text("UPDATE project SET name = :n WHERE id = 1"),
                     {"n": "<script>alert(1)</script>"})
    client = client_for(engine)
    html = client.get("/projects/1").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert client.get("/api/projects/1").get_json()["name"] == "<script>alert(1)</script>"
    assert client.get("/projects/99999").status_code == 404


def test_the_outline_basemap_by_default_and_configured_tile_services_when_asked(app, kunming):
    html = app.test_client().get("/").get_data(as_text=True)
    assert '"default": "outline"' in html and "tianditu" not in html
    outline = app.test_client().get("/api/public/outline")
    assert outline.status_code == 200 and outline.mimetype == "application/geo+json"
    levels = [f["properties"]["level"] for f in outline.get_json()["features"]]
    assert levels.count("province") == 1 and levels.count("district") == 14
    names = {f["properties"]["name"] for f in outline.get_json()["features"]}
    assert {"云南省", "昆明市", "五华区"} <= names
    url = kunming.url.render_as_string(hide_password=False)
    internal = create_app({"DATABASE_URL": url, "BASEMAP": "xyz",
                           "BASEMAP_URL": "http://tiles.intranet/{z}/{x}/{y}.png"})
    response = internal.test_client().get("/")
    assert "http://tiles.intranet/{z}/{x}/{y}.png" in response.get_data(as_text=True)
    assert "img-src 'self' data: blob: http://tiles.intranet;" in (
        response.headers["Content-Security-Policy"])
    tianditu = create_app({"DATABASE_URL": url, "BASEMAP": "tianditu", "TIANDITU_KEY": "k123"})
    response = tianditu.test_client().get("/")
    html = response.get_data(as_text=True)
    assert "tianditu.gov.cn/{layer}_w/wmts" in html and '"tk": "k123"' in html
    assert '"default": "tianditu"' in html and '"id": "tianditu_img"' in html
    assert "https://*.tianditu.gov.cn" in response.headers["Content-Security-Policy"]
