"""Above the city: districts rolled up to cities and provinces, the overview that drills from
the nation down, and the statistics and portfolio of a province or the nation — each equal to
its cities' own figures added up."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from test_jurisdiction import (
    KUNMING,
    QUJING,
    SUIZHOU,
    WUHUA,
    YUNNAN,
    signed_in,
    signed_in_as,
)

from conftest import as_web
from geo.tenancy import NATION, Tenant
from layers import catalogue, districts, statistics
from layers.filters import Filters
from webmap import accounts

_ROLLUP_PERIODS = st.sampled_from([(None, None), ("2022-01-01", "2022-12-31"),
                                   ("2023-04-01", "2023-06-30"), ("2019-05-02", None)])
_ROLLUP_PARTS = st.sampled_from([None, frozenset({"written"}), frozenset({"risk"}),
                                 frozenset({"written", "risk"}), frozenset({"claims", "earned"})])


def test_cities_and_provinces_rolled_up_equal_each_citys_own_totals(cities):
    """A city's (or province's) row of the rolled-up layers equals that city's own totals
    (`city_values` over its district layer), for any tenant, period, stage, insurer and
    parts, whether summed from district_day or through row security."""
    with cities.connect() as conn:
        insurer = conn.execute(text("SELECT min(insurer_id) FROM policy_share")).scalar_one()
    tenants = st.sampled_from([Tenant("regulator", jurisdiction=NATION),
                               Tenant("planner", jurisdiction=YUNNAN),
                               Tenant("regulator", jurisdiction=KUNMING),
                               Tenant("insurer", insurer)])

    @settings(max_examples=25, deadline=None, database=None)
    @given(tenants, _ROLLUP_PERIODS, st.sampled_from([None, "delivered"]), _ROLLUP_PARTS,
           st.sampled_from([(NATION, "city"), (YUNNAN, "city"), (NATION, "province")]))
    def check(tenant, period, stage, parts, asked):
        area, level = asked
        filters = Filters(date_from=period[0] and dt.date.fromisoformat(period[0]),
                          date_to=period[1] and dt.date.fromisoformat(period[1]),
                          stage=stage).for_tenant(tenant)
        with cities.connect() as conn, as_web(conn, tenant):
            rolled = {row["code"]: row for row in
                      districts.rollup_metrics(conn, area, level, filters, parts)}
            own = {}
            for city, prefix in ((KUNMING, "53"), (QUJING, "53"), (SUIZHOU, "42")):
                if not city.startswith(area.rstrip("0")) and area != NATION:
                    continue
                rows = districts.district_metrics(conn, city, filters, parts=parts)
                totals = districts.city_values(conn, city, filters, rows)
                code = city if level == "city" else prefix + "0000"
                own.setdefault(code, []).append(totals)
        assert set(rolled) == set(own)
        for code, parts_of_code in own.items():
            for column in districts.BASE_COLUMNS:
                assert rolled[code][column] == pytest.approx(
                    sum(t[column] for t in parts_of_code)), (code, column)
            if len(parts_of_code) == 1:  # a ratio of one city's totals is that city's
                for layer in catalogue.DISTRICT_LAYERS:
                    if parts is None or districts.parts_of(layer) <= parts:
                        assert rolled[code][layer.id] == pytest.approx(
                            parts_of_code[0][layer.id], nan_ok=True), (code, layer.id)

    check()


def test_cities_and_provinces_are_outlined_by_their_districts(cities):
    """The overview's map draws each city and province as the union of its districts (kept by
    the districts' loader), and shows each with the colour and figure of its table row."""
    with cities.connect() as conn:
        rows = conn.execute(text("""
            SELECT o.code, o.level, ST_Area(o.boundary::geography) AS drawn,
                   (SELECT ST_Area(ST_Union(d.boundary)::geography) FROM district d
                    WHERE d.city_code = o.code OR d.province_code = o.code) AS districts
            FROM area_outline o""")).all()
        shown = districts.rollup_layer(conn, "premium_total", NATION, "province", Filters())
        outlines = districts.rollup_outlines(conn, shown)
    assert {r.code: r.level for r in rows} == {KUNMING: "city", QUJING: "city", SUIZHOU: "city",
                                               YUNNAN: "province", "420000": "province"}
    for row in rows:
        assert row.drawn == pytest.approx(row.districts, rel=1e-3), row.code
    assert [f["id"] for f in outlines["features"]] == ["420000", YUNNAN]
    for feature, row in zip(outlines["features"], shown["rows"], strict=True):
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert feature["properties"]["colour"] == row["colour"]
        assert feature["properties"]["value_text"] == row["value_text"]


def test_the_overview_rolls_the_jurisdiction_up_by_province_and_city(cities):
    nation, km = signed_in(cities, "cn-regulator", NATION), signed_in(cities, "km-regulator",
                                                                         KUNMING)
    yunnan = signed_in(cities, "yn-regulator", YUNNAN)
    provinces = nation.get("/api/layers/risk_events/areas").get_json()
    assert [(r["code"], r["name"]) for r in provinces["rows"]] == [
        ("420000", "湖北省"), ("530000", "云南省")]
    own = yunnan.get("/api/layers/risk_events/areas").get_json()
    assert [r["code"] for r in own["rows"]] == [KUNMING, QUJING] and own["level"] == "city"
    # the province's row is its cities' sum
    assert provinces["rows"][1]["value"] == sum(r["value"] for r in own["rows"])
    page = yunnan.get("/areas?layer=risk_events").get_data(as_text=True)
    assert "全国 › <b>云南省</b>" not in page and "<b>云南省</b>" in page and "曲靖市" in page
    assert yunnan.get("/areas?area=100000").status_code == 404
    assert yunnan.get("/api/layers/risk_events/areas?area=420000").status_code == 404
    assert km.get("/areas?area=530000").status_code == 404
    mine = km.get("/api/layers/risk_events/areas").get_json()
    assert [r["code"] for r in mine["rows"]] == [KUNMING]
    assert mine["rows"][0]["value"] == own["rows"][0]["value"]


def test_an_insurers_overview_is_its_own_business_in_every_city(cities):
    with cities.connect() as conn:
        insurer = conn.execute(text("SELECT insurer_id FROM policy_share GROUP BY 1 "
                                    "ORDER BY count(*) DESC LIMIT 1")).scalar_one()
    client = signed_in_as(cities, "insurer", insurer)
    rolled = client.get("/api/layers/premium_total/areas?level=city").get_json()
    assert rolled["level"] == "city" and rolled["filters"]["insurer"] == str(insurer)
    for row in rolled["rows"]:
        layer = client.get(f"/api/layers/premium_total/districts?city={row['code']}").get_json()
        total = sum(f["properties"]["value"] or 0 for f in layer["features"])
        assert row["value"] == pytest.approx(total), row["code"]
    assert all(row["value"] for row in rolled["rows"])  # its business is in all three
    assert client.get("/areas").status_code == 200


def test_the_browser_drills_from_the_nation_to_a_project_of_another_city(cities):
    """A national regulator lands on the nation's map of provinces, finds the map of the
    configured city with its switcher, goes from the nation's provinces to Hubei's cities to
    Suizhou's map, clicks a district and opens its riskiest project; a city regulator lands
    on its city's map and is offered no switch."""
    from browsing import PHONE, assert_fits_a_phone, chromium_page, serving, sign_in

    from conftest import TEST_PASSWORD
    with cities.begin() as conn:
        for name, code in (("cn-browser", NATION), ("km-browser", KUNMING)):
            if not conn.execute(text("SELECT 1 FROM app_user WHERE username = :u"),
                                {"u": name}).first():
                accounts.add_user(conn, name, "regulator", TEST_PASSWORD, jurisdiction=code)
    with serving(cities) as server, chromium_page() as (page, problems):
        # over three cities, the national regulator lands on the nation's overview
        sign_in(page, server, "cn-browser", landing="/areas")
        assert page.get_attribute("#area-map", "data-areas") == "2"
        # the provinces are the map's bearings: no city outline fetched under them, their names
        assert page.get_attribute("#area-map", "data-outline") == "none"
        labels = page.locator("#area-map .map-label").all_inner_texts()
        assert sorted(labels) == ["云南省", "湖北省"]
        page.goto(server + "/", wait_until="networkidle")
        page.wait_for_selector(".riskmap-legend .legend-row")
        assert page.locator("path[class*='district-5301']").count() == 14
        groups = page.eval_on_selector_all(
            "#city-choice optgroup", "gs => gs.map(g => [g.label, "
            "[...g.querySelectorAll('option')].map(o => o.textContent)])")
        assert groups == [["湖北省", ["随州市"]], ["云南省", ["昆明市", "曲靖市"]]]
        # the nation's provinces, one of them opens its cities, one city opens its map
        page.click("#areas-link")
        page.wait_for_selector("#areas tbody tr")
        assert page.eval_on_selector_all("#areas tbody tr", "rs => rs.map(r => r.dataset.code)"
                                         ) == ["420000", "530000"]
        assert page.inner_text("#area-trail") == "全国"
        # on the map as in the table: a province opens its cities, a city its risk map
        assert page.get_attribute("#area-map", "data-areas") == "2"
        page.locator("path.area-420000").click(force=True)
        page.wait_for_selector("#areas tr[data-code='421300']")
        assert page.inner_text("#area-trail") == "全国 › 湖北省"
        page.wait_for_selector("path.area-421300")
        page.locator("path.area-421300").click(force=True)
        page.wait_for_url(server + "/?layer=premium_total", wait_until="networkidle")
        page.wait_for_selector("path[class*='district-4213']")
        assert page.eval_on_selector("#city-choice", "s => s.value") == SUIZHOU
        assert page.locator("path[class*='district-5301']").count() == 0
        assert "随州市" in page.title()
        page.locator("path[class*='district-421303']").first.click(force=True)
        page.wait_for_selector("#riskmap-summary ol li a")
        assert page.inner_text("#riskmap-summary h2") == "曾都区"
        name = page.inner_text("#riskmap-summary ol li a >> nth=0")
        with page.context.expect_page() as opened:  # the summary opens projects in a new tab
            page.click("#riskmap-summary ol li a >> nth=0")
        project = opened.value
        project.wait_for_load_state("networkidle")
        assert "/projects/" in project.url
        assert name in project.inner_text("main") and "曾都区" in project.inner_text("main")
        assert problems == []
    with serving(cities) as server, chromium_page() as (page, problems):
        sign_in(page, server, "km-browser")
        assert page.locator("#city-choice").count() == 0
        assert problems == []
    # on a 390 px phone the overview pages and the map with its switcher fit the screen
    with serving(cities) as server, chromium_page() as (page, problems):
        page.set_viewport_size(PHONE)
        sign_in(page, server, "cn-browser", landing="/areas")
        assert_fits_a_phone(page, server, ("/areas", "/areas?area=420000", "/"))
        assert page.locator("#city-choice").count() == 1
        assert problems == []


ADDITIVE = {"underwriting": ("policies", "projects", "premium", "sum_insured"),
            "risk": ("risk_events", "severe_risk_events", "open_risk_events"),
            "claims": ("claims", "filed_claims", "paid")}


def _figures(answer) -> dict[tuple[str, str], float]:
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return {(s["id"], f["id"]): f["value"] or 0 for s in answer.get_json()["sections"]
            for f in s["indicators"] if f["id"] in ADDITIVE.get(s["id"], ())}


def test_statistics_of_a_province_and_the_nation_add_up_their_cities(cities):
    """The province's and the nation's regulator ask for their whole area (?area=): every
    count and sum is its cities' added up; a city's regulator is refused a wider area, in
    Chinese, and the province's the nation."""
    nation, yunnan = (signed_in(cities, "cn-regulator", NATION),
                      signed_in(cities, "yn-regulator", YUNNAN))
    km = signed_in(cities, "km-regulator", KUNMING)
    by_city = {city: _figures(nation.get(f"/api/statistics?city={city}"))
               for city in (KUNMING, QUJING, SUIZHOU)}
    province = _figures(yunnan.get(f"/api/statistics?area={YUNNAN}"))
    whole = _figures(nation.get(f"/api/statistics?area={NATION}"))
    assert whole[("underwriting", "policies")] > province[("underwriting", "policies")] > 0
    for key in whole:
        assert province[key] == pytest.approx(by_city[KUNMING][key] + by_city[QUJING][key]
                                              ), key
        assert whole[key] == pytest.approx(sum(c[key] for c in by_city.values())), key
    assert _figures(nation.get(f"/api/statistics?area={YUNNAN}")) == province
    refused = km.get(f"/api/statistics?area={YUNNAN}")
    assert refused.status_code == 404 and "辖区代码 530000 不在您的管辖范围内" in refused.get_data(
        as_text=True)
    assert yunnan.get(f"/api/statistics?area={NATION}").status_code == 404
    assert yunnan.get("/api/statistics?area=420000").status_code == 404
    assert nation.get(f"/api/statistics?area={WUHUA}").status_code == 404  # a district
    page = yunnan.get(f"/statistics?area={YUNNAN}&period=2024").get_data(as_text=True)
    assert "云南省" in page and f'name="area" value="{YUNNAN}"' in page
    # a district is named with its city over a province (many districts share a name), so
    # a chart by district never adds two together; a city's keep their own names
    def by_district(client, query, chart):
        answer = client.get(f"/api/statistics?{query}").get_json()
        return next(c["categories"] for s in answer["sections"] for c in s["charts"]
                    if c["id"] == chart)
    for chart in ("premium_by_district", "claims_by_district"):  # rows, and a cube's
        over_yunnan = by_district(yunnan, f"area={YUNNAN}", chart)
        over_kunming = by_district(km, "", chart)
        assert over_yunnan and all(name.startswith(("昆明市", "曲靖市")) for name in over_yunnan)
        assert over_kunming and not any(name.startswith("昆明市") for name in over_kunming)
        assert {"昆明市" + name for name in over_kunming} <= set(over_yunnan), chart
    with cities.connect() as conn, as_web(conn, Tenant("regulator", jurisdiction=YUNNAN)):
        args = (conn, YUNNAN, Filters())
        assert statistics.statistics(*args) == statistics.statistics(*args, cubed=False)
    # a province's districts are offered under their cities' names, a city's plainly
    assert '<optgroup label="昆明市">' in page and '<optgroup label="曲靖市">' in page
    assert "<optgroup" not in km.get("/statistics").get_data(as_text=True)
    overview = yunnan.get("/areas").get_data(as_text=True)
    assert f"/statistics?area={YUNNAN}" in overview and f"/portfolio?area={YUNNAN}" in overview


def test_an_insurers_portfolio_over_the_nation_holds_every_citys(cities):
    """An insurer's accumulation across all its cities (?area=100000): totals are its cities'
    added up; the worst circles are measured in China's equal-area conic (Kunming to Suizhou
    spans more than one Gauss-Krüger zone), each inside one city."""
    with cities.connect() as conn:
        insurer = conn.execute(text("SELECT insurer_id FROM policy_share GROUP BY 1 "
                                    "ORDER BY count(*) DESC LIMIT 1")).scalar_one()
    client = signed_in_as(cities, "insurer", insurer)
    each = [client.get(f"/api/portfolio?city={city}&basis=gross").get_json()
            for city in (KUNMING, QUJING, SUIZHOU)]
    whole = client.get(f"/api/portfolio?area={NATION}&basis=gross")
    assert whole.status_code == 200, whole.get_data(as_text=True)
    whole = whole.get_json()
    for key in ("policies", "projects", "gross_wan", "net_wan"):
        assert whole["totals"][key] == pytest.approx(sum(c["totals"][key] for c in each)), key
    assert len(whole["districts"]) == sum(len(c["districts"]) for c in each)
    worst = max(c["circles"][0]["gross_wan"] for c in each)
    assert whole["circles"][0]["gross_wan"] == pytest.approx(worst, rel=0.05)
    # the map's bearings: the nation's provinces, a province's cities, a city's districts
    from layers.portfolio import map_outlines
    with cities.connect() as conn:
        drawn = {area: [o["code"] for o in map_outlines(conn, area)]
                 for area in (NATION, YUNNAN, KUNMING)}
    assert drawn[NATION] == ["420000", YUNNAN] and drawn[YUNNAN] == [KUNMING, QUJING]
    assert len(drawn[KUNMING]) == 14 and all(c.startswith("5301") for c in drawn[KUNMING])
    # Kunming to Suizhou is more than one Gauss-Krüger zone: China's equal-area conic
    from geo.coords import CHINA_ALBERS, metric_crs
    assert metric_crs([c["lon"] for c in whole["circles"]] + [102.7, 113.4]) == CHINA_ALBERS
    page = client.get(f"/portfolio?area={NATION}").get_data(as_text=True)
    assert "全国" in page and f'name="area" value="{NATION}"' in page
