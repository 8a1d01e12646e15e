"""Statistics: every indicator against an independent computation, for each kind of reader."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from geo import store
from geo.jurisdiction import area_params
from geo.tenancy import Tenant, set_tenant
from layers import statistics
from layers.districts import city_values
from layers.filters import Filters

CITY = "530100"
LIVE = "po.status NOT IN ('returned', 'cancelled')"
TODAY = "(SELECT COALESCE(as_of, current_date) FROM data_version)"


def scope(insurer: int | None, district: str | None) -> tuple[str, str]:
    """FROM and WHERE of the live policies in scope, with the money's factor (the share)."""
    share = "s.share" if insurer else "1"
    joins = ("FROM policy po JOIN project p ON p.id = po.project_id"
             + (" JOIN policy_share s ON s.policy_id = po.id AND s.insurer_id = :insurer"
                if insurer else ""))
    where = f"WHERE {LIVE}" + (" AND p.district_code = :district" if district else "")
    return f"{joins} {where}", share


def independent(conn, filters: Filters) -> dict[str, float | None]:
    """Each indicator the plain way: one query per quantity, no shared CTEs."""
    policies, share = scope(filters.insurer, filters.district)
    issued = " AND po.issue_date BETWEEN :date_from AND :date_to" if filters.date_from else ""
    in_scope = f"p.id IN (SELECT p.id {policies})"

    def one(sql: str, period: str = ""):
        if filters.date_from and period:
            sql += f" AND {period} BETWEEN :date_from AND :date_to"
        value = conn.execute(text(sql), filters.params()).scalar()
        return None if value is None else float(value)

    written = f"FROM project p WHERE p.id IN (SELECT p.id {policies}{issued})"
    events = f"FROM risk_event e JOIN project p ON p.id = e.project_id WHERE {in_scope}"
    claims = (f"FROM claim c JOIN policy po ON po.id = c.policy_id JOIN project p "
              f"ON p.id = po.project_id WHERE c.policy_id IN (SELECT po.id {policies})")
    claim_money = (f"c.paid_amount_yuan * (SELECT {share} {policies} AND po.id = c.policy_id)"
                   if filters.insurer else "c.paid_amount_yuan")
    out = {
        "policies": one(f"SELECT count(*) {policies}{issued}"),
        "projects": one(f"SELECT count(*) {written}"),
        "cost_per_m2": one(f"SELECT sum(construction_cost_yuan) / sum(gross_floor_area_m2) "
                           f"{written}"),
        # premium and the cost it is the rate of, both at the reader's share
        "rate": one(f"SELECT 100 * sum(po.premium_yuan * {share}) "
                    f"/ sum(p.construction_cost_yuan * {share}) {policies}{issued}"),
        "premium": one(f"SELECT COALESCE(sum(po.premium_yuan * {share}), 0) / 1e4 {policies}{issued}"),
        "sum_insured": one(f"SELECT COALESCE(sum(po.sum_insured_yuan * {share}), 0) / 1e4 "
                           f"{policies}{issued}"),
        "insured_area": one(f"SELECT COALESCE(sum(gross_floor_area_m2), 0) / 1e4 {written}"),
        "under_construction": one(f"SELECT count(*) FROM project p WHERE {in_scope} AND p.stage "
                                  "IN ('foundation', 'main_structure', 'finishing')"),
        "risk_reports": one(f"SELECT count(*) FROM report r JOIN project p ON p.id = r.project_id "
                            f"WHERE {in_scope}", "r.submitted_on"),
        "risk_events": one(f"SELECT count(*) {events}", "e.found_on"),
        "severe_risk_events": one(f"SELECT count(*) {events} AND e.severity = 'severe'",
                                  "e.found_on"),
        "open_risk_events": one(f"SELECT count(*) {events} AND e.status <> 'closed'", "e.found_on"),
        "overdue_risk_events": one(f"SELECT count(*) {events} AND e.status <> 'closed' "
                                   f"AND e.due_on < {TODAY}", "e.found_on"),
        "claims": one(f"SELECT count(*) {claims}", "c.reported_on"),
        "filed_claims": one(f"SELECT count(*) {claims} AND c.decision = 'accepted'",
                            "c.reported_on"),
        "paid": one(f"SELECT COALESCE(sum({claim_money}), 0) / 1e4 {claims}", "c.reported_on"),
        "closed_claims": one(f"SELECT count(*) {claims} AND c.status = 'closed'", "c.reported_on"),
        "closed_paid": one(f"SELECT COALESCE(sum({claim_money}), 0) / 1e4 {claims} "
                           "AND c.status = 'closed'", "c.reported_on"),
    }
    closed = one(f"SELECT count(*) {events} AND e.status = 'closed'", "e.found_on")
    out["rectification_rate"] = 100 * closed / out["risk_events"] if out["risk_events"] else None
    out["filing_rate"] = 100 * out["filed_claims"] / out["claims"] if out["claims"] else None
    out.update(deadlines(conn, claims, filters))
    return out


def deadlines(conn, claims: str, filters: Filters) -> dict[str, float | None]:
    """Deadline breaches worked out in Python from each claim's dates."""
    rows = conn.execute(text(
        f"SELECT c.reported_on, c.surveyed_on, c.decided_on, c.decision, c.is_complex, "
        f"c.agreed_on, c.settled_on, c.refusal_notified_on, {TODAY} {claims}"
        + (" AND c.reported_on BETWEEN :date_from AND :date_to" if filters.date_from else "")),
        filters.params()).all()
    breached = due = on_time = 0
    for reported, surveyed, decided, decision, complex_, agreed, settled, notified, today in rows:
        steps = [step(reported, surveyed, today, 2),
                 step(reported, decided, today, 30 if complex_ else 7)]
        if agreed:
            steps.append(step(agreed, settled, today, 7))
        if decision == "rejected":
            steps.append(step(decided, notified, today, 3))
        steps = [s for s in steps if s is not None]
        breached += any(steps)
        due += len(steps)
        on_time += sum(not s for s in steps)
    return {"deadline_breaches": breached, "on_time_rate": 100 * on_time / due if due else None}


def step(start: dt.date, done: dt.date | None, today: dt.date, days: int) -> bool | None:
    """Late (True), on time (False) or not yet due (None)."""
    if done is None and (today - start).days <= days:
        return None
    return ((done or today) - start).days > days


def figures(conn, filters: Filters) -> dict[str, float | None]:
    sections = statistics.statistics(conn, CITY, filters)
    return {i["id"]: i["value"] for s in sections for i in s["indicators"]}


def charts(conn, filters: Filters) -> dict[str, dict]:
    sections = statistics.statistics(conn, CITY, filters)
    return {c["id"]: c for s in sections for c in s["charts"]}


def busiest_insurer(conn) -> int:
    return conn.execute(text("SELECT insurer_id FROM policy_share GROUP BY 1 "
                             "ORDER BY count(*) DESC LIMIT 1")).scalar_one()


@pytest.mark.parametrize("args", [{}, {"period": "2024"}, {"period": "2023-Q3"},
                                  {"district": "530102"}, {"period": "2022", "insurer": "*"}])
def test_every_indicator_matches_an_independent_computation(kunming, args):
    with kunming.connect() as conn:
        if args.get("insurer") == "*":
            args = {**args, "insurer": str(busiest_insurer(conn))}
        filters = Filters.from_args(args)
        got, want = figures(conn, filters), independent(conn, filters)
    assert set(got) == set(want)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-9), key
    assert got["policies"] > 0 and got["claims"] > 0 and got["risk_events"] > 0


def test_underwriting_totals_agree_with_the_district_layers(kunming):
    filters = Filters.from_args({"period": "2024"})
    with kunming.connect() as conn:
        got, city = figures(conn, filters), city_values(conn, CITY, filters)
    assert got["premium"] == pytest.approx(city["premium_yuan"] / 1e4)
    assert got["projects"] == city["projects"]
    assert got["insured_area"] == pytest.approx(city["insured_area_m2"] / 1e4)
    assert got["rate"] == pytest.approx(city["average_rate"])
    assert got["cost_per_m2"] == pytest.approx(city["cost_per_m2"])
    assert got["claims"] == city["claims"]
    assert got["deadline_breaches"] == city["deadline_breaches"]


def test_each_insurers_bar_is_what_that_insurer_sees_of_itself(kunming):
    with kunming.connect() as conn:
        market = charts(conn, Filters())
        names = dict(conn.execute(text(
            "SELECT COALESCE(short_name, name), id FROM organisation WHERE kind = 'insurer'")).all())
        premium = market["premium_by_insurer"]
        assert sum(premium["series"][0]["values"]) == pytest.approx(figures(conn, Filters())["premium"])
        for name, value in zip(premium["categories"], premium["series"][0]["values"], strict=True):
            own = figures(conn, Filters(insurer=names[name]))
            assert value == pytest.approx(own["premium"]), name
        claims = dict(zip(market["claims_by_insurer"]["categories"],
                          market["claims_by_insurer"]["series"][0]["values"], strict=True))
        for name, count in claims.items():
            assert count == figures(conn, Filters(insurer=names[name]))["claims"], name


def test_breakdowns_add_up_to_their_totals(kunming):
    with kunming.connect() as conn:
        got, chart = figures(conn, Filters()), charts(conn, Filters())
    total = {"risk_events_by_severity": "risk_events", "risk_events_by_status": "risk_events",
             "risk_events_by_category": "risk_events", "claims_by_district": "claims",
             "claims_by_month": "claims", "cost_per_m2_distribution": "projects",
             "premium_by_district": "premium", "cover_start_by_year": "policies"}
    for chart_id, figure in total.items():
        assert sum(chart[chart_id]["series"][0]["values"]) == pytest.approx(got[figure]), chart_id
    steps = chart["deadlines_by_step"]
    assert [c[1:3] for c in steps["categories"]] == ["查勘", "核定", "履行", "拒赔"]
    assert len(chart["rate_by_insurer"]["series"]) == 3


def test_an_insurer_sees_only_its_own_portfolio_through_row_security(kunming):
    web = store.make_engine(kunming.url.set(username="riskmap_web"))
    try:
        with kunming.connect() as conn:
            insurer = busiest_insurer(conn)
            own_name = conn.execute(text("SELECT COALESCE(short_name, name) FROM organisation "
                                         "WHERE id = :i"), {"i": insurer}).scalar_one()
            want = independent(conn, Filters(insurer=insurer))
        with web.begin() as conn:
            set_tenant(conn, Tenant("insurer", insurer))
            filters = Filters().for_tenant(Tenant("insurer", insurer))
            got, chart = figures(conn, filters), charts(conn, filters)
    finally:
        web.dispose()
    assert got["premium"] == pytest.approx(want["premium"])
    assert got["claims"] == want["claims"]
    for chart_id in ("premium_by_insurer", "claims_by_insurer", "rate_by_insurer"):
        assert chart[chart_id]["categories"] == [own_name], chart_id


def test_a_period_without_business_gives_zeros_and_no_data_not_errors(kunming):
    with kunming.connect() as conn:
        got = figures(conn, Filters.from_args({"period": "1999"}))
        chart = charts(conn, Filters.from_args({"period": "1999"}))
    assert got["policies"] == 0 and got["premium"] == 0 and got["filing_rate"] is None
    assert chart["premium_by_insurer"]["categories"] == []



_PERIODS = st.sampled_from(["", "2022", "2023-Q3", "2024", "2024-05", "2021-Q1", "1999"])
_DISTRICTS = st.sampled_from(["", "530102", "530103", "530111", "530112", "530181"])


@pytest.mark.parametrize("reader", ["regulator", "insurer"])
def test_the_cubes_give_what_reading_every_row_gives(kunming, reader):
    """Figures and charts from the cubes of risk events, claims, their deadline steps and
    insurers' parts equal the same computed row by row, for random filters, for the regulator
    and through an insurer's row security."""
    with kunming.connect() as conn:
        ids = {kind: list(conn.execute(text(
            "SELECT id FROM organisation WHERE kind = :k ORDER BY id"), {"k": kind}).scalars())
            for kind in ("insurer", "tis")}
    own = busiest_insurer_of(kunming)
    tenant = Tenant("regulator") if reader == "regulator" else Tenant("insurer", own)
    insurers = ids["insurer"] if reader == "regulator" else [own]
    web = store.make_engine(kunming.url.set(username="riskmap_web"))

    @settings(max_examples=12, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_PERIODS, _DISTRICTS, st.sampled_from([None, *insurers]),
           st.sampled_from([None, *ids["tis"]]))
    def same(period, district, insurer, tis):
        filters = Filters.from_args({"period": period, "district": district,
                                     "insurer": str(insurer or ""), "tis": str(tis or "")})
        with web.begin() as conn:
            set_tenant(conn, tenant)
            args = (conn, CITY, filters.for_tenant(tenant), statistics.SECTIONS)
            assert statistics.statistics(*args) == statistics.statistics(*args, cubed=False)

    try:
        same()
    finally:
        web.dispose()


def busiest_insurer_of(engine) -> int:
    with engine.connect() as conn:
        return busiest_insurer(conn)


def test_events_found_outside_an_inspection_count_for_the_projects_tis(make_database):
    """An event reported without an inspection counts for its project's TIS, and a project
    with no TIS under 未指定 — in the cube as event by event."""
    from loaders import demo, demo_load, districts

    engine = make_database()
    with engine.begin() as conn:
        districts.load_districts(conn, districts.district_records(city=CITY))
        demo_load.run_demo(conn, demo.DemoOptions(city=CITY, projects=40))
        conn.execute(text("UPDATE risk_event SET inspection_id = NULL WHERE id % 3 = 0"))
        conn.execute(text("UPDATE policy SET tis_id = NULL WHERE project_id IN "
                          "(SELECT id FROM project WHERE id % 5 = 0)"))
    web = store.make_engine(engine.url.set(username="riskmap_web"))
    try:
        with web.begin() as conn:
            set_tenant(conn, Tenant("regulator"))
            args = (conn, CITY, Filters(), statistics.SECTIONS)
            cubed = statistics.statistics(*args)
            assert cubed == statistics.statistics(*args, cubed=False)
    finally:
        web.dispose()
    risk = {s["id"]: s for s in cubed}["risk"]
    by_tis = {c["id"]: c for c in risk["charts"]}["risk_events_by_tis"]
    assert "未指定" in by_tis["categories"]


def test_each_written_out_cube_has_the_columns_it_declares(kunming):
    """A cube written out in layers/sql gives the columns its Cube names (keys, n, sums): the
    figures and charts rewritten onto it read those."""
    from layers.sql import read_sql

    prefix = (read_sql("scope.sql") + read_sql("stats_base.sql")
              + "".join(c.sql() for c in statistics.CUBES.values()))
    params = {**Filters().params(), **area_params(CITY)}
    with kunming.connect() as conn:
        for cube in statistics.CUBES.values():
            got = list(conn.execute(text(f"{prefix} SELECT * FROM {cube.name} LIMIT 0"),
                                    params).keys())
            assert got == [k for k, _ in cube.keys] + ["n", *cube.sums], cube.name
