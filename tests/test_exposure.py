"""Exposure and accumulation: shares and reinsurance applied right, sums that add up, limits
and their breaches, and an insurer that never sees another insurer's exposure."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon
from sqlalchemy import text

from geo import store
from geo.tenancy import Tenant, set_tenant
from layers import exposure, portfolio
from layers.exposure import Choice, ExposureError

CITY = "530100"
REGULATOR = Tenant("regulator")


def insurers(conn) -> list[int]:
    return list(conn.execute(text("SELECT insurer_id FROM policy_share GROUP BY 1 "
                                  "ORDER BY count(*) DESC, 1")).scalars())


def expected(conn, insurer: int | None) -> dict[str, float]:
    """Gross, own and net the plain way, for the live policies."""
    share = "s.share" if insurer else "1"
    joins = ("JOIN policy_share s ON s.policy_id = po.id AND s.insurer_id = :i"
             if insurer else "")
    row = conn.execute(text(f"""
        SELECT sum(po.sum_insured_yuan), sum(po.sum_insured_yuan * {share}),
               sum(po.sum_insured_yuan * {share} * (1 - COALESCE((SELECT sum(r.share)
                   FROM reinsurance_share r WHERE r.policy_id = po.id), 0)))
        FROM policy po {joins} WHERE po.status IN ('submitted', 'confirmed')"""),  # noqa: S608
        {"i": insurer}).one()
    return {"gross_wan": float(row[0]) / 1e4, "own_wan": float(row[1]) / 1e4,
            "net_wan": float(row[2]) / 1e4}


@pytest.mark.parametrize("which", [None, 0, 1])
def test_gross_own_and_net_totals_match_an_independent_computation(kunming, which):
    with kunming.connect() as conn:
        insurer = None if which is None else insurers(conn)[which]
        data = portfolio.portfolio(conn, CITY, Choice(insurer=insurer), REGULATOR)
        want = expected(conn, insurer)
    for key, value in want.items():
        assert data["totals"][key] == pytest.approx(value, rel=1e-9), key
    if insurer is None:
        assert data["totals"]["own_wan"] == pytest.approx(data["totals"]["gross_wan"])
        market = sum(o["own_wan"] for o in data["insurers"])
        assert market == pytest.approx(data["totals"]["gross_wan"])  # the shares add to 100 %
    else:
        assert data["totals"]["own_wan"] < data["totals"]["gross_wan"]
    assert data["totals"]["net_wan"] < data["totals"]["own_wan"]


def test_every_accumulation_adds_up_to_the_total(kunming):
    with kunming.connect() as conn:
        data = portfolio.portfolio(conn, CITY, Choice(basis="own", cell_m=2000), REGULATOR)
    total = data["totals"]["own_wan"]
    assert sum(d["own_wan"] for d in data["districts"]) == pytest.approx(total)
    assert sum(c["own_wan"] for c in data["cells"]) == pytest.approx(total)
    assert len(data["circles"]) == 10
    ranks = [c["own_wan"] for c in data["circles"]]
    assert ranks == sorted(ranks, reverse=True)
    members = [m["project_id"] for c in data["circles"] for m in c["members"]]
    assert len(members) == len(set(members))  # each project in one circle at most


def test_each_cell_holds_its_projects(kunming):
    with kunming.connect() as conn:
        choice = Choice(cell_m=1000)
        policies = exposure.policy_exposures(conn, CITY, choice)
    projects = exposure.project_exposures(policies)
    cells = exposure.by_cell(projects, "net", 1000)
    assert sum(c["projects"] for c in cells) == len(projects)
    biggest = Polygon(cells[0]["ring"])
    inside = [p for p in projects.itertuples() if biggest.contains(Point(p.lon, p.lat))]
    assert len(inside) == cells[0]["projects"]
    x, y, _ = exposure.local_metres(*zip(*cells[0]["ring"], strict=True))
    assert Polygon(zip(x, y, strict=True)).area == pytest.approx(1e6, rel=1e-4)  # 1 km × 1 km


def test_the_party_accumulations_cover_every_policy(kunming):
    with kunming.connect() as conn:
        policies = exposure.policy_exposures(conn, CITY, Choice())
    for party in exposure.PARTIES:
        rows = exposure.by_party(policies, party, "gross", top=10**6)
        assert sum(r["gross_wan"] for r in rows) == pytest.approx(
            policies["gross_yuan"].sum() / 1e4), party
    years = {r["party"] for r in exposure.by_party(policies, "completion_year", "net")}
    assert "未竣工" in years and any(y.isdigit() for y in years)


@pytest.fixture()
def web(kunming):
    engine = store.make_engine(kunming.url.set(username="riskmap_web"))
    yield engine
    engine.dispose()


def test_an_insurer_sees_only_its_own_exposure(web, kunming):
    with kunming.connect() as conn:
        mine, theirs = insurers(conn)[:2]
        want = expected(conn, mine)
    tenant = Tenant("insurer", mine)
    with web.begin() as conn:
        set_tenant(conn, tenant)
        data = portfolio.portfolio(conn, CITY, Choice(), tenant)
        with pytest.raises(ExposureError, match="only see your own"):
            portfolio.portfolio(conn, CITY, Choice(insurer=theirs), tenant)
    assert data["insurer"]["id"] == mine and data["insurers"] == []
    assert data["totals"]["own_wan"] == pytest.approx(want["own_wan"])
    with web.begin() as conn:
        set_tenant(conn, Tenant("tis", 1))
        with pytest.raises(ExposureError):
            portfolio.portfolio(conn, CITY, Choice(), Tenant("tis", 1))


def test_limits_are_the_insurers_own_and_their_breaches_are_found(web, kunming):
    with kunming.connect() as conn:
        mine, theirs = insurers(conn)[:2]
    me, rival = Tenant("insurer", mine, "t-ins"), Tenant("insurer", theirs, "t-rival")
    try:
        with web.begin() as conn:
            set_tenant(conn, me)
            top = portfolio.portfolio(conn, CITY, Choice(), me)["circles"][0]["net_wan"]
            portfolio.add_limit(conn, me, "circle", "net", 200, top / 2, "半个最大圆")
            portfolio.add_limit(conn, me, "district", "net", None, 1e9)
            portfolio.add_limit(conn, me, "district", "net", None, 1e10)  # replaces it
        with web.begin() as conn:
            set_tenant(conn, me)
            data = portfolio.portfolio(conn, CITY, Choice(), me)
        assert len(data["limits"]) == 2
        breaches = data["breaches"]
        assert breaches and all(b["value_wan"] > top / 2 for b in breaches)
        assert breaches[0]["value_wan"] == pytest.approx(top)
        assert not [b for b in breaches if "单个区县" in b["limit"]]
        with web.begin() as conn:
            set_tenant(conn, rival)
            assert portfolio.limits(conn, mine) == []
            assert not portfolio.delete_limit(conn, rival, data["limits"][0]["id"])
        with web.begin() as conn:
            set_tenant(conn, REGULATOR)
            assert len(portfolio.limits(conn, mine)) == 2
            with pytest.raises(ExposureError, match="only an insurer"):
                portfolio.add_limit(conn, REGULATOR, "circle", "net", 200, 1)
    finally:
        with kunming.begin() as conn:
            conn.execute(text("DELETE FROM exposure_limit"))


@pytest.mark.parametrize("args", [dict(basis="premium"), dict(radius_m=10), dict(cell_m=50),
                                  dict(top=0)])
def test_a_choice_out_of_range_is_refused(args):
    with pytest.raises(ExposureError):
        Choice(**args)


# --------------------------------------------------------------------------------------------
# Property: on small random portfolios, shares and reinsurance are applied exactly


def split(total: int, parts: list[int]) -> list[int]:
    """``total`` basis points split in proportion to ``parts`` (each at least 1)."""
    raw = [max(1, total * p // sum(parts)) for p in parts]
    raw[0] += total - sum(raw)
    return raw


policy_strategy = st.fixed_dictionaries({
    "sum_insured": st.integers(1_000_000, 2_000_000_000),
    "weights": st.lists(st.integers(1, 100), min_size=1, max_size=4),
    "ceded": st.lists(st.integers(1, 3000), max_size=3),
    "status": st.sampled_from(["submitted", "confirmed", "confirmed", "returned", "cancelled",
                               "terminated"]),
})


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(policies=st.lists(policy_strategy, min_size=1, max_size=6))
def test_shares_and_reinsurance_are_applied_exactly(rollback, policies):
    conn = rollback
    savepoint = conn.begin_nested()
    try:
        found = insert_and_measure(conn, policies)
    finally:
        savepoint.rollback()
    for insurer, (got, want) in found.items():
        for key in ("gross_yuan", "own_yuan", "net_yuan"):
            assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-6), (insurer, key)


def insert_and_measure(conn, policies) -> dict:
    ids = insurers(conn)
    reinsurers = list(conn.execute(text("SELECT id FROM organisation WHERE kind = "
                                        "'reinsurer' ORDER BY id")).scalars())
    project = conn.execute(text("SELECT min(id) FROM project")).scalar_one()
    conn.execute(text("DELETE FROM policy WHERE project_id = :p"), {"p": project})
    want: dict = {}
    for n, p in enumerate(policies):
        shares = split(10_000, p["weights"])
        holders = ids[: len(shares)]
        ceded = split(min(sum(p["ceded"]), 10_000), p["ceded"]) if p["ceded"] else []
        policy = conn.execute(text("""
            INSERT INTO policy (policy_no, project_id, lead_insurer_id, premium_yuan, rate,
                                sum_insured_yuan, issue_date, status)
            VALUES (:no, :p, :lead, 1, 0.01, :si, '2024-01-01', :st) RETURNING id"""),
            {"no": f"PROP-{n}", "p": project, "lead": holders[0], "si": p["sum_insured"],
             "st": p["status"]}).scalar_one()
        for i, (insurer, bp) in enumerate(zip(holders, shares, strict=True)):
            conn.execute(text("INSERT INTO policy_share VALUES (:po, :i, :lead, :s)"),
                         {"po": policy, "i": insurer, "lead": i == 0, "s": bp / 10_000})
        for reinsurer, bp in zip(reinsurers, ceded, strict=False):
            conn.execute(text("INSERT INTO reinsurance_share VALUES (:po, :r, :s)"),
                         {"po": policy, "r": reinsurer, "s": bp / 10_000})
        if p["status"] not in ("submitted", "confirmed"):
            continue
        kept = 1 - sum(ceded[: len(reinsurers)]) / 10_000
        for insurer, bp in zip(holders, shares, strict=True):
            row = want.setdefault(insurer, {"gross_yuan": 0.0, "own_yuan": 0.0, "net_yuan": 0.0})
            row["gross_yuan"] += p["sum_insured"]
            row["own_yuan"] += p["sum_insured"] * bp / 10_000
            row["net_yuan"] += p["sum_insured"] * bp / 10_000 * kept
    found = {}
    for insurer in ids:
        frame = exposure.policy_exposures(conn, CITY, Choice(insurer=insurer))
        mine = frame[frame["project_id"] == project]
        got = {k: float(mine[k].sum()) for k in ("gross_yuan", "own_yuan", "net_yuan")}
        found[insurer] = (got, want.get(insurer, {k: 0.0 for k in got}))
    return found
