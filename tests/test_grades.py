"""Project quality grades (issue 9): the rule at its edges, a hand-worked example, the history
a change writes, the TIS's own grade beside the platform's, and the district ranking."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import importing
import pytest
from sqlalchemy import text

from conftest import as_web
from geo import grades, workflow
from geo.tenancy import Tenant
from layers.districts import district_summary
from layers.filters import Filters
from loaders import demo, demo_load, districts
from loaders.imports.risk_events import COLUMNS


def _inputs(weighted: float, severe: int = 0, share: float | None = 1.0) -> dict:
    return {"weighted_per_10k_m2": weighted, "open_severe": severe, "on_time_share": share}


@pytest.mark.parametrize(("weighted", "severe", "share", "grade"), [
    (0, 0, None, "A"), (2, 0, 0.90, "A"),                          # A's edges, held
    (2.001, 0, 1.0, "B"), (2, 0, 0.8999, "B"), (2, 1, 1.0, "C"),  # ... and each crossed
    (5, 0, 0.75, "B"),
    (5.001, 0, 1.0, "C"), (5, 0, 0.7499, "C"), (0, 1, 1.0, "C"),
    (10, 1, 0.50, "C"),
    (10.001, 0, 1.0, "D"), (0, 2, 1.0, "D"), (0, 0, 0.4999, "D"),
])
def test_the_rule_at_each_threshold(weighted, severe, share, grade):
    assert grades.grade_of(_inputs(weighted, severe, share))[0] == grade


def test_a_project_is_graded_only_once_inspected():
    row = SimpleNamespace(area_m2=10_000.0, inspections=0, minor=0, major=0, severe=0,
                          open_severe=0, closed=0, closed_on_time=0)
    assert grades.inputs_of(row) is None
    inspected = grades.inputs_of(SimpleNamespace(**{**vars(row), "inspections": 1}))
    assert grades.grade_of(inspected) == ("A", 0.0)


PROJECT_SQL = """
SELECT p.id, po.tis_id FROM project p JOIN policy po ON po.project_id = p.id
WHERE po.status = 'confirmed' AND po.tis_id IS NOT NULL
  AND (SELECT count(*) FROM policy x WHERE x.project_id = p.id) = 1
ORDER BY p.id LIMIT 1"""


def _clean_project(conn) -> tuple[int, int]:
    """An insured project with no events or inspections, 25,000 m², inspected once by its TIS."""
    pid, tis = conn.execute(text(PROJECT_SQL)).one()
    conn.execute(text("DELETE FROM risk_event WHERE project_id = :p"), {"p": pid})
    conn.execute(text("DELETE FROM inspection WHERE project_id = :p"), {"p": pid})
    conn.execute(text("DELETE FROM project_grade WHERE project_id = :p"), {"p": pid})
    conn.execute(text("UPDATE project SET gross_floor_area_m2 = 25000 WHERE id = :p"), {"p": pid})
    conn.execute(text("""INSERT INTO inspection (project_id, tis_id, stage, inspected_on)
        VALUES (:p, :t, 'main_structure', '2025-03-01')"""), {"p": pid, "t": tis})
    return pid, tis


def _event(conn, pid: int, n: int, severity: str, due: str | None, closed: str | None,
           found: str = "2025-03-01") -> int:
    return conn.execute(text("""INSERT INTO risk_event (event_no, project_id, category, severity,
        status, found_on, due_on, closed_on)
        VALUES (:no, :p, (SELECT min(code) FROM risk_category), :s, :st, :f, :d, :c)
        RETURNING id"""),
        {"no": f"TEST-G-{pid}-{n}", "p": pid, "s": severity,
         "st": "closed" if closed else "rectifying", "f": found, "d": due, "c": closed}
    ).scalar_one()


def test_a_hand_worked_example(rollback):
    """A 25,000 m² project, inspected, with five risk events:

    ====  ========  ==========  ==========  ========================
    #     severity  due         closed      counts as
    ====  ========  ==========  ==========  ========================
    1     minor     2025-04-01  2025-03-20  closed, on time
    2     minor     —           2025-05-01  closed, on time (no due)
    3     minor     2025-04-01  2025-04-10  closed, late
    4     major     2025-06-01  open        open (not severe)
    5     severe    2025-04-15  2025-04-15  closed, on time (the due day itself)
    ====  ========  ==========  ==========  ========================

    weighted = 3 × 1 + 1 × 3 + 1 × 9 = 15, per 10,000 m²: 15 × 10,000 ÷ 25,000 = 6.0;
    open severe = 0; on time = 3 of 4 closed = 75 %.
    A needs ≤ 2 and B ≤ 5 per 10,000 m²: 6.0 fails both; C: 6.0 ≤ 10, 0 ≤ 1, 75 % ≥ 50 %
    → **C**. Score = 6.0 + 10 × 0 + 10 × (1 − 0.75) = 8.5.
    """
    pid, _ = _clean_project(rollback)
    for n, (severity, due, closed) in enumerate([
            ("minor", "2025-04-01", "2025-03-20"), ("minor", None, "2025-05-01"),
            ("minor", "2025-04-01", "2025-04-10"), ("major", "2025-06-01", None),
            ("severe", "2025-04-15", "2025-04-15")]):
        _event(rollback, pid, n, severity, due, closed)
    assert grades.recompute(rollback, [pid]) == 1
    (current,) = grades.history(rollback, pid)
    assert (current["grade"], current["score"]) == ("C", 8.5)
    assert current["inputs"] == {
        "area_m2": 25000.0, "inspections": 1, "events": {"minor": 3, "major": 1, "severe": 1},
        "weighted": 15, "weighted_per_10k_m2": 6.0, "open_severe": 0, "closed": 4,
        "closed_on_time": 3, "on_time_share": 0.75}
    assert grades.recompute(rollback, [pid]) == 0  # nothing changed: no new history row




def test_closing_the_open_severe_event_changes_the_grade_and_its_history(rollback):
    pid, tis = _clean_project(rollback)
    _event(rollback, pid, 0, "minor", "2025-04-01", "2025-03-20")
    grades.recompute(rollback, [pid])          # 1 ÷ 2.5 = 0.4 per 10,000 m², all on time: A
    day = workflow.today(rollback)
    severe = _event(rollback, pid, 1, "severe", (day + dt.timedelta(days=15)).isoformat(), None,
                    found=(day - dt.timedelta(days=10)).isoformat())
    grades.recompute(rollback, [pid])          # (1 + 9) ÷ 2.5 = 4.0, one open severe: C
    with as_web(rollback, Tenant("tis", tis, "t-tis")):
        done = workflow.advance(rollback, Tenant("tis", tis, "t-tis"), "risk_event", severe,
                                "close", {})
        shown = grades.history(rollback, pid)  # what the TIS itself may read
    assert done["to"] == "closed"
    assert [h["grade"] for h in shown] == ["B", "C", "A"]  # newest first: 4.0, none open: B
    assert shown[0]["inputs"]["open_severe"] == 0 and shown[1]["inputs"]["open_severe"] == 1
    assert shown[0]["score"] == 4.0


@pytest.fixture(scope="module")
def small(make_database):
    """A store of its own (30 demo projects): these tests write through the web."""
    engine = make_database()
    with engine.begin() as conn:
        districts.load_districts(conn, districts.district_records(city="530100"))
        demo_load.run_demo(conn, demo.DemoOptions(city="530100", projects=30))
    return engine


def test_the_demo_grades_every_inspected_project_once(small):
    with small.connect() as conn:
        inspected = set(conn.execute(text(
            "SELECT project_id FROM inspection UNION SELECT project_id FROM risk_event")).scalars())
        rows = conn.execute(text("SELECT project_id, grade FROM project_grade")).all()
        assert grades.recompute(conn) == 0  # graded already, nothing changed since
    assert sorted(p for p, _ in rows) == sorted(inspected) and inspected
    assert len({g for _, g in rows}) >= 2


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


def test_a_tis_records_its_own_grade_shown_beside_the_platforms(small, client_for):
    with small.connect() as conn:
        pid, tis = conn.execute(text(PROJECT_SQL)).one()
        developer_id = conn.execute(text("SELECT developer_id FROM project WHERE id = :p"),
                                    {"p": pid}).scalar_one()
        other = conn.execute(text("SELECT min(id) FROM organisation WHERE kind = 'tis' "
                                  "AND id <> :t"), {"t": tis}).scalar_one()
        platform = grades.history(conn, pid)
    client = client_for(small, "tis", tis)
    page = client.get(f"/projects/{pid}").get_data(as_text=True)
    assert 'class="tis-grade-form"' in page and "未评级" in page
    url = f"/projects/{pid}/tis-grade"
    answer = client.post(url, data={"csrf_token": _token(page), "grade": "B",
                                    "reason": "主体结构实测实量合格率高"})
    assert answer.status_code == 303
    empty = client.post(url, data={"csrf_token": _token(page), "grade": "B", "reason": " "})
    assert empty.status_code == 303
    page = client.get(f"/projects/{pid}").get_data(as_text=True)
    tis_cell = re.search(r'<td id="tis-grade">(.*?)</td>', page, re.S)[1]
    assert "<strong>B</strong>" in tis_cell and "主体结构实测实量合格率高" in tis_cell
    assert "须填写评级理由" in page
    platform_cell = re.search(r'<td id="platform-grade">(.*?)</td>', page, re.S)[1]
    if platform:
        assert f"<strong>{platform[0]['grade']}</strong>" in platform_cell
        assert page.count("<tr><td>") >= len(platform)  # the history, one row each
    stranger = client_for(small, "tis", other)  # another TIS: the project is not found
    assert stranger.post(url, data={"csrf_token": _map_token(stranger), "grade": "D",
                                    "reason": "x"}).status_code == 404
    developer = client_for(small, "developer", developer_id)  # sees it, may not grade it
    assert developer.post(url, data={"csrf_token": _map_token(developer), "grade": "D",
                                     "reason": "x"}).status_code == 403
    with small.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tis_grade WHERE project_id = :p"),
                            {"p": pid}).scalar_one() == 1


def _map_token(client) -> str:
    return re.search(r'"csrf_token": "([^"]+)"', client.get("/").get_data(as_text=True))[1]


def test_a_regulator_may_not_record_a_tis_grade(small):
    with small.connect() as conn:
        pid, _ = conn.execute(text(PROJECT_SQL)).one()
        with pytest.raises(grades.GradeError) as refused:
            grades.record_tis_grade(conn, Tenant("regulator"), pid, "A", "x", dt.date.today())
    assert refused.value.status == 403


def test_the_district_summary_ranks_projects_by_grade_d_first(rollback):
    code = "530102"
    rollback.execute(text("DELETE FROM project_grade WHERE project_id IN "
                          "(SELECT id FROM project WHERE district_code = :c)"), {"c": code})
    ranked = [p["id"] for p in district_summary(rollback, code, "530100", Filters())[
        "top_projects"]]
    riskiest, calm = ranked[0], ranked[-1]  # by open risk alone, nobody graded
    for pid, grade in ((riskiest, "A"), (calm, "D"), (ranked[1], "C")):
        rollback.execute(text("INSERT INTO project_grade (project_id, grade, score, inputs) "
                              "VALUES (:p, :g, 0, '{}')"), {"p": pid, "g": grade})
    top = district_summary(rollback, code, "530100", Filters())["top_projects"]
    assert [(p["id"], p["grade"]) for p in top[:3]] == [(calm, "D"), (ranked[1], "C"),
                                                        (riskiest, "A")]
    assert {p["grade"] for p in top[3:]} == {None}  # the ungraded last, by open risk
    assert [p["id"] for p in top[3:]] == ranked[2:-1]


def test_the_project_api_carries_both_grades_and_the_history(client, kunming):
    with kunming.connect() as conn:
        pid = conn.execute(text("SELECT min(project_id) FROM project_grade")).scalar_one()
        latest = grades.history(conn, pid)[0]
    detail = client.get(f"/api/projects/{pid}").get_json()
    assert (detail["grade"], detail["grade_score"]) == (latest["grade"], latest["score"])
    assert detail["grade_history"][0]["inputs"] == latest["inputs"]
    assert detail["tis_grades"] == [] and detail["tis_ids"]


def test_an_imported_risk_event_regrades_its_project(small, tmp_path):
    with small.connect() as conn:
        pid, permit, tis = conn.execute(text("""SELECT p.id, p.permit_no, o.name FROM project p
            JOIN policy po ON po.project_id = p.id JOIN organisation o ON o.id = po.tis_id
            ORDER BY p.id LIMIT 1""")).one()
        before = grades.history(conn, pid)
    row = {"风险事件编号": "T-GRADE-1", "报建号": permit, "风险类别": "防水", "风险等级": "严重",
           "整改状态": "整改中", "问题描述": "地下室渗漏", "部位": "地下一层",
           "发现日期": "2026-06-01", "整改期限": "2026-07-01", "销项日期": "",
           "风险管理机构": tis, "检查阶段": "主体结构施工"}
    path = importing.write_csv(tmp_path / "events.csv", [c.template_header for c in COLUMNS],
                               [row], encoding="utf-8")
    result = importing.run_import(small, "risk-events", path)
    assert result.errors == [] and result.inserted == 1
    with small.connect() as conn:
        after = grades.history(conn, pid)
    assert len(after) == len(before) + 1
    opened = after[0]["inputs"]["open_severe"]
    assert opened == (before[0]["inputs"]["open_severe"] if before else 0) + 1
    assert after[0]["grade"] in ("C", "D")
