"""Service evaluation and repair tracking: a claim for a defect repaired within REOPEN_DAYS
reopens the repair's claim (at its edges, on the public's and the insurer's paths); an owner
rates a closed claim once with its number and secret; the 服务评价 figures and the repairers'
table match independent SQL; an insurer sees its own portfolio's ratings only."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from importing import demo_store
from sqlalchemy import text

from conftest import as_web, sign_in
from geo import claims, programme, workflow
from geo.claims import secret_hash
from geo.tenancy import Tenant
from layers import service
from layers.filters import Filters
from webmap import create_app

CITY = "530100"
REGULATOR = Tenant("regulator", username="t-regulator")
PUBLIC = Tenant.public()


@pytest.fixture(scope="module")
def store(make_database):
    """A store of its own (the web tests commit ratings) with the demo's 60 projects."""
    return demo_store(make_database, projects=60)


@pytest.fixture()
def conn(store):
    with store.connect() as connection:
        transaction = connection.begin()
        # these tests rate claims themselves: from none, not on top of the demo's own ratings
        connection.execute(text("DELETE FROM service_rating"))
        connection.execute(text("UPDATE risk_management SET tis_rating = NULL, "
                                "tis_comment = NULL"))
        yield connection
        transaction.rollback()




def covered(conn):
    """A policy whose structure cover runs on the data's day: (policy, project, lead)."""
    return conn.execute(text("""
        SELECT po.id, po.project_id, po.lead_insurer_id FROM policy po
        JOIN coverage_section cs ON cs.policy_id = po.id AND cs.section = 'structure'
        CROSS JOIN data_version v
        WHERE po.status IN ('submitted', 'confirmed')
          AND v.as_of BETWEEN cs.starts_on AND cs.ends_on
          AND (SELECT count(*) FROM policy x WHERE x.project_id = po.project_id) = 1
        ORDER BY po.id LIMIT 1""")).one()


def repairer(conn) -> int:
    return conn.execute(text("SELECT min(id) FROM organisation WHERE kind = 'repairer'")
                        ).scalar_one()


def past_claim(conn, policy: int, unit: str, section: str, settled: dt.date | None,
               status: str = "closed", secret: str | None = None) -> tuple[int, str]:
    """A claim recorded directly: repaired on ``settled`` (and closed), or still reported."""
    number = "T" + uuid.uuid4().hex[:12]
    done = settled is not None
    row = conn.execute(text("""
        INSERT INTO claim (claim_no, policy_id, unit_no, reporter_name, section, cause,
            description, status, reported_on, surveyed_on, decided_on, decision, agreed_on,
            settled_on, repairer_id, paid_amount_yuan, secret_hash)
        VALUES (:no, :po, :unit, '业主', :section, '渗水', '渗水', :status, :reported,
            :d, :d, :decision, :d, :settled, :rep, :paid, :secret) RETURNING id"""),
        {"no": number, "po": policy, "unit": unit, "section": section,
         "status": status if done else "reported",
         "reported": (settled - dt.timedelta(days=20)) if done else workflow.today(conn),
         "d": (settled - dt.timedelta(days=10)) if done else None,
         "decision": "accepted" if done else None, "settled": settled,
         "rep": repairer(conn) if done else None, "paid": 1000 if done else 0,
         "secret": secret_hash(secret) if secret else None})
    return row.scalar_one(), number


def file_as_insurer(conn, cast, unit: str = "3-1-502", section: str = "structure") -> int:
    raw = {"policy_id": cast.id, "unit_no": unit, "section": section, "cause": "墙体裂缝",
           "reporter_name": "王女士", "reporter_phone": "13800000000"}
    with as_web(conn, Tenant("insurer", cast.lead_insurer_id, "t-insurer")):
        return workflow.advance(conn, Tenant("insurer", cast.lead_insurer_id, "t-insurer"),
                                "claim", None, "file", raw)["id"]


def reopens(conn, claim_id: int) -> int | None:
    return conn.execute(text("SELECT reopens_claim_id FROM claim WHERE id = :id"),
                        {"id": claim_id}).scalar_one()


@pytest.mark.parametrize(("days", "unit", "section", "reopened"), [
    (programme.REOPEN_DAYS, "3-1-502", "structure", True),
    (programme.REOPEN_DAYS + 1, "3-1-502", "structure", False),
    (0, "3-1-502", "structure", True),
    (30, "3-1-503", "structure", False),
    (30, "3-1-502", "insulation_waterproofing", False),
])
def test_a_claim_filed_by_the_insurer_reopens_a_repair_of_the_same_defect_within_the_limit(
        conn, days, unit, section, reopened):
    cast = covered(conn)
    day = workflow.today(conn)
    earlier, _ = past_claim(conn, cast.id, unit, section, day - dt.timedelta(days=days))
    new = file_as_insurer(conn, cast)
    assert reopens(conn, new) == (earlier if reopened else None)


def test_a_claim_still_open_is_not_reopened_and_the_latest_repair_counts(conn):
    cast = covered(conn)
    day = workflow.today(conn)
    past_claim(conn, cast.id, "3-1-502", "structure", None)  # not repaired yet
    past_claim(conn, cast.id, "3-1-502", "structure", day - dt.timedelta(days=200))
    latest, _ = past_claim(conn, cast.id, " 3-1-502 ", "structure", day - dt.timedelta(days=9))
    assert reopens(conn, file_as_insurer(conn, cast)) == latest


def test_the_owners_own_filing_reopens_a_repair_though_the_public_reads_no_claim(conn):
    cast = covered(conn)
    day = workflow.today(conn)
    earlier, _ = past_claim(conn, cast.id, "5-2-901", "structure",
                            day - dt.timedelta(days=programme.REOPEN_DAYS))
    raw = {"unit_no": "5-2-901", "section": "structure", "cause": "楼板裂缝",
           "reporter_name": "李女士", "reporter_phone": "13900000000"}
    with as_web(conn, PUBLIC):
        number, _, _ = claims.file_public_claim(conn, cast.project_id, raw)
        assert conn.execute(text("SELECT riskmap_role()")).scalar() == "public"  # restored
        assert conn.execute(text("SELECT count(*) FROM claim")).scalar() == 0
    assert conn.execute(text("SELECT reopens_claim_id FROM claim WHERE claim_no = :n"),
                        {"n": number}).scalar_one() == earlier
    with as_web(conn, PUBLIC):
        shorter, _, _ = claims.file_public_claim(conn, cast.project_id, raw, reopen_days=0)
    assert conn.execute(text("SELECT reopens_claim_id FROM claim WHERE claim_no = :n"),
                        {"n": shorter}).scalar_one() is None


def test_an_owner_rates_a_closed_claim_once_with_its_number_and_secret(conn):
    cast = covered(conn)
    day = workflow.today(conn)
    closed, number = past_claim(conn, cast.id, "1-1-101", "structure",
                                day - dt.timedelta(days=5), secret="s3cret")
    _, open_number = past_claim(conn, cast.id, "1-1-102", "structure", None, secret="other")
    with as_web(conn, PUBLIC):
        assert claims.rate_claim(conn, number, "wrong", 5) == "unknown"
        assert claims.rate_claim(conn, number, "s3cret", 4, " 维修及时 ") == "rated"
        assert claims.rate_claim(conn, number, "s3cret", 1, "改主意") == "already_rated"
        assert claims.rate_claim(conn, open_number, "other", 5) == "not_closed"
        assert claims.rate_claim(conn, "CL-none", "s3cret", 5) == "unknown"
        with pytest.raises(claims.LifecycleError):
            claims.rate_claim(conn, number, "s3cret", 6)
    rows = conn.execute(text("SELECT claim_id, score, comment, rated_on FROM service_rating")
                        ).all()
    assert [tuple(r) for r in rows] == [(closed, 4, "维修及时", day)]


# --------------------------------------------------------------------------------------------
# The figures against independent SQL

def seed(conn) -> None:
    """Ratings of a third of the closed claims, reopened claims pointing at repairs, and
    insurers' ratings of some TIS."""
    conn.execute(text("""INSERT INTO service_rating (claim_id, score, comment, rated_on)
        SELECT id, 1 + id % 5, '评价', settled_on + 20 FROM claim
        WHERE status = 'closed' AND id % 3 = 0"""))
    conn.execute(text("""
        WITH repair AS (SELECT id, policy_id, row_number() OVER (ORDER BY id) AS n FROM claim
                        WHERE settled_on IS NOT NULL AND repairer_id IS NOT NULL),
             later AS (SELECT c.id, r.id AS repair FROM claim c JOIN repair r
                       ON r.policy_id = c.policy_id AND r.id <> c.id AND r.n % 4 = 0)
        UPDATE claim c SET reopens_claim_id = l.repair FROM (
          SELECT DISTINCT ON (id) id, repair FROM later ORDER BY id, repair) l
        WHERE c.id = l.id AND c.id % 5 = 0"""))
    conn.execute(text("UPDATE risk_management SET tis_rating = 1 + id % 5 WHERE id % 2 = 0"))


INDEPENDENT = """
SELECT count(r.score), avg(r.score), count(*) FILTER (WHERE c.reopens_claim_id IS NOT NULL),
       count(*) FILTER (WHERE c.settled_on IS NOT NULL)
FROM claim c JOIN policy po ON po.id = c.policy_id JOIN project p ON p.id = po.project_id
JOIN district d ON d.code = p.district_code AND d.city_code = '530100'
LEFT JOIN service_rating r ON r.claim_id = c.id
WHERE po.status NOT IN ('returned', 'cancelled')
  AND (CAST(:insurer AS int) IS NULL OR EXISTS (SELECT 1 FROM policy_share s
       WHERE s.policy_id = po.id AND s.insurer_id = :insurer))
  AND (CAST(:y AS int) IS NULL OR extract(year FROM c.reported_on) = :y)"""

TIS_INDEPENDENT = """
SELECT count(*), avg(m.tis_rating) FROM risk_management m
WHERE m.tis_rating IS NOT NULL AND m.project_id IN (
  SELECT po.project_id FROM policy po JOIN project p ON p.id = po.project_id
  JOIN district d ON d.code = p.district_code AND d.city_code = '530100'
  WHERE po.status NOT IN ('returned', 'cancelled')
    AND (CAST(:insurer AS int) IS NULL OR EXISTS (SELECT 1 FROM policy_share s
         WHERE s.policy_id = po.id AND s.insurer_id = :insurer)))"""


def figures(conn, tenant, filters: Filters) -> dict:
    with as_web(conn, tenant):
        section = service.service_section(conn, CITY, filters.for_tenant(tenant))
    return {i["id"]: i["value"] for i in section["indicators"]}


def expected(conn, insurer: int | None = None, year: int | None = None) -> dict:
    ratings, mean, reopened, settled = conn.execute(
        text(INDEPENDENT), {"insurer": insurer, "y": year}).one()
    tis_count, tis_mean = conn.execute(text(TIS_INDEPENDENT), {"insurer": insurer}).one()
    return {"owner_ratings": ratings, "owner_score": mean and float(mean),
            "reopened_claims": reopened,
            "reopen_rate": 100.0 * reopened / settled if settled else None,
            "tis_ratings": tis_count, "tis_score": tis_mean and float(tis_mean)}


def close(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (a[k] is None and b[k] is None) or a[k] == pytest.approx(b[k]) for k in a)


def test_every_indicator_matches_independent_sql(conn):
    seed(conn)
    want = expected(conn)
    assert want["owner_ratings"] > 10 and want["reopened_claims"] > 0 and want["tis_ratings"]
    assert close(figures(conn, REGULATOR, Filters()), want)
    year = conn.execute(text("SELECT extract(year FROM max(reported_on))::int FROM claim")
                        ).scalar_one()
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    period = figures(conn, REGULATOR, Filters(date_from=first, date_to=last))
    assert {k: period[k] for k in list(period)[:4]} == pytest.approx(
        {k: v for k, v in expected(conn, year=year).items() if k in list(period)[:4]})


def test_an_insurer_sees_its_own_portfolios_ratings_only(conn):
    seed(conn)
    insurer = conn.execute(text("""SELECT s.insurer_id FROM service_rating r
        JOIN claim c ON c.id = r.claim_id JOIN policy_share s ON s.policy_id = c.policy_id
        GROUP BY 1 ORDER BY count(*) DESC LIMIT 1""")).scalar_one()
    mine = figures(conn, Tenant("insurer", insurer, "t-insurer"), Filters())
    assert close(mine, expected(conn, insurer=insurer))
    assert mine["owner_ratings"] < expected(conn)["owner_ratings"]
    with as_web(conn, Tenant("insurer", insurer, "t-insurer")):
        # row security alone (no filter) hides every other insurer's claims and ratings
        unfiltered = service.service_section(conn, CITY, Filters())
        seen = conn.execute(text("SELECT count(*) FROM service_rating")).scalar_one()
    assert {i["id"]: i["value"] for i in unfiltered["indicators"]}["owner_ratings"] <= seen
    assert seen < conn.execute(text("SELECT count(*) FROM service_rating")).scalar_one()


REPAIRERS = """
SELECT c.repairer_id, count(*),
       (SELECT count(*) FROM claim x JOIN claim y ON y.id = x.reopens_claim_id
        JOIN policy py ON py.id = y.policy_id
        WHERE y.repairer_id = c.repairer_id AND y.settled_on IS NOT NULL
          AND py.status NOT IN ('returned', 'cancelled')),
       count(r.score), avg(r.score)
FROM claim c JOIN policy po ON po.id = c.policy_id JOIN project p ON p.id = po.project_id
JOIN district d ON d.code = p.district_code AND d.city_code = '530100'
LEFT JOIN service_rating r ON r.claim_id = c.id
WHERE po.status NOT IN ('returned', 'cancelled') AND c.settled_on IS NOT NULL
  AND c.repairer_id IS NOT NULL
GROUP BY c.repairer_id"""


def test_the_repairers_table_matches_independent_sql(conn):
    seed(conn)
    want = {r[0]: (r[1], r[2], 100.0 * r[2] / r[1], r[3], r[4] and float(r[4]))
            for r in conn.execute(text(REPAIRERS))}
    with as_web(conn, REGULATOR):
        rows = service.repairers(conn, CITY, Filters())
    got = {r["id"]: (r["repaired"], r["reopened"], r["reopen_rate"], r["ratings"],
                     r["mean_score"]) for r in rows}
    assert got.keys() == want.keys() and sum(v[1] for v in got.values()) > 0
    for key, value in want.items():
        assert got[key] == pytest.approx(value)
    with as_web(conn, REGULATOR):
        section = service.service_section(conn, CITY, Filters())
    chart = next(c for c in section["charts"] if c["id"] == "owner_score_by_repairer")
    assert len(chart["categories"]) == sum(1 for v in want.values() if v[3])


# --------------------------------------------------------------------------------------------
# The pages

@pytest.fixture(scope="module")
def app(store):
    return create_app({"DATABASE_URL": store.url.render_as_string(hide_password=False),
                       "TESTING": True, "CLAIM_RATE_LIMIT": "1000 per hour"})


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


def test_the_rating_form_on_a_closed_claims_follow_page(app, store):
    with store.begin() as connection:
        cast = covered(connection)
        _, number = past_claim(connection, cast.id, "8-8-808", "structure",
                               workflow.today(connection) - dt.timedelta(days=3),
                               secret="web-secret")
    web = app.test_client()
    page = web.get("/claims/follow").get_data(as_text=True)
    followed = web.post("/claims/follow", data={"claim_no": number, "secret": "web-secret",
                                                 "csrf_token": csrf(page)})
    shown = followed.get_data(as_text=True)
    assert 'id="rating-form"' in shown and "web-secret" not in shown

    def rate(secret: str, score: str = "5"):
        return web.post("/claims/rate", data={"claim_no": number, "secret": secret,
                                               "score": score, "comment": "<b>好</b>",
                                               "csrf_token": csrf(shown)})
    assert rate("web-secret", "9").status_code == 422
    assert rate("nope").status_code == 404
    answer = rate("web-secret")
    assert answer.status_code == 200 and "感谢您的评价" in answer.get_data(as_text=True)
    assert 'id="rating-form"' not in answer.get_data(as_text=True)
    assert rate("web-secret").status_code == 409
    assert web.post("/claims/rate", data={"claim_no": number, "secret": "web-secret",
                                          "score": "5"}).status_code == 400  # no CSRF token


def test_the_service_page_for_city_staff_and_insurers_only(app, store):
    assert app.test_client().get("/service").status_code in (302, 401)
    regulator = sign_in(app.test_client(), store, "regulator").get("/service")
    page = regulator.get_data(as_text=True)
    assert regulator.status_code == 200
    for words in ("业主平均评分", "返修率", "维修单位施工质量跟踪", 'id="service-repairers"'):
        assert words in page
    with store.connect() as connection:
        insurer, tis = connection.execute(text(
            "SELECT min(lead_insurer_id), min(tis_id) FROM policy")).one()
    assert sign_in(app.test_client(), store, "insurer", insurer).get(
        "/service").status_code == 200
    assert sign_in(app.test_client(), store, "tis", tis).get("/service").status_code == 403
    refused = sign_in(app.test_client(), store, "insurer", insurer).get(
        f"/service?insurer={insurer + 1000}")
    assert refused.status_code == 400
