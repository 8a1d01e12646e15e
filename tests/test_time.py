"""Time: a live action happens on the real day in Beijing, whatever day a data set's figures
are pinned to; every stored moment is shown in Beijing time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import text
from test_claim_rules import owner_raw, public_files
from test_lifecycles import cast_of

from conftest import sign_in
from geo import claims, clock, tasks

BEIJING = ZoneInfo("Asia/Shanghai")


def test_a_claim_filed_today_carries_todays_date_in_beijing_not_the_demos_day(rollback):
    pinned = rollback.execute(text("SELECT as_of FROM data_version")).scalar_one()
    today = dt.datetime.now(BEIJING).date()
    assert pinned is not None and pinned != today  # the demo pins its figures' day
    cast = cast_of(rollback)
    number, _, decision = public_files(rollback, cast.project, owner_raw(
        cast, section="structure"))
    assert decision.covered
    assert number.startswith("CL" + today.strftime("%Y%m%d"))
    claim = rollback.execute(text("SELECT * FROM claim WHERE claim_no = :n"),
                             {"n": number}).one()._mapping
    assert claim["reported_on"] == today
    step = rollback.execute(text("SELECT on_date FROM lifecycle_step WHERE lifecycle = 'claim' "
                                 "AND entity_id = :id"), {"id": claim["id"]}).scalar_one()
    assert step == today
    deadlines = {d["name"]: d["due"] for d in claims.claim_deadlines(dict(claim), today)}
    assert deadlines["查勘"] == today + dt.timedelta(days=2)


def test_moments_are_shown_in_beijing_time():
    utc = dt.datetime(2026, 12, 3, 7, 19, 38, tzinfo=dt.timezone.utc)
    assert clock.beijing(utc) == "2026-12-03 15:19"
    assert tasks.shown(utc) == "2026-12-03 15:19"
    late = dt.datetime(2026, 12, 3, 17, 30, tzinfo=dt.timezone.utc)  # already the 4th there
    assert clock.beijing(late, seconds=True) == "2026-12-04 01:30:00"


def test_the_audit_log_and_a_projects_grades_print_beijing_time(app, kunming, client):
    with kunming.connect() as conn:
        project, computed = conn.execute(text(
            "SELECT project_id, computed_at FROM project_grade ORDER BY id LIMIT 1")).one()
    body = client.get(f"/projects/{project}").get_data(as_text=True)
    assert clock.beijing(computed) in body and "+00:00" not in body
    admin = sign_in(app.test_client(), kunming, "admin")
    with kunming.connect() as conn:  # the sign-in, written before the page is asked for
        latest = conn.execute(text("SELECT max(at) FROM audit_log")).scalar_one()
    body = admin.get("/admin/audit").get_data(as_text=True)
    assert clock.beijing(latest, seconds=True) in body
