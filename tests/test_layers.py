"""District layers: every metric against an independent computation, filters, classes."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
from branca.utilities import color_brewer
from sqlalchemy import text

from geo import programme
from layers import catalogue, classify
from layers.districts import district_layer, district_metrics
from layers.filters import FilterError, Filters

CITY = "530100"
LIVE = "po.status NOT IN ('returned', 'cancelled')"


def _by_district(conn, sql: str, **params) -> dict[str, float]:
    rows = conn.execute(text(sql), params).all()
    return defaultdict(float, {code.strip(): float(value or 0) for code, value in rows})


def _ratio(a: dict, b: dict, code: str, scale: float = 1.0):
    return a[code] / b[code] * scale if b[code] else None


def independent_metrics(conn, insurer: int | None = None) -> dict[str, dict[str, float | None]]:
    """Each metric the plain way: one simple query per quantity, ratios in Python. With an
    insurer, its policies only, money (and the cost and area a ratio divides it by) at its
    share."""
    share = "s.share" if insurer else "1"
    joins = (" JOIN policy_share s ON s.policy_id = po.id AND s.insurer_id = :insurer"
             if insurer else "")
    policies = f"FROM policy po JOIN project p ON p.id = po.project_id{joins} WHERE {LIVE}"

    def per_district(sql: str, **params) -> dict[str, float]:
        return _by_district(conn, sql, insurer=insurer, **params)

    premium = per_district(f"SELECT p.district_code, sum(po.premium_yuan * {share}) {policies} GROUP BY 1")
    insured = per_district(f"SELECT p.district_code, sum(po.sum_insured_yuan * {share}) {policies} GROUP BY 1")
    rated_cost = per_district(f"SELECT p.district_code, sum(p.construction_cost_yuan * {share}) {policies} GROUP BY 1")
    rated_area = per_district(f"SELECT p.district_code, sum(p.gross_floor_area_m2 * {share}) {policies} GROUP BY 1")
    insured_projects = f"FROM project p WHERE p.id IN (SELECT po.project_id {policies})"
    area = per_district(f"SELECT district_code, sum(gross_floor_area_m2) {insured_projects} GROUP BY 1")
    cost = per_district(f"SELECT district_code, sum(construction_cost_yuan) {insured_projects} GROUP BY 1")
    count = per_district(f"SELECT district_code, count(*) {insured_projects} GROUP BY 1")
    floor = area
    units = per_district(f"""SELECT district_code, sum(units) {insured_projects}
        AND EXISTS (SELECT 1 FROM policy po JOIN coverage_section cs ON cs.policy_id = po.id
                    WHERE po.project_id = p.id AND po.id IN (SELECT po.id {policies})
                      AND cs.section = 'structure' AND cs.starts_on <= :today) GROUP BY 1""",
                         today=_today(conn))
    events = (f"FROM risk_event e JOIN project p ON p.id = e.project_id "
              f"WHERE p.id IN (SELECT po.project_id {policies})")
    risk = per_district(f"SELECT p.district_code, count(*) {events} GROUP BY 1")
    severe = per_district(f"SELECT p.district_code, count(*) {events} AND e.severity = 'severe' GROUP BY 1")
    open_ = per_district(f"SELECT p.district_code, count(*) {events} AND e.status <> 'closed' GROUP BY 1")
    claims_from = (f"FROM claim c JOIN policy po ON po.id = c.policy_id "
                   f"JOIN project p ON p.id = po.project_id{joins} WHERE {LIVE}")
    claims = per_district(f"SELECT p.district_code, count(*) {claims_from} GROUP BY 1")
    paid = per_district(f"SELECT p.district_code, sum(c.paid_amount_yuan * {share}) {claims_from} GROUP BY 1")
    graded, poor = _grades(conn, insurer)
    complaints = per_district("SELECT district_code, count(*) FROM complaint WHERE "
                              "CAST(:insurer AS int) IS NULL OR party_id = :insurer GROUP BY 1")
    return {
        "premium_total": {c: premium[c] / 1e4 for c in _codes(conn)},
        "premium_per_m2": {c: _ratio(premium, rated_area, c) for c in _codes(conn)},
        "average_rate": {c: _ratio(premium, rated_cost, c, 100) for c in _codes(conn)},
        "sum_insured": {c: insured[c] / 1e4 for c in _codes(conn)},
        "insured_area": {c: area[c] / 1e4 for c in _codes(conn)},
        "projects": {c: count[c] for c in _codes(conn)},
        "cost_per_m2": {c: _ratio(cost, area, c) for c in _codes(conn)},
        "risk_events": {c: risk[c] for c in _codes(conn)},
        "severe_risk_events": {c: severe[c] for c in _codes(conn)},
        "open_risk_events": {c: open_[c] for c in _codes(conn)},
        "rectification_rate": {c: _ratio({c: risk[c] - open_[c]}, risk, c, 100) for c in _codes(conn)},
        "risk_events_per_10k_m2": {c: _ratio(risk, floor, c, 1e4) for c in _codes(conn)},
        "claims": {c: claims[c] for c in _codes(conn)},
        "paid": {c: paid[c] / 1e4 for c in _codes(conn)},
        "claims_per_1000_units": {c: _ratio(claims, units, c, 1000) for c in _codes(conn)},
        "loss_ratio": {c: _ratio(paid, _earned(conn, insurer), c, 100) for c in _codes(conn)},
        "deadline_breaches": _breaches(conn, insurer),
        "grade_mix": {c: _ratio(poor, graded, c, 100) for c in _codes(conn)},
        "complaints": {c: complaints[c] for c in _codes(conn)},
    }


def _shares(conn, insurer: int | None) -> dict[int, float]:
    """Each live policy in scope with the share its money counts at."""
    if insurer is None:
        return {i: 1.0 for i in conn.execute(text(f"SELECT po.id FROM policy po WHERE {LIVE}")).scalars()}
    return {i: float(s) for i, s in conn.execute(text(
        f"SELECT po.id, s.share FROM policy po JOIN policy_share s ON s.policy_id = po.id "
        f"WHERE {LIVE} AND s.insurer_id = :i"), {"i": insurer})}


def _grades(conn, insurer: int | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """Insured projects (in scope) with a grade, and those whose latest grade is C or D."""
    graded: dict[str, float] = defaultdict(float)
    poor: dict[str, float] = defaultdict(float)
    latest: dict[int, tuple[int, str]] = {}
    for project_id, row_id, grade in conn.execute(text("SELECT project_id, id, grade FROM project_grade")):
        if project_id not in latest or row_id > latest[project_id][0]:
            latest[project_id] = (row_id, grade)
    policies = _shares(conn, insurer)
    for pid, code, policy_id in conn.execute(text(
            "SELECT p.id, p.district_code, po.id FROM project p JOIN policy po ON po.project_id = p.id")):
        if pid in latest and policy_id in policies:
            grade = latest.pop(pid)[1]
            graded[code.strip()] += 1
            poor[code.strip()] += grade in ("C", "D")
    return graded, poor


def _today(conn) -> dt.date:
    """The day the store's figures are for: the demo's fixed as-of day."""
    day = conn.execute(text("SELECT as_of FROM data_version")).scalar_one()
    assert day == dt.date(2026, 6, 30)  # the demo pins it, so figures never drift
    return day


def _codes(conn) -> list[str]:
    return [c.strip() for c in conn.execute(text(
        "SELECT code FROM district WHERE city_code = :c"), {"c": CITY}).scalars()]


def _earned(conn, insurer: int | None = None) -> dict[str, float]:
    """Premium earned evenly over the 10-year structure cover up to today, in Python."""
    earned: dict[str, float] = defaultdict(float)
    today = _today(conn)
    shares = _shares(conn, insurer)
    for policy_id, code, premium, start, end in conn.execute(text(f"""
            SELECT po.id, p.district_code, po.premium_yuan, cs.starts_on, cs.ends_on
            FROM policy po JOIN project p ON p.id = po.project_id
            JOIN coverage_section cs ON cs.policy_id = po.id AND cs.section = 'structure'
            WHERE {LIVE} AND cs.starts_on IS NOT NULL""")):
        if policy_id not in shares:
            continue
        elapsed = max(0, (min(end, today + dt.timedelta(days=1)) - start).days)
        earned[code.strip()] += float(premium) * shares[policy_id] * elapsed / (end - start).days
    return earned


def _late(start, end, limit, today) -> bool:
    return start is not None and ((end or today) - start).days > limit


def _breaches(conn, insurer: int | None = None) -> dict[str, float]:
    """Claims that broke any of the insurer's deadlines, by the programme's own numbers."""
    out: dict[str, float] = defaultdict(float)
    today = _today(conn)
    shares = _shares(conn, insurer)
    for c in conn.execute(text("""SELECT p.district_code, c.* FROM claim c
            JOIN policy po ON po.id = c.policy_id JOIN project p ON p.id = po.project_id""")):
        if c.policy_id not in shares:
            continue
        late = (_late(c.reported_on, c.surveyed_on, programme.SURVEY_DAYS, today)
                or _late(c.reported_on, c.decided_on, programme.decision_deadline_days(c.is_complex), today)
                or _late(c.agreed_on, c.settled_on, programme.SETTLEMENT_DAYS, today)
                or (c.decision == "rejected"
                    and _late(c.decided_on, c.refusal_notified_on, programme.REFUSAL_NOTICE_DAYS, today)))
        out[c.district_code.strip()] += 1 if late else 0
    return out


@pytest.mark.parametrize("reader", ["regulator", "insurer"])
def test_every_district_metric_matches_an_independent_computation(kunming, reader):
    with kunming.connect() as conn:
        insurer = None if reader == "regulator" else conn.execute(text(
            "SELECT insurer_id FROM policy_share WHERE share < 1 GROUP BY 1 "
            "ORDER BY count(*) DESC LIMIT 1")).scalar_one()
        mine = {row["code"]: row for row in district_metrics(conn, CITY, Filters(insurer=insurer))}
        expected = independent_metrics(conn, insurer)
    assert set(expected) == {layer.id for layer in catalogue.DISTRICT_LAYERS}
    assert len(mine) == 14
    for metric, by_code in expected.items():
        for code, value in by_code.items():
            got = mine[code][metric]
            if value is None:
                assert got is None, (metric, code)
            else:
                assert got == pytest.approx(value, rel=1e-6, abs=1e-9), (metric, code)


def _metric(conn, filters: Filters, metric: str) -> dict[str, float]:
    return {r["code"]: r[metric] for r in district_metrics(conn, CITY, filters)}


def test_period_filter_uses_each_layers_own_date(kunming):
    with kunming.connect() as conn:
        f = Filters.from_args({"period": "2024"})
        premium = _metric(conn, f, "premium_total")
        risk = _metric(conn, f, "risk_events")
        claims = _metric(conn, f, "claims")
        expected_premium = _by_district(conn, f"""SELECT p.district_code, sum(po.premium_yuan)
            FROM policy po JOIN project p ON p.id = po.project_id
            WHERE {LIVE} AND po.issue_date BETWEEN '2024-01-01' AND '2024-12-31' GROUP BY 1""")
        expected_risk = _by_district(conn, """SELECT p.district_code, count(*) FROM risk_event e
            JOIN project p ON p.id = e.project_id
            WHERE e.found_on BETWEEN '2024-01-01' AND '2024-12-31' GROUP BY 1""")
        expected_claims = _by_district(conn, """SELECT p.district_code, count(*) FROM claim c
            JOIN policy po ON po.id = c.policy_id JOIN project p ON p.id = po.project_id
            WHERE c.reported_on BETWEEN '2024-01-01' AND '2024-12-31' GROUP BY 1""")
    for code in premium:
        assert premium[code] == pytest.approx(expected_premium[code] / 1e4)
        assert risk[code] == expected_risk[code] and claims[code] == expected_claims[code]
    assert 0 < sum(claims.values()) < sum(_metric_all(kunming, "claims").values())


def _metric_all(engine, metric):
    with engine.connect() as conn:
        return _metric(conn, Filters(), metric)


def test_insurer_filter_counts_lead_and_co_insured_projects(kunming):
    with kunming.connect() as conn:
        insurer = conn.execute(text("""SELECT insurer_id FROM policy_share WHERE NOT is_lead
            GROUP BY 1 ORDER BY count(*) DESC LIMIT 1""")).scalar_one()
        projects = _metric(conn, Filters(insurer=insurer), "projects")
        premium = _metric(conn, Filters(insurer=insurer), "premium_total")
        expected = _by_district(conn, f"""SELECT p.district_code, count(DISTINCT p.id)
            FROM policy po JOIN project p ON p.id = po.project_id
            JOIN policy_share s ON s.policy_id = po.id AND s.insurer_id = :i
            WHERE {LIVE} GROUP BY 1""", i=insurer)
        own_premium = _by_district(conn, f"""SELECT p.district_code, sum(po.premium_yuan * s.share)
            FROM policy po JOIN project p ON p.id = po.project_id
            JOIN policy_share s ON s.policy_id = po.id AND s.insurer_id = :i
            WHERE {LIVE} GROUP BY 1""", i=insurer)
    assert projects == {code: expected[code] for code in projects}
    # money counts at the insurer's own share: its portfolio, not its partners'
    assert premium == pytest.approx({code: own_premium[code] / 1e4 for code in premium})
    assert 0 < sum(projects.values()) < sum(_metric_all(kunming, "projects").values())


def test_tis_filter_keeps_the_agencys_projects(kunming):
    with kunming.connect() as conn:
        tis = conn.execute(text("SELECT min(tis_id) FROM policy")).scalar_one()
        risk = _metric(conn, Filters(tis=tis), "risk_events")
        expected = _by_district(conn, """SELECT p.district_code, count(*) FROM risk_event e
            JOIN project p ON p.id = e.project_id WHERE EXISTS (SELECT 1 FROM policy po
            WHERE po.project_id = p.id AND po.tis_id = :t) GROUP BY 1""", t=tis)
    assert risk == {code: expected[code] for code in risk}


def test_district_and_stage_filters(kunming):
    with kunming.connect() as conn:
        only = district_metrics(conn, CITY, Filters(district="530102"))
        delivered = _metric(conn, Filters(stage="delivered"), "projects")
        expected = _by_district(conn, f"""SELECT p.district_code, count(DISTINCT p.id)
            FROM policy po JOIN project p ON p.id = po.project_id
            WHERE {LIVE} AND p.stage = 'delivered' GROUP BY 1""")
    assert [r["code"] for r in only] == ["530102"]
    assert delivered == {code: expected[code] for code in delivered}


@pytest.mark.parametrize(("args", "word"), [
    ({"period": "2024-13"}, "period"), ({"period": "last year"}, "period"),
    ({"from": "2024-02-30"}, "from"), ({"insurer": "abc"}, "insurer"),
    ({"insurer": "99999999999"}, "insurer"), ({"tis": "²"}, "tis"),
    ({"district": "5301"}, "district"), ({"stage": "demolished"}, "stage"),
])
def test_bad_filters_are_refused_by_name(args, word):
    with pytest.raises(FilterError, match=word):
        Filters.from_args(args)


def test_district_layer_colours_follow_its_legend(kunming):
    with kunming.connect() as conn:
        fc = district_layer(conn, "rectification_rate", CITY, Filters())
    legend = fc["legend"]
    assert legend["breaks"] == [80.0, 90.0, 95.0, 98.0, 100.0]  # fixed breaks of this layer
    assert legend["unit"] == "%" and len(legend["labels"]) == len(legend["colours"]) == 5
    for feature in fc["features"]:
        p = feature["properties"]
        assert p["colour"] == legend["colours"][classify.class_of(p["value"], legend["breaks"])]
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    # ColorBrewer's colour-blind-safe red–yellow–blue, not red–green
    assert legend["colours"] == color_brewer("RdYlBu", n=5)


def test_a_second_policy_adds_premium_but_not_floor_area(rollback):
    before = {r["code"]: r for r in district_metrics(rollback, CITY, Filters())}
    project = rollback.execute(text("""SELECT p.id, p.district_code, po.lead_insurer_id
        FROM project p JOIN policy po ON po.project_id = p.id ORDER BY p.id LIMIT 1""")).one()
    policy_id = rollback.execute(text("""INSERT INTO policy (policy_no, project_id,
        lead_insurer_id, premium_yuan, rate, sum_insured_yuan, issue_date, status)
        VALUES ('TEST-2ND', :p, :i, 50000, 0.01, 5000000, '2024-01-01', 'confirmed')
        RETURNING id"""), {"p": project.id, "i": project.lead_insurer_id}).scalar_one()
    rollback.execute(text("INSERT INTO policy_share VALUES (:po, :i, true, 1)"),
                     {"po": policy_id, "i": project.lead_insurer_id})
    after = {r["code"]: r for r in district_metrics(rollback, CITY, Filters())}
    code = project.district_code.strip()
    assert after[code]["premium_yuan"] == pytest.approx(before[code]["premium_yuan"] + 50000)
    assert after[code]["insured_area_m2"] == before[code]["insured_area_m2"]
    assert after[code]["projects"] == before[code]["projects"]


def _complaint(conn, n: int, code: str, day: str, party_kind: str = "developer",
               party_id: int | None = None) -> None:
    conn.execute(text("""INSERT INTO complaint (complaint_no, party_kind, party_id, party_name,
        district_code, category, body, contact, received_on)
        VALUES (:no, :kind, :pid, 'x', :code, 'quality', 'b', 'c', :day)"""),
        {"no": f"TEST-TS-{n}", "kind": party_kind, "pid": party_id, "code": code, "day": day})


def test_complaints_count_in_their_district_by_the_day_received(rollback):
    insurer = rollback.execute(text("SELECT min(id) FROM organisation WHERE kind = 'insurer'")
                               ).scalar_one()
    before = {r["code"]: r["complaints"] for r in district_metrics(rollback, CITY, Filters())}
    for n, (code, day, kind, party) in enumerate([
            ("530102", "2024-03-01", "developer", None), ("530102", "2025-01-05", "insurer", insurer),
            ("530103", "2024-12-31", "insurer", insurer)]):
        _complaint(rollback, n, code, day, kind, party)
    after = {r["code"]: r["complaints"] for r in district_metrics(rollback, CITY, Filters())}
    assert after["530102"] - before["530102"] == 2 and after["530103"] - before["530103"] == 1
    in_2024 = _metric(rollback, Filters.from_args({"period": "2024"}), "complaints")
    expected = _by_district(rollback, """SELECT district_code, count(*) FROM complaint
        WHERE received_on BETWEEN '2024-01-01' AND '2024-12-31' GROUP BY 1""")
    assert in_2024 == {code: expected[code] for code in in_2024}
    # the insurer filter: complaints about that insurer
    theirs = _metric(rollback, Filters(insurer=insurer), "complaints")
    assert theirs["530102"] == theirs["530103"] == 1 and sum(theirs.values()) == 2


def test_grade_mix_is_the_share_of_graded_projects_graded_c_or_d(rollback):
    code = "530102"
    pids = rollback.execute(text("""SELECT p.id FROM project p WHERE p.district_code = :c
        AND EXISTS (SELECT 1 FROM policy po WHERE po.project_id = p.id AND po.status
                    NOT IN ('returned', 'cancelled')) ORDER BY p.id"""), {"c": code}).scalars().all()
    rollback.execute(text("DELETE FROM project_grade WHERE project_id = ANY(:p)"), {"p": pids})
    for pid, grade in zip(pids[:4], "ABCD", strict=True):  # the latest row counts, not the first
        for g in ("A", grade):
            rollback.execute(text("""INSERT INTO project_grade (project_id, grade, score, inputs)
                VALUES (:p, :g, 0, '{}')"""), {"p": pid, "g": g})
    row = next(r for r in district_metrics(rollback, CITY, Filters()) if r["code"] == code)
    assert (row["graded_projects"], row["graded_c_or_d"]) == (4, 2)
    assert row["grade_mix"] == pytest.approx(50.0)


@pytest.mark.parametrize("args", [{}, {"period": "2024"}, {"stage": "delivered"}],
                         ids=["all", "2024", "delivered"])
def test_a_layer_computing_only_its_own_parts_gives_the_same_values(kunming, args):
    """The map asks one layer at a time and computes only the aggregate parts it reads
    (layers.districts.parts_of); each value equals the whole computation's."""
    with kunming.connect() as conn:
        insurer = conn.execute(text("SELECT min(insurer_id) FROM policy_share")).scalar_one()
        for filters in (Filters.from_args(args), Filters.from_args({**args,
                                                                     "insurer": str(insurer)})):
            whole = {r["code"]: r for r in district_metrics(conn, CITY, filters)}
            for layer in catalogue.DISTRICT_LAYERS:
                fc = district_layer(conn, layer.id, CITY, filters)
                got = {f["id"]: f["properties"]["value"] for f in fc["features"]}
                assert got == {code: whole[code][layer.id] for code in got}, layer.id
