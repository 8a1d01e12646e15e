"""Each role's task list at its deadlines' edges, and the return visits the platform opens on
its own before the 2-year mark after completion acceptance (issue 8)."""

from __future__ import annotations

import datetime as dt

import pytest
from importing import demo_store
from sqlalchemy import text

from geo import programme, store
from geo.tasks import open_due_return_visits, return_visit_opens, tasks
from geo.tenancy import Tenant
from webmap import create_app
from webmap.cli import main

DAY = dt.date(2025, 3, 10)
LEAD = 60


@pytest.fixture(scope="module")
def engine(make_database):
    return demo_store(make_database, projects=30)


@pytest.fixture(scope="module")
def policy(engine) -> dict:
    """A confirmed policy of a completed project, with its lead insurer, TIS and contractor."""
    with engine.connect() as conn:
        row = conn.execute(text("""
            SELECT po.id, po.project_id, po.lead_insurer_id AS insurer, po.tis_id AS tis,
                   p.contractor_id AS contractor, p.completion_date AS completion
            FROM policy po JOIN project p ON p.id = po.project_id
            WHERE po.status = 'confirmed' AND p.completion_date IS NOT NULL
              AND po.tis_id IS NOT NULL AND p.contractor_id IS NOT NULL
            ORDER BY po.id LIMIT 1""")).one()
    return dict(row._mapping)


def _claim(conn, policy: dict, number: str, status: str, **dates) -> int:
    columns = {"claim_no": number, "policy_id": policy["id"], "unit_no": "1-101",
               "reporter_name": "业主", "section": "structure", "status": status,
               "reported_on": DAY, **dates}
    names = ", ".join(columns)
    return conn.execute(text(f"INSERT INTO claim ({names}) VALUES "  # noqa: S608
                             f"({', '.join(':' + c for c in columns)}) RETURNING id"),
                        columns).scalar_one()


@pytest.fixture(scope="module")
def claims(engine, policy) -> dict[str, int]:
    """Claims reported on DAY waiting for each of the insurer's steps."""
    with engine.begin() as conn:
        return {
            "survey": _claim(conn, policy, "T-SURVEY", "reported"),
            "complex": _claim(conn, policy, "T-COMPLEX", "surveyed", surveyed_on=DAY,
                              is_complex=True),
            "settle": _claim(conn, policy, "T-SETTLE", "agreed", surveyed_on=DAY, decided_on=DAY,
                             decision="accepted", agreed_on=DAY),
            "notice": _claim(conn, policy, "T-NOTICE", "rejected", surveyed_on=DAY,
                             decided_on=DAY, decision="rejected", decision_reason="使用不当",
                             exclusion="owner_fault"),
        }


def _find(found: list[dict], lifecycle: str, record: int) -> dict | None:
    hits = [t for t in found if t["lifecycle"] == lifecycle and t["id"] == record]
    assert len(hits) <= 1
    return hits[0] if hits else None


def _on(engine, tenant: Tenant, day: dt.date) -> list[dict]:
    with engine.connect() as conn:
        return tasks(conn, tenant, day)


def days(n: int) -> dt.date:
    return DAY + dt.timedelta(days=n)


@pytest.mark.parametrize(("claim", "due_in", "what"), [
    ("survey", programme.SURVEY_DAYS, "现场查勘"), ("complex", 30, "作出核定"),
    ("settle", programme.SETTLEMENT_DAYS, "完成维修或赔付"),
    ("notice", programme.REFUSAL_NOTICE_DAYS, "不予赔偿通知书")])
def test_the_lead_insurer_sees_each_claim_step_due_soon_then_late(engine, policy, claims, claim,
                                                                  due_in, what):
    insurer = Tenant("insurer", policy["insurer"])
    before = _find(_on(engine, insurer, days(due_in - 4)), "claim", claims[claim])
    assert before["state"] == "open" and before["days_left"] == 4
    edge = _find(_on(engine, insurer, days(due_in - 3)), "claim", claims[claim])
    assert edge["state"] == "due_soon" and edge["days_left"] == 3
    last = _find(_on(engine, insurer, days(due_in)), "claim", claims[claim])
    assert last["state"] == "due_soon" and last["days_left"] == 0 and last["due"] == days(due_in)
    late = _find(_on(engine, insurer, days(due_in + 1)), "claim", claims[claim])
    assert late["state"] == "late" and late["days_left"] == -1
    assert what in late["what"] and late["link"] == {"lifecycle": "claim", "id": claims[claim]}


def test_a_claim_task_belongs_to_the_lead_insurer_only(engine, policy, claims):
    with engine.connect() as conn:
        other = conn.execute(text("SELECT id FROM organisation WHERE kind = 'insurer' "
                                  "AND id <> :i ORDER BY id LIMIT 1"),
                             {"i": policy["insurer"]}).scalar_one()
    found = _on(engine, Tenant("insurer", other), days(3))
    assert not {t["id"] for t in found if t["lifecycle"] == "claim"} & set(claims.values())
    assert _on(engine, Tenant("developer", 1), days(3)) == []


def test_the_regulator_sees_confirmations_and_late_insurer_steps_city_wide(engine, policy,
                                                                           claims):
    with engine.begin() as conn:
        conn.execute(text("UPDATE policy SET status = 'submitted' WHERE id = :id"),
                     {"id": policy["id"]})
        issued = conn.execute(text("SELECT issue_date FROM policy WHERE id = :id"),
                              {"id": policy["id"]}).scalar_one()
    try:
        due = issued + dt.timedelta(days=5)
        found = _on(engine, Tenant("regulator"), due)
        confirm = _find(found, "policy", policy["id"])
        assert confirm["state"] == "due_soon" and "确认承保" in confirm["what"]
        late = _on(engine, Tenant("regulator"), days(3))
        assert _find(late, "claim", claims["survey"])["state"] == "late"
        assert _find(late, "claim", claims["settle"]) is None  # not late yet: not the city's
        assert _find(late, "claim", claims["survey"])["whom"]  # the insurer's name
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE policy SET status = 'confirmed' WHERE id = :id"),
                         {"id": policy["id"]})


@pytest.fixture()
def event(engine, policy):
    with engine.begin() as conn:
        event_id = conn.execute(text("""
            INSERT INTO risk_event (event_no, project_id, category, severity, status,
                                    found_on, due_on)
            VALUES ('T-EVENT', :p, 'waterproofing', 'major', 'rectifying', :found, :due)
            RETURNING id"""), {"p": policy["project_id"], "found": DAY, "due": days(10)}
        ).scalar_one()
    yield event_id
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM risk_event WHERE id = :id"), {"id": event_id})


def test_a_rectification_is_the_contractors_until_its_evidence_then_the_tis_closes(
        engine, policy, event):
    contractor = Tenant("contractor", policy["contractor"])
    tis = Tenant("tis", policy["tis"])
    mine = _find(_on(engine, contractor, days(7)), "risk_event", event)
    assert mine["step"] == "submit_evidence" and mine["days_left"] == 3
    assert mine["state"] == "due_soon"
    assert _find(_on(engine, tis, days(11)), "risk_event", event)["state"] == "late"
    with engine.begin() as conn:
        conn.execute(text("UPDATE risk_event SET evidence_submitted_on = :d WHERE id = :id"),
                     {"d": days(5), "id": event})
    assert _find(_on(engine, contractor, days(7)), "risk_event", event) is None
    assert _find(_on(engine, tis, days(7)), "risk_event", event)["step"] == "close"


@pytest.fixture()
def approved_final(engine, policy):
    """The project's risk management (the demo made it), its final report approved."""
    with engine.begin() as conn:
        plan, status = conn.execute(text("SELECT id, status FROM risk_management "
                                         "WHERE project_id = :p"),
                                    {"p": policy["project_id"]}).one()
        conn.execute(text("UPDATE risk_management SET status = 'final_approved', tis_id = :t "
                          "WHERE id = :id"), {"id": plan, "t": policy["tis"]})
        as_of = conn.execute(text("SELECT as_of FROM data_version")).scalar_one()
    yield plan
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM lifecycle_step WHERE lifecycle = 'risk_management' "
                          "AND entity_id = :id"), {"id": plan})
        conn.execute(text("UPDATE risk_management SET status = :s WHERE id = :id"),
                     {"id": plan, "s": status})
        store.set_as_of(conn, as_of)


def _open_on(engine, day: dt.date) -> list[int]:
    with engine.begin() as conn:
        store.set_as_of(conn, day)
        return open_due_return_visits(conn, day, LEAD)


def test_the_return_visit_opens_lead_days_before_the_two_year_mark_not_before(
        engine, policy, approved_final):
    mark = programme.add_years(policy["completion"], programme.LIABILITY_START_YEARS)
    opens = return_visit_opens(policy["completion"], LEAD)
    assert opens == mark - dt.timedelta(days=LEAD)
    tis = Tenant("tis", policy["tis"])
    assert approved_final not in _open_on(engine, opens - dt.timedelta(days=1))
    assert _find(_on(engine, tis, opens - dt.timedelta(days=1)), "risk_management",
                 approved_final) is None
    assert approved_final in _open_on(engine, opens)
    task = _find(_on(engine, tis, opens), "risk_management", approved_final)
    assert task["step"] == "return_visit_due" and "回访" in task["what"]
    assert task["due"] == mark and task["days_left"] == LEAD and task["state"] == "open"
    assert _find(_on(engine, tis, mark), "risk_management", approved_final)["state"] == "due_soon"
    assert _find(_on(engine, tis, mark + dt.timedelta(days=1)), "risk_management",
                 approved_final)["state"] == "late"
    assert approved_final not in _open_on(engine, mark)  # opened once
    with engine.connect() as conn:
        step = conn.execute(text("""SELECT step, role, actor, on_date, user_id
            FROM lifecycle_step WHERE lifecycle = 'risk_management' AND entity_id = :id"""),
                            {"id": approved_final}).one()
    assert tuple(step) == ("open_return_visit", "system", "system", opens, None)


def test_riskmap_tasks_opens_the_due_return_visits_and_prints_the_tasks(
        engine, policy, approved_final):
    app = create_app({"TESTING": True, "DATABASE_URL": engine.url.render_as_string(
        hide_password=False), "RETURN_VISIT_LEAD_DAYS": LEAD})
    with engine.begin() as conn:
        store.set_as_of(conn, return_visit_opens(policy["completion"], LEAD))
    result = app.test_cli_runner().invoke(main, ["tasks"])
    assert result.exit_code == 0, result.output
    assert "return visits opened:" in result.output and "逾期" in result.output
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM risk_management WHERE id = :id"),
                            {"id": approved_final}).scalar_one() == "return_visit_due"


def test_the_insurer_reviews_a_plan_within_seven_days_of_its_submission(engine, policy,
                                                                        approved_final):
    with engine.begin() as conn:
        conn.execute(text("UPDATE risk_management SET status = 'plan_submitted' WHERE id = :id"),
                     {"id": approved_final})
        report = conn.execute(text("""INSERT INTO report (project_id, tis_id, kind, submitted_on)
            VALUES (:p, :t, 'initial', :d) RETURNING id"""),
            {"p": policy["project_id"], "t": policy["tis"], "d": days(400)}).scalar_one()
    try:
        insurer = Tenant("insurer", policy["insurer"])
        task = _find(_on(engine, insurer, days(407)), "risk_management", approved_final)
        assert task["step"] == "approve_plan" and task["due"] == days(407)
        assert task["state"] == "due_soon" and "审核风险交底" in task["what"]
        assert _find(_on(engine, insurer, days(408)), "risk_management",
                     approved_final)["state"] == "late"
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM report WHERE id = :id"), {"id": report})
