"""The demo as a visitor meets it: run on the real day, every role's task list holds current
work (days, not years, overdue), an insurer has claims to work, grades spread, owners' ratings
and complaints exist, and the README's search example finds something."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from conftest import as_web
from geo import clock, tasks
from geo.tenancy import Tenant
from layers import search
from layers.filters import Filters
from webmap import create_app
from webmap.cli import main

ROLES_WITH_TASKS = ("regulator", "insurer", "tis", "contractor")
MAX_OVERDUE_DAYS = 90


@pytest.fixture(scope="module")
def demo(make_database):
    """The demo made by `riskmap demo` (as of its default day: today), with its accounts."""
    engine = make_database()
    app = create_app({"TESTING": True, "DATABASE_URL": engine.url.render_as_string(
        hide_password=False)})
    result = app.test_cli_runner().invoke(main, ["demo", "--city", "530100"])
    assert result.exit_code == 0, result.output
    assert f"as of {clock.real_today()}" in result.output
    return engine


def tenant_of(conn, role: str) -> Tenant:
    org = conn.execute(text("SELECT organisation_id FROM app_user WHERE username = :u"),
                       {"u": f"demo-{role}"}).scalar()
    return Tenant(role, org)


def test_every_roles_task_list_holds_current_work(demo):
    today = clock.real_today()
    with demo.begin() as conn:
        for role in ROLES_WITH_TASKS:
            tenant = tenant_of(conn, role)
            with as_web(conn, tenant):
                listed = tasks.tasks(conn, tenant, today)
            assert listed, f"demo-{role} has nothing to do"
            assert any(t["state"] in ("due_soon", "open") for t in listed), role
            worst = min((t["days_left"] for t in listed if t["days_left"] is not None),
                        default=0)
            assert worst >= -MAX_OVERDUE_DAYS, (role, worst)


def test_the_demo_insurer_has_claims_to_survey_or_decide(demo):
    with demo.connect() as conn:
        insurer = tenant_of(conn, "insurer").organisation_id
        waiting = conn.execute(text("""
            SELECT count(*) FROM claim c JOIN policy po ON po.id = c.policy_id
            WHERE po.lead_insurer_id = :i AND c.status IN ('reported', 'surveyed')"""),
            {"i": insurer}).scalar_one()
        reported = conn.execute(text("SELECT max(reported_on) FROM claim")).scalar_one()
    assert waiting >= 1
    assert (clock.real_today() - reported).days <= 7  # the history runs up to today


def test_grades_spread_ratings_and_complaints_exist_and_the_search_example_finds(demo):
    with demo.connect() as conn:
        grades = dict(conn.execute(text("""
            SELECT grade, count(*) FROM (SELECT DISTINCT ON (project_id) grade
            FROM project_grade ORDER BY project_id, id DESC) g GROUP BY 1""")).all())
        ratings = conn.execute(text("SELECT count(*), avg(score) FROM service_rating")).one()
        rated_tis = conn.execute(text(
            "SELECT count(*) FROM risk_management WHERE tis_rating IS NOT NULL")).scalar_one()
        complaints = dict(conn.execute(text(
            "SELECT status, count(*) FROM complaint GROUP BY 1")).all())
    graded = sum(grades.values())
    assert set(grades) == {"A", "B", "C", "D"}
    assert (grades["C"] + grades["D"]) / graded < 0.5
    assert ratings[0] >= 20 and 3 <= float(ratings[1]) <= 4.6 and rated_tis >= 10
    assert complaints.get("received", 0) + complaints.get("handling", 0) >= 1
    assert complaints.get("closed", 0) >= 1
    with demo.begin() as conn:
        with as_web(conn, Tenant("regulator")):
            found = search.search(conn, "滇池", Filters())
    assert found, "the README's example /search?q=滇池 finds nothing"
