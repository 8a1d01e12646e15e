"""Tests for the store's integrity rules: every kind of bad row is refused, good rows pass.

Runs on the real PostgreSQL + PostGIS of conftest.py. Each test writes a small programme of
its own inside the ``rollback`` fixture's transaction; each bad write gets a savepoint, so a
refused statement leaves the programme usable for the checks that follow.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from geo import codes, store
from geo.programme import BASIC_SECTIONS, COVERAGE_SECTIONS, add_years, coverage_period

DISTRICT = "530102"  # 五华区, loaded by the kunming fixture
COMPLETION = dt.date(2020, 6, 30)
IN_KUNMING = "SRID=4326;POINT(102.71 25.04)"
SQUARE = "SRID=4326;MULTIPOLYGON(((102.6 25.0,102.8 25.0,102.8 25.2,102.6 25.2,102.6 25.0)))"
BASIC = tuple(s.code for s in BASIC_SECTIONS)
GEOMETRY_COLUMNS = {"location", "boundary", "footprint"}

_serials = itertools.count(1)


# --- writing rows -------------------------------------------------------------------------

def unique(label: str) -> str:
    # names and numbers are UNIQUE: a clash with the demo data would hide the rule under test
    return f"测试{label}-{uuid.uuid4().hex[:8]}"


def new_uscc() -> str:
    # the demo's codes start with the city (91530100...), so these cannot collide with them
    first17 = f"91{DISTRICT}CEXQ{next(_serials):05d}"
    return first17 + codes.uscc_check_char(first17)


def wrong_check_char(uscc: str) -> str:
    alphabet = codes.USCC_ALPHABET
    return uscc[:17] + alphabet[(alphabet.index(uscc[17]) + 1) % len(alphabet)]


def insert(conn: Connection, table: str, **row) -> Row:
    values = ", ".join(
        f"CAST(:{c} AS geometry)" if c in GEOMETRY_COLUMNS else f":{c}" for c in row)
    statement = f"INSERT INTO {table} ({', '.join(row)}) VALUES ({values}) RETURNING *"  # noqa: S608 - our own names
    return conn.execute(text(statement), row).one()


def update(conn: Connection, table: str, where: dict, **changes) -> None:
    sets = ", ".join(f"{c} = :{c}" for c in changes)
    condition = " AND ".join(f"{c} = :where_{c}" for c in where)
    statement = f"UPDATE {table} SET {sets} WHERE {condition}"  # noqa: S608 - our own names
    conn.execute(text(statement), changes | {f"where_{c}": v for c, v in where.items()})


def check_now(conn: Connection) -> None:
    # the share rules are deferred to commit: run them as a commit would, then defer them
    # again so that later writes may still come in any order
    conn.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    conn.execute(text("SET CONSTRAINTS ALL DEFERRED"))


def organisation(conn: Connection, kind: str, **changes) -> int:
    row = {"name": unique(kind), "kind": kind, "uscc": new_uscc()}
    return insert(conn, "organisation", **(row | changes)).id


def district(conn: Connection, **changes) -> Row:
    row = {"code": "530199", "name": unique("区"), "city_code": "530100", "city_name": "昆明市",
           "province_code": "530000", "province_name": "云南省", "boundary": SQUARE}
    return insert(conn, "district", **(row | changes))


def project(conn: Connection, ids: dict, **changes) -> Row:
    row = {"permit_no": unique("报建"), "name": unique("项目"), "district_code": DISTRICT,
           "location": IN_KUNMING, "developer_id": ids["developer"],
           "contractor_id": ids["contractor"], "gross_floor_area_m2": 12_000, "units": 120,
           "construction_cost_yuan": 36_000_000, "stage": "completed",
           "start_date": dt.date(2018, 3, 1), "completion_date": COMPLETION}
    return insert(conn, "project", **(row | changes))


def policy(conn: Connection, ids: dict, **changes) -> Row:
    row = {"policy_no": unique("保单"), "project_id": ids["project"],
           "lead_insurer_id": ids["insurer"], "tis_id": ids["tis"], "premium_yuan": 360_000,
           "rate": 0.01, "sum_insured_yuan": 36_000_000, "issue_date": dt.date(2018, 2, 1)}
    return insert(conn, "policy", **(row | changes))


def share(conn: Connection, policy_id: int, insurer_id: int, part: float, lead=False) -> None:
    insert(conn, "policy_share", policy_id=policy_id, insurer_id=insurer_id, share=part,
           is_lead=lead)


def cover(conn: Connection, policy_id: int, section: str, starts_on=None, ends_on=None) -> Row:
    return insert(conn, "coverage_section", policy_id=policy_id, section=section,
                  starts_on=starts_on, ends_on=ends_on)


def redate(conn: Connection, ids: dict, section: str, starts_on: dt.date, ends_on: dt.date):
    update(conn, "coverage_section", {"id": ids[section]}, starts_on=starts_on, ends_on=ends_on)


def risk_event(conn: Connection, ids: dict, **changes) -> Row:
    row = {"event_no": unique("风险"), "project_id": ids["project"], "category": "waterproofing",
           "severity": "major", "status": "open", "found_on": dt.date(2019, 5, 10),
           "due_on": dt.date(2019, 6, 10)}
    return insert(conn, "risk_event", **(row | changes))


def claim(conn: Connection, ids: dict, **changes) -> Row:
    row = {"claim_no": unique("理赔"), "policy_id": ids["policy"], "unit_no": "3-1-502",
           "reporter_name": "张三", "section": "insulation_waterproofing", "status": "reported",
           "reported_on": dt.date(2023, 7, 3)}
    return insert(conn, "claim", **(row | changes))


def app_user(conn: Connection, **changes) -> Row:
    row = {"username": f"test_{uuid.uuid4().hex[:8]}", "display_name": "测试用户",
           "role": "regulator", "password_hash": "x"} | changes
    # the city's staff oversee a jurisdiction; the others have none
    staff = row["role"] in ("regulator", "planner", "admin")
    return insert(conn, "app_user", **({"jurisdiction": "530100" if staff else None} | row))


def programme(conn: Connection) -> dict[str, int]:
    """A minimal valid programme on a completed Kunming project; returns the new rows' ids."""
    ids = {kind: organisation(conn, kind) for kind in
           ("insurer", "reinsurer", "tis", "developer", "contractor", "repairer")}
    ids["co_insurer"] = organisation(conn, "insurer")
    ids["project"] = project(conn, ids).id
    ids["policy"] = policy(conn, ids).id
    share(conn, ids["policy"], ids["insurer"], 0.6, lead=True)
    share(conn, ids["policy"], ids["co_insurer"], 0.4)
    insert(conn, "reinsurance_share", policy_id=ids["policy"], reinsurer_id=ids["reinsurer"],
           share=0.5)
    for section in BASIC:
        ids[section] = cover(conn, ids["policy"], section,
                             *coverage_period(section, COMPLETION)).id
    return ids


def cover_dates(conn: Connection, policy_id: int) -> dict[str, tuple[dt.date, dt.date]]:
    rows = conn.execute(text(
        "SELECT section, starts_on, ends_on FROM coverage_section WHERE policy_id = :policy"),
        {"policy": policy_id})
    return {section: (starts, ends) for section, starts, ends in rows}


def constraint(name: str) -> str:
    # quoted, so that "project_check" does not also match "project_check2"
    return f'constraint "{name}"'


@pytest.fixture()
def ids(rollback) -> dict[str, int]:
    """The programme, checked as if an earlier transaction had committed it.

    So each bad write is judged by its own checks, not by ones the programme left pending.
    """
    written = programme(rollback)
    check_now(rollback)
    return written


# --- bad rows ---------------------------------------------------------------------------------

def co_insurers_hold_90_percent(conn, ids):
    update(conn, "policy_share", {"policy_id": ids["policy"], "insurer_id": ids["co_insurer"]},
           share=0.3)


def second_lead_share(conn, ids):
    update(conn, "policy_share", {"policy_id": ids["policy"], "insurer_id": ids["co_insurer"]},
           is_lead=True)


def lead_share_moves_to_co_insurer(conn, ids):
    keys = {"policy_id": ids["policy"]}
    update(conn, "policy_share", keys | {"insurer_id": ids["insurer"]}, is_lead=False)
    update(conn, "policy_share", keys | {"insurer_id": ids["co_insurer"]}, is_lead=True)


def reinsurers_take_120_percent(conn, ids):
    # 50 % is already ceded to the programme's reinsurer
    insert(conn, "reinsurance_share", policy_id=ids["policy"],
           reinsurer_id=organisation(conn, "reinsurer"), share=0.7)


def cover_dated_before_completion_acceptance(conn, ids):
    building = project(conn, ids, stage="main_structure", completion_date=None).id
    policy_id = policy(conn, ids, project_id=building).id
    share(conn, policy_id, ids["insurer"], 1, lead=True)
    cover(conn, policy_id, "structure", *coverage_period("structure", COMPLETION))


START, _ = coverage_period("structure", COMPLETION)

BAD_ROWS = [
    pytest.param(lambda c, ids: district(c, code="990102"),
                 constraint("district_code_check"), id="district code not GB/T 2260"),
    pytest.param(lambda c, ids: organisation(c, "insurer", uscc=wrong_check_char(new_uscc())),
                 constraint("organisation_uscc_check"), id="USCC with a wrong check character"),
    pytest.param(lambda c, ids: organisation(c, "bank"),
                 constraint("organisation_kind_fkey"), id="organisation of an unknown kind"),
    pytest.param(lambda c, ids: project(c, ids, gross_floor_area_m2=0),
                 constraint("project_gross_floor_area_m2_check"), id="project with no floor area"),
    # a real district, but not one of the store's
    pytest.param(lambda c, ids: project(c, ids, district_code="110101"),
                 constraint("project_district_code_fkey"), id="project in an unknown district"),
    pytest.param(lambda c, ids: project(c, ids, completion_date=None),
                 constraint("project_check2"), id="completed project without completion date"),
    pytest.param(lambda c, ids: project(c, ids, location="SRID=4326;POINT(2 48)"),
                 constraint("project_location_check"), id="project outside China"),
    pytest.param(lambda c, ids: project(c, ids, stage="delivered",
                                        delivery_date=dt.date(2020, 5, 1)),
                 constraint("project_check1"), id="delivery before completion"),
    pytest.param(lambda c, ids: project(c, ids, developer_id=ids["insurer"]),
                 "is a insurer, not a developer", id="project whose developer is an insurer"),
    pytest.param(lambda c, ids: policy(c, ids, rate=0.11),
                 constraint("policy_rate_check"), id="premium rate above 10 %"),
    pytest.param(lambda c, ids: policy(c, ids, premium_yuan=0),
                 constraint("policy_premium_yuan_check"), id="policy without premium"),
    pytest.param(lambda c, ids: policy(c, ids, premium_yuan=40_000_000),
                 constraint("policy_check"), id="premium above the sum insured"),
    pytest.param(lambda c, ids: policy(c, ids, lead_insurer_id=ids["developer"]),
                 "is a developer, not a insurer", id="lead insurer is a developer"),
    pytest.param(co_insurers_hold_90_percent,
                 "co-insurance shares sum to 90", id="co-insurance shares sum to 90 %"),
    pytest.param(second_lead_share, "policy_share_one_lead", id="two lead shares"),
    pytest.param(lead_share_moves_to_co_insurer, "the lead share is not held by the lead insurer",
                 id="lead share held by another insurer"),
    pytest.param(reinsurers_take_120_percent, "reinsurance cedes 120",
                 id="reinsurance cedes 120 %"),
    pytest.param(lambda c, ids: insert(c, "reinsurance_share", policy_id=ids["policy"],
                                       reinsurer_id=ids["co_insurer"], share=0.1),
                 "is a insurer, not a reinsurer", id="reinsurance ceded to an insurer"),
    pytest.param(lambda c, ids: redate(c, ids, "structure", START, add_years(START, 9)),
                 "structure must run 10 years", id="structure cover lasting 9 years"),
    pytest.param(lambda c, ids: redate(c, ids, "structure", COMPLETION, add_years(COMPLETION, 10)),
                 f"must run 10 years from {START}", id="cover starting at completion"),
    pytest.param(lambda c, ids: redate(c, ids, "insulation_waterproofing", START,
                                       add_years(START, 10)),
                 "insulation_waterproofing must run 5 years", id="waterproofing lasting 10 years"),
    pytest.param(cover_dated_before_completion_acceptance,
                 "has no completion acceptance date yet", id="cover dated before completion"),
    pytest.param(lambda c, ids: risk_event(c, ids, status="closed"),
                 constraint("risk_event_check2"), id="risk event closed without a date"),
    pytest.param(lambda c, ids: risk_event(c, ids, due_on=dt.date(2019, 5, 1)),
                 constraint("risk_event_check"), id="risk event due before it was found"),
    pytest.param(lambda c, ids: claim(c, ids, status="surveyed", surveyed_on=dt.date(2023, 7, 1)),
                 constraint("claim_check"), id="claim surveyed before reported"),
    pytest.param(lambda c, ids: claim(c, ids, status="rejected", decision="rejected",
                                      decided_on=dt.date(2023, 7, 8)),
                 constraint("claim_check6"), id="claim rejected without a reason"),
    pytest.param(lambda c, ids: claim(c, ids, status="settled", decision="accepted",
                                      decided_on=dt.date(2023, 7, 8),
                                      agreed_on=dt.date(2023, 7, 12),
                                      settled_on=dt.date(2023, 7, 10)),
                 constraint("claim_check4"), id="claim settled before agreed"),
    pytest.param(lambda c, ids: claim(c, ids, section="roof"),
                 constraint("claim_section_fkey"), id="claim on an unknown section"),
    pytest.param(lambda c, ids: claim(c, ids, repairer_id=ids["contractor"]),
                 "is a contractor, not a repairer", id="claim repaired by a contractor"),
    pytest.param(lambda c, ids: app_user(c, role="insurer"),
                 constraint("app_user_check"), id="insurer user without an organisation"),
]


@pytest.mark.parametrize(("write", "refusal"), BAD_ROWS)
def test_store_refuses_bad_row(rollback, ids, write, refusal):
    with pytest.raises(IntegrityError) as exc, rollback.begin_nested():
        write(rollback, ids)
        check_now(rollback)
    assert refusal in str(exc.value)
    # the refusal undid only the bad write: the programme around it still passes every check
    check_now(rollback)


# Bad states reached by editing a row other than the one a rule is checked on.

def lead_insurer_becomes_a_developer(conn, ids):
    # the policy still names it as its lead insurer
    update(conn, "organisation", {"id": ids["insurer"]}, kind="developer")


def co_share_moves_to_another_policy(conn, ids):
    # the other policy is then whole, but this one is left with its lead's 60 %
    other = policy(conn, ids).id
    share(conn, other, ids["insurer"], 0.6, lead=True)
    update(conn, "policy_share", {"policy_id": ids["policy"], "insurer_id": ids["co_insurer"]},
           policy_id=other)


def insurer_user_joins_a_developer(conn, ids):
    user = app_user(conn, role="insurer", organisation_id=ids["insurer"])
    update(conn, "app_user", {"id": user.id}, organisation_id=ids["developer"])


def claim_status_contradicts_decision(conn, ids):
    accepted = claim(conn, ids, status="accepted", decision="accepted",
                     decided_on=dt.date(2023, 7, 8))
    update(conn, "claim", {"id": accepted.id}, status="rejected")


BAD_EDITS = [
    pytest.param(lead_insurer_becomes_a_developer, id="lead insurer reclassified as developer"),
    pytest.param(co_share_moves_to_another_policy, id="co-insurance share moved away"),
    pytest.param(insurer_user_joins_a_developer, id="insurer user moved to a developer"),
    pytest.param(claim_status_contradicts_decision, id="accepted claim marked rejected"),
]


@pytest.mark.parametrize("edit", BAD_EDITS)
def test_store_refuses_edit_that_breaks_a_rule(rollback, ids, edit):
    with pytest.raises(IntegrityError), rollback.begin_nested():
        edit(rollback, ids)
        check_now(rollback)


def test_a_policy_moved_to_another_project_takes_its_cover_dates(rollback, ids):
    later = project(rollback, ids, completion_date=dt.date(2021, 1, 1)).id
    update(rollback, "policy", {"id": ids["policy"]}, project_id=later)
    expected = {s: coverage_period(s, dt.date(2021, 1, 1)) for s in BASIC}
    assert cover_dates(rollback, ids["policy"]) == expected
    check_now(rollback)


# --- good rows --------------------------------------------------------------------------------

def under_construction_with_undated_cover(conn, ids):
    building = project(conn, ids, stage="main_structure", completion_date=None).id
    policy_id = policy(conn, ids, project_id=building).id
    share(conn, policy_id, ids["insurer"], 1, lead=True)
    for section in BASIC:
        cover(conn, policy_id, section)


GOOD_ROWS = [
    pytest.param(lambda c, ids: district(c), id="district with a GB/T 2260 code"),
    pytest.param(lambda c, ids: project(c, ids, stage="delivered",
                                        delivery_date=dt.date(2020, 9, 1)),
                 id="project delivered after completion"),
    pytest.param(under_construction_with_undated_cover, id="cover undated until completion"),
    pytest.param(lambda c, ids: cover(c, ids["policy"], "lift", dt.date(2020, 7, 1),
                                      dt.date(2022, 6, 30)),
                 id="rider with contract dates"),
    pytest.param(lambda c, ids: risk_event(c, ids, status="closed",
                                           closed_on=dt.date(2019, 6, 1)),
                 id="risk event closed with a date"),
    pytest.param(lambda c, ids: claim(c, ids, status="rejected", decision="rejected",
                                      decided_on=dt.date(2023, 7, 8), exclusion="owner_fault",
                                      decision_reason="业主自行改造导致渗漏"),
                 id="claim rejected with a reason"),
    pytest.param(lambda c, ids: claim(c, ids, status="settled", decision="accepted",
                                      surveyed_on=dt.date(2023, 7, 4),
                                      decided_on=dt.date(2023, 7, 8),
                                      agreed_on=dt.date(2023, 7, 10),
                                      settled_on=dt.date(2023, 7, 15),
                                      repairer_id=ids["repairer"], paid_amount_yuan=8_000),
                 id="claim settled in order"),
    pytest.param(lambda c, ids: app_user(c), id="regulator without an organisation"),
    pytest.param(lambda c, ids: organisation(c, "reinsurer", uscc=None),
                 id="foreign reinsurer without a unified social credit code"),
    pytest.param(lambda c, ids: app_user(c, role="insurer", organisation_id=ids["insurer"]),
                 id="insurer user of an insurer"),
]


def test_valid_programme_passes_the_commit_checks(rollback):
    ids = programme(rollback)
    check_now(rollback)
    total = rollback.execute(text("SELECT sum(share) FROM policy_share WHERE policy_id = :p"),
                             {"p": ids["policy"]}).scalar_one()
    assert total == 1


@pytest.mark.parametrize("write", GOOD_ROWS)
def test_store_accepts_good_row(rollback, ids, write):
    write(rollback, ids)
    check_now(rollback)


@pytest.mark.parametrize("completion", [dt.date(2021, 3, 15), dt.date(2024, 2, 29)])
def test_new_completion_date_redates_basic_cover(rollback, ids, completion):
    rider = (dt.date(2020, 7, 1), dt.date(2022, 6, 30))
    cover(rollback, ids["policy"], "lift", *rider)
    update(rollback, "project", {"id": ids["project"]}, completion_date=completion)
    # a leap-day completion ends on 28 February, as geo.programme.add_years says
    expected = {section: coverage_period(section, completion) for section in BASIC}
    assert cover_dates(rollback, ids["policy"]) == expected | {"lift": rider}
    check_now(rollback)


# --- SQL and Python agree -----------------------------------------------------------------

@pytest.mark.parametrize("code", [
    "91350100M000100Y43", "91350100M000100Y44", "91350100m000100y43", "91350100M000100Y4",
    "530102", "990102", "53010", "",
])
def test_sql_validators_agree_with_python(rollback, code):
    in_sql = rollback.execute(text("SELECT is_uscc(:code), is_gb2260(:code)"),
                              {"code": code}).one()
    assert tuple(in_sql) == (codes.is_uscc(code), codes.is_gb2260(code))


# --- migrations -----------------------------------------------------------------------------

def relation(engine, name: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT CAST(to_regclass(:name) AS text)"),
                            {"name": name}).scalar_one()


def test_migrations_go_down_to_nothing_and_back(make_database):
    engine = make_database()
    store.downgrade(engine, "base")
    assert relation(engine, "project") is None
    assert store.current_revision(engine) is None
    # a function left behind would make the upgrade's CREATE FUNCTION fail
    store.upgrade(engine)
    assert store.current_revision(engine) == store.head_revision()
    with engine.connect() as conn:
        sections = conn.execute(text("SELECT count(*) FROM coverage_section_kind")).scalar_one()
    assert relation(engine, "project") == "project"
    assert sections == len(COVERAGE_SECTIONS)
