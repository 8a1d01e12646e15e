"""One definition per indicator: the catalogue (`layers.indicators`) names and defines every
figure the map, the statistics, the district pages and the reports show; ratios take their
numerator and denominator at the same share, so an insurer's figures are its own."""

from __future__ import annotations

from collections import defaultdict

import pytest
from sqlalchemy import text

from geo import store
from geo.tenancy import Tenant, set_tenant
from layers import catalogue, complaints, indicators, reports, service, statistics
from layers.filters import Filters

CITY = "530100"
WUHUA = "530102"
SECTIONS = (*statistics.SECTIONS, service.SERVICE)


def shown_figures():
    """Every figure a page or report shows: (where, id, title, unit, indicator key)."""
    for layer in catalogue.DISTRICT_LAYERS:
        yield "layer", layer.id, layer.title_zh, layer.unit, layer.indicator
    for section in SECTIONS:
        for f in section.figures:
            yield section.id, f.id, f.title, f.unit, f.indicator
    for f in complaints.FIGURES:
        yield "complaints", f.id, f.title, f.unit, f.indicator


def test_no_two_indicators_share_a_name_or_a_definition():
    for attribute in ("key", "name", "formula", "definition"):
        values = [getattr(i, attribute) for i in indicators.INDICATORS]
        twice = {v for v in values if values.count(v) > 1}
        assert not twice, f"indicators share a {attribute}: {twice}"


def test_every_figure_shown_is_a_catalogued_indicator_under_its_one_name():
    keys_by_title: dict[str, set[str]] = defaultdict(set)
    for where, fid, title, unit, key in shown_figures():
        assert key in indicators.BY_KEY, f"{where}.{fid} names no indicator"
        ind = indicators.BY_KEY[key]
        assert (title, unit) == (ind.name, ind.unit), f"{where}.{fid}"
        keys_by_title[title].add(key)
    assert all(len(keys) == 1 for keys in keys_by_title.values())
    # every definition is used somewhere
    used = {key for *_, key in shown_figures()}
    assert used == set(indicators.BY_KEY)


def test_every_chart_says_what_it_shows():
    charts = [c for s in SECTIONS for c in s.charts] + list(complaints.CHARTS)
    for chart in charts:
        assert chart.definition, chart.id
        assert not chart.indicator or chart.indicator in indicators.BY_KEY, chart.id


@pytest.fixture(scope="module")
def web(kunming):
    engine = store.make_engine(kunming.url.set(username="riskmap_web"))
    yield engine
    engine.dispose()


def coinsurers(kunming) -> list[int]:
    """Insurers holding part of a co-insured policy (their share is below 100 %)."""
    with kunming.connect() as conn:
        return list(conn.execute(text(
            "SELECT DISTINCT insurer_id FROM policy_share WHERE share < 1 ORDER BY 1")).scalars())


def own_rate(kunming, insurer: int, district: str) -> float:
    """The insurer's premium ÷ the cost it insures, both at its share, the plain way."""
    with kunming.connect() as conn:
        return float(conn.execute(text("""
            SELECT 100 * sum(po.premium_yuan * s.share) / sum(p.construction_cost_yuan * s.share)
            FROM policy po JOIN project p ON p.id = po.project_id
            JOIN policy_share s ON s.policy_id = po.id AND s.insurer_id = :i
            WHERE po.status NOT IN ('returned', 'cancelled') AND p.district_code = :d"""),
            {"i": insurer, "d": district}).scalar_one())


def test_an_insurers_average_rate_on_a_district_page_is_its_rate_not_a_share_of_it(web, kunming):
    """The demo writes rates of 1.0–2.5 %: a co-insurer's district rate lies in that range and
    the district page's key figure agrees with its statistics section."""
    insurers = coinsurers(kunming)
    assert insurers
    for insurer in insurers:
        tenant = Tenant("insurer", insurer)
        with web.begin() as conn:
            set_tenant(conn, tenant)
            report = reports.district_report(conn, CITY, WUHUA, Filters().for_tenant(tenant),
                                             tenant)
            section = statistics.section_statistics(
                conn, statistics.UNDERWRITING, CITY,
                Filters(district=WUHUA).for_tenant(tenant))
        key = {i["id"]: i for i in report["indicators"]}["average_rate"]
        if key["value"] is None:
            continue
        assert 1.0 <= key["value"] <= 2.5, (insurer, key["value"])
        assert key["value"] == pytest.approx(own_rate(kunming, insurer, WUHUA))
        figures = {i["id"]: i["value"] for i in section["indicators"]}
        assert figures["rate"] == pytest.approx(key["value"])
        assert 1.0 <= key["city"] <= 2.5


def test_a_district_report_shows_each_indicator_once_and_defines_it(web):
    tenant = Tenant("regulator")
    with web.begin() as conn:
        set_tenant(conn, tenant)
        report = reports.district_report(conn, CITY, WUHUA, Filters(), tenant)
    shown = [i["title"] for i in report["indicators"]]
    shown += [i["title"] for s in report["sections"] for i in s["indicators"]]
    assert len(shown) == len(set(shown)), "an indicator is shown twice"
    names = [g["name"] for g in report["glossary"]]
    assert set(shown) == set(names)
    rate = next(g for g in report["glossary"] if g["key"] == "rate")
    assert "建安造价" in rate["formula"] and "共保份额" in rate["share"]
