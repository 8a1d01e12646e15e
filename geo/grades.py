"""A project's quality grade (A–D): one transparent rule over its inspections and risk events.

Inputs, per project (all of its risk events, whatever their date):

* **weighted events per 10,000 m²** — each risk event weighted by its severity
  (`programme.SEVERITY_WEIGHTS`: minor 1, major 3, severe 9), summed, ÷ gross floor area × 10,000;
* **open severe events** — severe events not yet closed (销项);
* **on-time share** — of the closed events, those closed on or before their due date
  (``closed_on <= due_on``; an event without a due date counts as on time). With no closed
  event yet, nothing has been late: the share counts as 100 %.

The rule (the first grade whose three conditions all hold):

=====  ===========================  ================  ==============
grade  weighted per 10,000 m²        open severe       on-time share
=====  ===========================  ================  ==============
A      ≤ 2                           0                 ≥ 90 %
B      ≤ 5                           0                 ≥ 75 %
C      ≤ 10                          ≤ 1               ≥ 50 %
D      otherwise
=====  ===========================  ================  ==============

Why these numbers: one severe event weighs as much as nine minor ones, so on a typical
20,000 m² block A allows four minor events (or one major one) and no severe one at all; B
allows a closed severe event on a large block but never an open one; C tolerates a single
open severe event — a finding being worked on — but two open at once, more than ten weighted
events per 10,000 m², or half the rectifications late is D, the projects a regulator visits.

A project is graded only once inspected (an inspection or a risk event recorded): with
nothing looked at yet, an A would claim a quality nobody has checked, so it has no grade.

The score orders projects within a grade (lower is better): weighted per 10,000 m²
+ 10 × open severe + 10 × (1 − on-time share).

`recompute` writes a new ``project_grade`` row only when a project's grade or inputs changed,
so the table is the grade's history and its latest row the current grade.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo import clock, programme
from geo.tenancy import Tenant

GRADES = ("A", "B", "C", "D")
# (grade, max weighted per 10,000 m², max open severe, min on-time share)
RULE = (("A", 2.0, 0, 0.90), ("B", 5.0, 0, 0.75), ("C", 10.0, 1, 0.50))
GRADE_ZH = {"A": "优", "B": "良", "C": "中", "D": "差"}


class GradeError(ValueError):
    """A TIS grade that may not be recorded; ``status`` is the HTTP answer it deserves."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def grade_of(inputs: dict) -> tuple[str, float]:
    """The grade and score of one project's inputs (see the module's rule).

    >>> def g(w, s=0, t=1.0):
    ...     return grade_of({"weighted_per_10k_m2": w, "open_severe": s, "on_time_share": t})
    >>> g(0), g(2), g(2.001), g(2, t=0.9), g(2, t=0.899)
    (('A', 0.0), ('A', 2.0), ('B', 2.001), ('A', 3.0), ('B', 3.01))
    >>> g(5)[0], g(5.001)[0], g(0, t=0.75)[0], g(0, t=0.749)[0]
    ('B', 'C', 'B', 'C')
    >>> g(0, s=1), g(10, s=1)[0], g(10.001)[0], g(0, s=2)[0]
    (('C', 10.0), 'C', 'D', 'D')
    >>> g(0, t=0.5)[0], g(0, t=0.499)[0], g(1, t=None)
    ('C', 'D', ('A', 1.0))
    """
    weighted = float(inputs["weighted_per_10k_m2"])
    severe = int(inputs["open_severe"])
    share = 1.0 if inputs.get("on_time_share") is None else float(inputs["on_time_share"])
    score = round(weighted + 10 * severe + 10 * (1 - share), 3)
    for grade, most_weighted, most_severe, least_share in RULE:
        if weighted <= most_weighted and severe <= most_severe and share >= least_share:
            return grade, score
    return "D", score


INPUTS_SQL = """
SELECT p.id AS project_id, CAST(p.gross_floor_area_m2 AS float8) AS area_m2,
       (SELECT count(*) FROM inspection i WHERE i.project_id = p.id) AS inspections,
       count(e.id) FILTER (WHERE e.severity = 'minor') AS minor,
       count(e.id) FILTER (WHERE e.severity = 'major') AS major,
       count(e.id) FILTER (WHERE e.severity = 'severe') AS severe,
       count(e.id) FILTER (WHERE e.severity = 'severe' AND e.status <> 'closed') AS open_severe,
       count(e.id) FILTER (WHERE e.status = 'closed') AS closed,
       count(e.id) FILTER (WHERE e.status = 'closed'
                           AND (e.due_on IS NULL OR e.closed_on <= e.due_on)) AS closed_on_time
FROM project p LEFT JOIN risk_event e ON e.project_id = p.id
WHERE CAST(:ids AS int[]) IS NULL OR p.id = ANY(CAST(:ids AS int[]))
GROUP BY p.id ORDER BY p.id"""


def inputs_of(row) -> dict | None:
    """The rule's inputs from one row of INPUTS_SQL; None for a project not yet inspected."""
    events = {"minor": row.minor, "major": row.major, "severe": row.severe}
    if row.inspections == 0 and sum(events.values()) == 0:
        return None
    weighted = sum(programme.SEVERITY_WEIGHTS[k] * n for k, n in events.items())
    return {"area_m2": row.area_m2, "inspections": row.inspections, "events": events,
            "weighted": weighted,
            "weighted_per_10k_m2": round(weighted * 10_000 / row.area_m2, 3),
            "open_severe": row.open_severe, "closed": row.closed,
            "closed_on_time": row.closed_on_time,
            "on_time_share": round(row.closed_on_time / row.closed, 4) if row.closed else None}


def _latest(conn: Connection, ids: list[int] | None) -> dict[int, tuple[str, dict]]:
    rows = conn.execute(text("""
        SELECT DISTINCT ON (project_id) project_id, grade, inputs FROM project_grade
        WHERE CAST(:ids AS int[]) IS NULL OR project_id = ANY(CAST(:ids AS int[]))
        ORDER BY project_id, id DESC"""), {"ids": ids})
    return {r.project_id: (r.grade, r.inputs) for r in rows}


def recompute(conn: Connection, project_ids: Iterable[int] | None = None) -> int:
    """Grade the projects (all, or ``project_ids``) the connection may see; a new history row
    for each whose grade or inputs changed. Returns how many rows were written."""
    ids = None if project_ids is None else sorted({int(i) for i in project_ids})
    if ids == []:
        return 0
    latest = _latest(conn, ids)
    new = []
    for row in conn.execute(text(INPUTS_SQL), {"ids": ids}):
        inputs = inputs_of(row)
        if inputs is None:
            continue
        grade, score = grade_of(inputs)
        if latest.get(row.project_id) != (grade, inputs):
            new.append({"p": row.project_id, "g": grade, "s": score,
                        "i": json.dumps(inputs, ensure_ascii=False)})
    if new:  # one statement: a row each would fire the data-version trigger a row each
        conn.execute(text(
            "INSERT INTO project_grade (project_id, grade, score, inputs) "
            "SELECT p, g, s, CAST(i AS jsonb) FROM unnest(CAST(:p AS int[]), "
            "CAST(:g AS text[]), CAST(:s AS numeric[]), CAST(:i AS text[])) v(p, g, s, i)"),
            {key: [row[key] for row in new] for key in ("p", "g", "s", "i")})
    return len(new)


def history(conn: Connection, project_id: int) -> list[dict]:
    """The project's grades, newest first (the first is the current grade)."""
    rows = conn.execute(text("""
        SELECT grade, CAST(score AS float8) AS score, inputs, computed_at FROM project_grade
        WHERE project_id = :p ORDER BY id DESC"""), {"p": project_id})
    return [{**r._mapping, "computed_at": clock.beijing(r.computed_at)}
            for r in rows]


def tis_grades(conn: Connection, project_id: int) -> list[dict]:
    """Each TIS's latest own grade of the project, with its reason."""
    rows = conn.execute(text("""
        SELECT DISTINCT ON (g.tis_id) g.tis_id, o.name AS tis, g.grade, g.reason,
               g.graded_on::text AS graded_on
        FROM tis_grade g JOIN organisation o ON o.id = g.tis_id
        WHERE g.project_id = :p ORDER BY g.tis_id, g.id DESC"""), {"p": project_id})
    return [dict(r._mapping) for r in rows]


def project_tis(conn: Connection, project_id: int) -> set[int]:
    """The TIS of the project: of its policies, or managing its risk."""
    return set(conn.execute(text("""
        SELECT tis_id FROM policy WHERE project_id = :p AND tis_id IS NOT NULL
        UNION SELECT tis_id FROM risk_management WHERE project_id = :p"""),
        {"p": project_id}).scalars())


def record_tis_grade(conn: Connection, tenant: Tenant, project_id: int, grade: str,
                     reason: str, day: dt.date) -> int:
    """Record a TIS's own grade of a project it serves, with its reason; the row's id."""
    if conn.execute(text("SELECT 1 FROM project WHERE id = :p"), {"p": project_id}).first() \
            is None:
        raise GradeError(f"no project {project_id}", 404)
    if tenant.role != "tis" or tenant.organisation_id not in project_tis(conn, project_id):
        raise GradeError("只有该项目的风险管理机构可以评级。only the project's TIS may grade it",
                         403)
    grade, reason = (grade or "").strip().upper(), (reason or "").strip()
    if grade not in GRADES:
        raise GradeError("等级须为 A、B、C 或 D。grade: one of A, B, C, D")
    if not reason or len(reason) > 1000:
        raise GradeError("须填写评级理由（不超过1000字）。a reason of 1–1000 characters")
    return conn.execute(text("""
        INSERT INTO tis_grade (project_id, tis_id, grade, reason, graded_on, user_id)
        VALUES (:p, :t, :g, :r, :d, :u) RETURNING id"""),
        {"p": project_id, "t": tenant.organisation_id, "g": grade, "r": reason, "d": day,
         "u": tenant.user_id}).scalar_one()
