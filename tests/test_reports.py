"""Reports as data: a district's report and the periodic statistics report."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from geo import store
from geo.tenancy import Tenant, set_tenant
from layers import reports
from layers.districts import city_values
from layers.filters import FilterError, Filters

CITY = "530100"
WUHUA = "530102"
REGULATOR = Tenant("regulator")
MADE_AT = dt.datetime(2026, 7, 1, 9, 30)


@pytest.fixture(scope="module")
def web(kunming):
    engine = store.make_engine(kunming.url.set(username="riskmap_web"))
    yield engine
    engine.dispose()


def report_as(web, tenant: Tenant, filters: Filters) -> dict:
    with web.begin() as conn:
        set_tenant(conn, tenant)
        return reports.district_report(conn, CITY, WUHUA, filters.for_tenant(tenant), tenant,
                                       made_at=MADE_AT)


def test_a_district_report_holds_the_districts_figures_beside_the_citys(web, kunming):
    got = report_as(web, REGULATOR, Filters.from_args({"period": "2024"}))
    with kunming.connect() as conn:
        city = city_values(conn, CITY, Filters.from_args({"period": "2024"}))
        premium = conn.execute(text(
            "SELECT sum(po.premium_yuan) / 1e4 FROM policy po "
            "JOIN project p ON p.id = po.project_id "
            "WHERE p.district_code = :d AND po.status NOT IN ('returned', 'cancelled') "
            "AND po.issue_date BETWEEN '2024-01-01' AND '2024-12-31'"), {"d": WUHUA}).scalar()
    assert got["title"] == "五华区住宅工程质量潜在缺陷保险区域报告"
    assert got["made_at"] == "2026-07-01 09:30"
    assert ["统计期间", "2024-01-01 至 2024-12-31"] in got["filters"]
    indicators = {i["id"]: i for i in got["indicators"]}
    assert indicators["premium_total"]["value"] == pytest.approx(float(premium))
    assert indicators["premium_total"]["city"] == pytest.approx(city["premium_total"])
    # the key figures beside the city's are not repeated in the sections below them
    sections = {s["id"]: s for s in got["sections"]}
    underwriting = {i["id"] for i in sections["underwriting"]["indicators"]}
    assert "premium" not in underwriting and "policies" in underwriting


def test_the_projects_table_and_map_are_the_districts_projects(web, kunming):
    got = report_as(web, REGULATOR, Filters())
    with kunming.connect() as conn:
        permits = set(conn.execute(text(
            "SELECT permit_no FROM project p WHERE district_code = :d AND EXISTS (SELECT 1 FROM "
            "policy po WHERE po.project_id = p.id AND po.status NOT IN ('returned', 'cancelled'))"),
            {"d": WUHUA}).scalars())
        severe = conn.execute(text(
            "SELECT count(*) FROM risk_event e JOIN project p ON p.id = e.project_id "
            "WHERE p.district_code = :d AND e.severity = 'severe' AND e.status <> 'closed'"),
            {"d": WUHUA}).scalar()
    tables = {t["id"]: t for t in got["tables"]}
    assert {r["permit_no"] for r in tables["projects"]["rows"]} == permits
    assert len(tables["severe_risk_events"]["rows"]) == severe
    assert {p["permit_no"] for p in got["map"]["projects"]} == permits
    assert got["map"]["boundary"]["type"] == "MultiPolygon"
    first = got["map"]["projects"][0]
    assert 102 < first["lon"] < 104 and 24 < first["lat"] < 27
    # riskiest first: open severe events lead the list
    opens = [r["severe_open_risk_events"] for r in tables["projects"]["rows"]]
    assert opens[0] == max(opens)


def test_an_insurers_report_holds_only_its_own_portfolio(web, kunming):
    with kunming.connect() as conn:
        insurer = conn.execute(text(
            "SELECT s.insurer_id FROM policy_share s JOIN policy po ON po.id = s.policy_id "
            "JOIN project p ON p.id = po.project_id WHERE p.district_code = :d AND NOT s.is_lead "
            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"), {"d": WUHUA}).scalar_one()
        own = set(conn.execute(text(
            "SELECT p.permit_no FROM project p JOIN policy po ON po.project_id = p.id "
            "JOIN policy_share s ON s.policy_id = po.id WHERE s.insurer_id = :i "
            "AND p.district_code = :d AND po.status NOT IN ('returned', 'cancelled')"),
            {"i": insurer, "d": WUHUA}).scalars())
        own_claims = set(conn.execute(text(
            "SELECT c.claim_no FROM claim c JOIN policy_share s ON s.policy_id = c.policy_id "
            "JOIN policy po ON po.id = c.policy_id JOIN project p ON p.id = po.project_id "
            "WHERE s.insurer_id = :i AND p.district_code = :d "
            "AND po.status NOT IN ('returned', 'cancelled')"),
            {"i": insurer, "d": WUHUA}).scalars())
    got = report_as(web, Tenant("insurer", insurer), Filters())
    tables = {t["id"]: t for t in got["tables"]}
    assert {r["permit_no"] for r in tables["projects"]["rows"]} == own
    assert {r["claim_no"] for r in tables["claims"]["rows"]} == own_claims
    assert "本报告仅含保险公司" in got["scope_note"]
    assert ["保险公司", got["filters"][2][1]] in got["filters"] and got["filters"][2][1] != "全部"
    everyone = report_as(web, REGULATOR, Filters())
    assert len(everyone["tables"][0]["rows"]) > len(own)


def test_a_district_of_another_city_has_no_report(web):
    with web.begin() as conn:
        set_tenant(conn, REGULATOR)
        assert reports.district_report(conn, CITY, "110101", Filters(), REGULATOR) is None


def test_the_same_period_gives_the_same_periodic_report(web):
    with web.begin() as conn:
        set_tenant(conn, REGULATOR)
        first = reports.periodic_report(conn, CITY, "2024-Q2", REGULATOR, made_at=MADE_AT)
        again = reports.periodic_report(conn, CITY, "2024-Q2", REGULATOR, made_at=MADE_AT)
        month = reports.periodic_report(conn, CITY, "2024-05", REGULATOR, made_at=MADE_AT)
    assert first == again
    assert first["title"] == "昆明市住宅工程质量潜在缺陷保险平台统计报表（季度）"
    assert month["title"].endswith("（月度）")
    quarter = {i["id"]: i["value"] for i in first["indicators"]}
    may = {i["id"]: i["value"] for i in month["indicators"]}
    assert 0 < may["claims"] < quarter["claims"]
    districts = first["tables"][0]["rows"]
    assert sum(r["claims"] for r in districts) == quarter["claims"]


@pytest.mark.parametrize("period", ["2024", "2024-13", "2024-Q5", "", "2024-05-01"])
def test_a_periodic_report_is_monthly_or_quarterly(period):
    with pytest.raises(FilterError, match="monthly|month must be"):
        reports.periodic_filters(period)


def test_a_district_reports_map_carries_its_neighbours_for_the_outline_basemap(web):
    outline = report_as(web, REGULATOR, Filters())["map"]["outline"]
    names = {item["name"] for item in outline if item["level"] == "district"}
    assert len(names) == 13 and "五华区" not in names and "盘龙区" in names
    assert all(item["geometry"]["type"] in ("Polygon", "MultiPolygon") for item in outline)
