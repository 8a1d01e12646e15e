"""One project as the map's popup and project page show it."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo import grades
from layers.districts import plain_row as _plain
from layers.filters import Filters
from layers.sql import read_sql


def project_detail(conn: Connection, project_id: int) -> dict | None:
    """The project, its parties, policies with insurers and shares, open risk events and claims."""
    head = conn.execute(text(read_sql("project_detail.sql")), {"id": project_id}).first()
    if head is None:
        return None
    detail = _plain(head)
    for key in ("start_date", "completion_date", "delivery_date"):
        detail[key] = detail[key].isoformat() if detail[key] else None
    detail["policies"] = [_plain(r) for r in conn.execute(text(read_sql(
        "project_policies.sql")), {"id": project_id})]
    detail["other_policies"] = [_plain(r) for r in conn.execute(text(read_sql(
        "project_other_policies.sql")), {"id": project_id})]
    detail["open_risk_events"] = [_plain(r) for r in conn.execute(text(
        "SELECT e.event_no, c.name_zh AS category, s.name_zh AS severity, "
        "st.name_zh AS status, e.description, e.found_on::text AS found_on, "
        "e.due_on::text AS due_on FROM risk_event e "
        "JOIN risk_category c ON c.code = e.category JOIN risk_severity s ON s.code = e.severity "
        "JOIN risk_event_status st ON st.code = e.status "
        "WHERE e.project_id = :id AND e.status <> 'closed' ORDER BY s.weight DESC, e.found_on"),
        {"id": project_id})]
    detail["claims"] = [_plain(r) for r in conn.execute(text(
        "SELECT c.claim_no, k.name_zh AS section, cs.name_zh AS status, "
        "c.reported_on::text AS reported_on, c.paid_amount_yuan FROM claim c "
        "JOIN policy po ON po.id = c.policy_id "
        "JOIN coverage_section_kind k ON k.code = c.section "
        "JOIN claim_status cs ON cs.code = c.status "
        "WHERE po.project_id = :id ORDER BY c.reported_on DESC"), {"id": project_id})]
    detail["grade_history"] = grades.history(conn, project_id)
    detail["tis_grades"] = grades.tis_grades(conn, project_id)
    detail["tis_ids"] = sorted(grades.project_tis(conn, project_id))
    return detail


def nearest_project(conn: Connection, lon: float, lat: float, radius_m: float,
                    filters: Filters) -> int | None:
    """The id of the project in scope nearest to a point, if one lies within the radius."""
    sql = read_sql("scope.sql") + read_sql("period_project.sql") + read_sql("project_near.sql")
    return conn.execute(text(sql), {**filters.params(), "lon": lon, "lat": lat,
                                    "radius": radius_m}).scalar()


def uninsured_projects(conn: Connection, city: str) -> list[dict]:
    """Projects of the city with no live policy: what the regulator must chase."""
    rows = conn.execute(text(read_sql("uninsured_projects.sql")), {"city": city})
    return [dict(r._mapping) for r in rows]
