"""Claims at the edges of their rules: cover periods and late delivery (Suizhou 四（二）,
四（七）), the insurer's deadlines as the statistics and the breach layer count them, and an
owner filing and following a claim with its number and secret.

The demo's day is 2026-06-30: the public files today, so a period is made to end around today
by moving the project's completion acceptance (the cover is redated from it); the insurer's
steps are dated in the past with their 'on' field.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import text
from test_lifecycles import TODAY, as_web, cast_of, raw_for, savepoint, take

from geo import claims, clock
from geo.lifecycle import LifecycleError
from geo.tenancy import Tenant
from layers import statistics
from layers.districts import city_values
from layers.filters import Filters

CITY = "530100"
DAY = dt.timedelta(days=1)
STRUCTURE = [{"policy_id": 1, "section": "structure", "starts_on": dt.date(2022, 6, 30),
              "ends_on": dt.date(2032, 6, 30), "delivery_date": None, "insurer": "甲保险",
              "hotline": "95500"}]
LATE = [{**STRUCTURE[0], "section": "insulation_waterproofing", "ends_on": dt.date(2027, 6, 30),
         "delivery_date": dt.date(2027, 9, 15)}]


@pytest.fixture(autouse=True)
def on_the_demos_day(monkeypatch):
    """These walks act on the demo's day (its records end there), so the clock is pinned to
    it; test_time.py checks that live actions otherwise take the real day."""
    monkeypatch.setattr(clock, "real_today", lambda: TODAY)



@pytest.mark.parametrize(("reported", "covered", "words"), [
    (dt.date(2032, 6, 29), True, "保险期间内（2022-06-30 至 2032-06-30）"),
    (dt.date(2032, 6, 30), True, "保险期间内"),
    (dt.date(2032, 7, 1), False, "保险期间已于 2032-06-30 届满"),
    (dt.date(2022, 6, 29), False, "竣工验收合格两年之日（2022-06-30）起算"),
    (dt.date(2022, 6, 30), True, "保险期间内"),
])
def test_a_period_decides_on_its_first_and_last_day(reported, covered, words):
    decision = claims.cover_decision(STRUCTURE, "structure", reported)
    assert (decision.covered, decision.policy_id) == (covered, 1)
    assert words in decision.rule


@pytest.mark.parametrize(("reported", "covered", "words"), [
    (dt.date(2028, 3, 15), True, "交房之日起 6 个月内发现缺陷可以索赔"),
    (dt.date(2028, 3, 16), False, "6 个月内（2027-09-15 至 2028-03-15）"),
    # after the period, before the delivery
    (dt.date(2027, 8, 1), False, "期间届满后交房（2027-09-15）"),
])
def test_a_delivery_after_the_period_gives_six_months(reported, covered, words):
    decision = claims.cover_decision(LATE, "insulation_waterproofing", reported)
    assert decision.covered is covered
    assert words in decision.rule


def test_a_section_the_policy_lacks_is_refused_by_name():
    decision = claims.cover_decision(STRUCTURE, "decoration", dt.date(2025, 1, 1))
    assert not decision.covered and "不含“建筑装饰装修工程”" in decision.rule


def completed(conn, project: int, completion: dt.date, delivery: dt.date) -> None:
    """Move the project's completion acceptance (its cover follows) and its delivery."""
    conn.execute(text("UPDATE project SET start_date = :s, completion_date = :c, "
                      "delivery_date = :d WHERE id = :p"),
                 {"s": completion - 700 * DAY, "c": completion, "d": delivery, "p": project})


def public_files(conn, project: int, raw: dict) -> tuple[str, str, claims.CoverDecision]:
    with as_web(conn, Tenant.public()):
        return claims.file_public_claim(conn, project, raw, Tenant.public())


def owner_raw(cast, **extra) -> dict:
    raw = {**raw_for(cast, "claim", "file"), "section": "insulation_waterproofing", **extra}
    del raw["policy_id"], raw["on"]
    return raw


@pytest.mark.parametrize(("completion", "delivery", "words"), [
    # insulation and waterproofing: 5 years from 2 years after completion acceptance
    (dt.date(2019, 7, 1), dt.date(2020, 7, 1), "至 2026-07-01）"),      # ends tomorrow
    (dt.date(2019, 6, 30), dt.date(2020, 7, 1), "至 2026-06-30）"),     # ends today
    (dt.date(2019, 6, 29), dt.date(2020, 7, 1), "保险期间已于 2026-06-29 届满"),
    # delivered after the period (2025-11-15): six months from delivery, to the day
    (dt.date(2018, 11, 15), dt.date(2025, 12, 30), "交房之日起 6 个月内"),
    (dt.date(2018, 11, 15), dt.date(2025, 12, 29), "（2025-12-29 至 2026-06-29）"),
])
def test_an_owner_files_today_inside_the_cover_or_is_told_the_rule(rollback, completion,
                                                                    delivery, words):
    cast = cast_of(rollback)
    completed(rollback, cast.project, completion, delivery)
    covered = "届满" not in words and "（2025-12-29" not in words
    if covered:
        number, _, decision = public_files(rollback, cast.project, owner_raw(cast))
        assert decision.covered and words in decision.rule and number.startswith("CL20260630")
    else:
        with savepoint(rollback), pytest.raises(LifecycleError) as refusal:
            public_files(rollback, cast.project, owner_raw(cast))
        assert str(refusal.value).startswith("不在保险责任范围内：")
        assert words in str(refusal.value)


def test_an_owner_cannot_backdate_a_claim_into_the_cover(rollback):
    cast = cast_of(rollback)
    completed(rollback, cast.project, dt.date(2019, 6, 29), dt.date(2020, 7, 1))
    with pytest.raises(LifecycleError, match="2026-06-29 届满"):
        public_files(rollback, cast.project, owner_raw(cast, on="2025-01-01"))


@pytest.mark.parametrize(("on", "covered"), [("2025-08-14", True), ("2025-08-15", False)])
def test_an_insurer_recording_a_call_is_held_to_the_same_cover(rollback, on, covered):
    cast = cast_of(rollback)
    completed(rollback, cast.project, dt.date(2018, 8, 14), dt.date(2019, 8, 14))
    raw = {"section": "insulation_waterproofing", "on": on}
    if covered:
        done = take(rollback, cast, cast.tenant("insurer"), "claim", None, "file", raw)
        assert done["on"] == on
    else:
        with pytest.raises(LifecycleError, match="保险期间已于 2025-08-14 届满"):
            take(rollback, cast, cast.tenant("insurer"), "claim", None, "file", raw)


def quiet_day(conn) -> dt.date:
    """A day in spring 2026 on which the demo reported no claim (so its figures are ours)."""
    return conn.execute(text("""
        SELECT d::date FROM generate_series(DATE '2026-03-01', DATE '2026-05-20', '1 day') d
        WHERE NOT EXISTS (SELECT 1 FROM claim WHERE reported_on = d::date)
        ORDER BY d LIMIT 1""")).scalar_one()


def walk_claim(conn, cast, filed: dt.date, steps: list[tuple[str, int, dict]]) -> dict:
    """An insurer's claim filed on ``filed`` and taken through ``steps`` (step, days after
    filing, values); the claim's row."""
    lead = cast.tenant("insurer")
    claim = take(conn, cast, lead, "claim", None, "file", {"on": filed.isoformat()})["id"]
    for step, days, raw in steps:
        take(conn, cast, lead, "claim", claim, step, {"on": (filed + days * DAY).isoformat(),
                                                      **raw})
    return dict(conn.execute(text("SELECT * FROM claim WHERE id = :id"), {"id": claim}).one()
                ._mapping)


def counted(conn, day: dt.date) -> tuple[float, float | None, int]:
    """Deadline breaches and the on-time rate of the claims reported on ``day``, as the
    statistics show them, and the breaches as the district layers count them."""
    filters = Filters(date_from=day, date_to=day)
    shown = statistics.section_statistics(conn, statistics.CLAIMS, CITY, filters)
    figures = {i["id"]: i["value"] for i in shown["indicators"]}
    return (figures["deadline_breaches"], figures["on_time_rate"],
            city_values(conn, CITY, filters)["deadline_breaches"])


def late_steps(claim: dict) -> dict:
    return {d["name"]: d["late"] for d in claims.claim_deadlines(claim, TODAY)}


@pytest.mark.parametrize(("survey_day", "late"), [(2, False), (3, True)])
def test_a_survey_on_day_two_is_on_time_and_on_day_three_late(rollback, survey_day, late):
    cast = cast_of(rollback)
    filed = quiet_day(rollback)
    claim = walk_claim(rollback, cast, filed, [
        ("survey", survey_day, {}), ("accept", 4, {}), ("agree", 5, {}),
        ("settle", 6, {"paid_amount_yuan": "5000"})])
    assert late_steps(claim) == {"查勘": late, "核定": False, "履行": False}
    on_time = 100 * 2 / 3 if late else 100.0
    assert counted(rollback, filed) == (int(late), pytest.approx(on_time), int(late))


@pytest.mark.parametrize(("complex_", "decision_day", "late"), [
    (True, 30, False), (True, 31, True), (False, 7, False), (False, 8, True)])
def test_a_complex_decision_has_thirty_days_a_plain_one_seven(rollback, complex_,
                                                              decision_day, late):
    cast = cast_of(rollback)
    filed = quiet_day(rollback)
    claim = walk_claim(rollback, cast, filed, [
        ("survey", 1, {"is_complex": "on" if complex_ else ""}),
        ("reject", decision_day, {"exclusion": "third_party", "reason": "邻近工地施工造成"}),
        ("notify_refusal", decision_day + 1, {})])
    assert late_steps(claim) == {"查勘": False, "核定": late}
    assert counted(rollback, filed)[0] == counted(rollback, filed)[2] == int(late)


def test_a_survey_not_made_by_day_three_is_late_everywhere(rollback):
    cast = cast_of(rollback)
    filed = TODAY - 3 * DAY
    with savepoint(rollback):
        claim = walk_claim(rollback, cast, TODAY - 2 * DAY, [])
        assert late_steps(claim)["查勘"] is None                # still in time
    # the demo is current, so that day may hold claims of its own: count the difference
    before = counted(rollback, filed)
    claim = walk_claim(rollback, cast, filed, [])
    assert late_steps(claim)["查勘"] is True
    after = counted(rollback, filed)
    assert after[0] - before[0] == after[2] - before[2] == 1


def test_an_owner_follows_a_claim_with_its_number_and_secret(rollback):
    cast = cast_of(rollback)
    number, secret, decision = public_files(rollback, cast.project, owner_raw(
        cast, section="structure"))
    assert decision.covered and re.fullmatch(r"CL20260630\d{6}", number)
    kept = rollback.execute(text("SELECT id, secret_hash FROM claim WHERE claim_no = :n"),
                            {"n": number}).one()
    assert re.fullmatch(r"[0-9a-f]{64}", kept.secret_hash) and secret not in kept.secret_hash
    assert kept.secret_hash == claims.secret_hash(secret) != secret
    take(rollback, cast, cast.tenant("insurer"), "claim", kept.id, "survey")
    with as_web(rollback, Tenant.public()):
        seen = claims.follow_claim(rollback, number, secret)
        assert claims.follow_claim(rollback, number, secret + "x") is None
        assert claims.follow_claim(rollback, number, "") is None
        assert claims.follow_claim(rollback, "CL20260630000000", secret) is None
        assert rollback.execute(text("SELECT count(*) FROM claim")).scalar_one() == 0
    assert (seen["claim_no"], seen["status"], seen["status_zh"]) == (number, "surveyed", "已查勘")
    assert [(s["step"], s["to_state"], s["on_date"]) for s in seen["steps"]] == [
        ("file", "reported", TODAY), ("survey", "surveyed", TODAY)]
    assert [(d["name"], d["due"], d["late"]) for d in seen["deadlines"]] == [
        ("查勘", TODAY + 2 * DAY, False), ("核定", TODAY + 7 * DAY, None)]
