"""The district overview: each district's projects, premium, risk events and claims."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.sql import read_sql


@dataclass(frozen=True)
class DistrictOverview:
    code: str
    name: str
    city_name: str
    projects: int
    floor_area_m2: Decimal
    policies: int
    premium_yuan: Decimal
    sum_insured_yuan: Decimal
    risk_events: int
    open_risk_events: int
    severe_risk_events: int
    claims: int
    paid_yuan: Decimal


def district_overview(conn: Connection, city: str | None = None) -> list[DistrictOverview]:
    """One row per district of ``city`` (every district in the store when None), by code."""
    rows = conn.execute(text(read_sql("district_overview.sql")), {"city": city})
    return [DistrictOverview(**{**row._mapping, "code": row.code.strip()}) for row in rows]


def city_totals(rows: list[DistrictOverview]) -> dict[str, Decimal | int]:
    """Sums over the districts, for the table's last line."""
    fields = ("projects", "policies", "premium_yuan", "sum_insured_yuan", "risk_events",
              "open_risk_events", "severe_risk_events", "claims", "paid_yuan", "floor_area_m2")
    return {f: sum((getattr(r, f) for r in rows), 0) for f in fields}


def map_context(conn: Connection, city: str) -> dict:
    """What the map page needs besides layer data: the city, its extent, and filter choices."""
    extent = conn.execute(text(
        "SELECT min(city_name), ST_XMin(ST_Extent(boundary)), ST_YMin(ST_Extent(boundary)), "
        "ST_XMax(ST_Extent(boundary)), ST_YMax(ST_Extent(boundary)) FROM district "
        "WHERE city_code = :city"), {"city": city}).one()
    name, xmin, ymin, xmax, ymax = extent
    choices = {}
    for kind in ("insurer", "tis"):
        choices[kind] = [{"id": r.id, "name": r.name} for r in conn.execute(text(
            "SELECT id, name FROM organisation WHERE kind = :kind ORDER BY name"), {"kind": kind})]
    districts = [{"code": r.code.strip(), "name": r.name} for r in conn.execute(text(
        "SELECT code, name FROM district WHERE city_code = :city ORDER BY code"), {"city": city})]
    stages = [{"code": r.code, "name": r.name_zh} for r in conn.execute(text(
        "SELECT code, name_zh FROM project_stage ORDER BY ord"))]
    return {
        "city": city, "city_name": name or "",
        "bounds": [[ymin, xmin], [ymax, xmax]] if name else [],
        "insurers": choices["insurer"], "tis": choices["tis"], "districts": districts,
        "stages": stages,
    }
