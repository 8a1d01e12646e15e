"""What the map page needs besides layer data: the city (or the province, or the nation, whose
statistics a page shows), its extent and the filter choices."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo.jurisdiction import area_name, area_params, city_of
from geo.tenancy import Tenant


def map_context(conn: Connection, city: str, tenant: Tenant | None = None) -> dict:
    """What the map page needs besides layer data: the city, its extent, and filter choices.

    An insurer or a TIS is offered only itself in its own filter (the others' names are no
    secret, but their portfolios are)."""
    extent = conn.execute(text(
        "SELECT min(city_name), ST_XMin(ST_Extent(boundary)), ST_YMin(ST_Extent(boundary)), "
        "ST_XMax(ST_Extent(boundary)), ST_YMax(ST_Extent(boundary)) FROM district "
        "WHERE city_code = :city OR starts_with(code, :prefix)"), area_params(city)).one()
    name, xmin, ymin, xmax, ymax = extent
    if name and city_of(city) is None:  # a province's or the nation's statistics
        name = area_name(conn, city)
    choices = {}
    for kind in ("insurer", "tis"):
        choices[kind] = [{"id": r.id, "name": r.name} for r in conn.execute(text(
            "SELECT id, name FROM organisation WHERE kind = :kind ORDER BY name"), {"kind": kind})]
    if tenant is not None and tenant.role in choices:
        choices[tenant.role] = [c for c in choices[tenant.role]
                                if c["id"] == tenant.organisation_id]
    districts = [{"code": r.code.strip(), "name": r.name, "city": r.city_code,
                  "city_name": r.city_name} for r in conn.execute(text(
        "SELECT code, name, city_code, city_name FROM district "
        "WHERE city_code = :city OR starts_with(code, :prefix) ORDER BY code"),
        area_params(city))]
    stages = [{"code": r.code, "name": r.name_zh} for r in conn.execute(text(
        "SELECT code, name_zh FROM project_stage ORDER BY ord"))]
    first, last = conn.execute(text(
        "SELECT min(issue_date), max(issue_date) FROM policy")).one()  # the reader's own
    return {
        "years": [str(y) for y in range(first.year, last.year + 1)] if first else [],
        "city": city, "city_name": name or "",
        "bounds": [[ymin, xmin], [ymax, xmax]] if name else [],
        "insurers": choices["insurer"], "tis": choices["tis"], "districts": districts,
        "stages": stages,
    }
