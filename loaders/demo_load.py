"""Write a generated demo programme into the store, replacing the programme data there."""

from __future__ import annotations

import geoalchemy2  # noqa: F401 - registers the geometry type for table reflection
import shapely
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from geo import store
from loaders.demo import DemoOptions, District, Programme, generate

# Insertion order follows the foreign keys.
PROGRAMME_TABLES = (
    "organisation", "project", "policy", "policy_share", "reinsurance_share",
    "coverage_section", "inspection", "risk_event", "report", "claim",
)
SERIAL_TABLES = ("organisation", "project", "policy", "coverage_section", "inspection",
                 "risk_event", "report", "claim")


def city_districts(conn: Connection, city: str) -> list[District]:
    rows = conn.execute(text(
        "SELECT code, name, city_code, ST_AsBinary(boundary) FROM district "
        "WHERE city_code = :city ORDER BY code"), {"city": city})
    return [District(code.strip(), name, city_code.strip(), shapely.from_wkb(bytes(wkb)))
            for code, name, city_code, wkb in rows]


def clear_programme(conn: Connection) -> None:
    """Remove all projects, parties, policies, risk and claim data (districts stay)."""
    tables = ", ".join(PROGRAMME_TABLES)
    conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))  # noqa: S608 - own names


def write_programme(conn: Connection, programme: Programme) -> dict[str, int]:
    metadata = MetaData()
    metadata.reflect(conn, only=list(PROGRAMME_TABLES))
    for name in PROGRAMME_TABLES:
        rows = [{k: v for k, v in row.items() if not k.startswith("_")}
                for row in programme.tables.get(name, [])]
        if rows:
            conn.execute(metadata.tables[name].insert(), rows)
    for name in SERIAL_TABLES:
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608 - own names
            f"COALESCE((SELECT max(id) FROM {name}), 0) + 1, false)"))
    return programme.counts()


def run_demo(conn: Connection, options: DemoOptions) -> dict[str, int]:
    """Replace the programme data with a demo for the city; one transaction, all or nothing."""
    districts = city_districts(conn, options.city)
    programme = generate(districts, options)
    clear_programme(conn)
    counts = write_programme(conn, programme)
    store.set_as_of(conn, options.as_of)
    store.record_audit(conn, "cli", "demo", options.city,
                       f'{{"seed": {options.seed}, "projects": {options.projects}}}')
    return counts
