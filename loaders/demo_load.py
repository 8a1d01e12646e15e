"""Write a generated demo programme into the store, replacing the programme data there."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections.abc import Iterator

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo import grades, store
from geo.jurisdiction import code_prefix
from loaders import demo_life
from loaders.demo import DemoOptions, District, Programme, generate

# Insertion order follows the foreign keys.
PROGRAMME_TABLES = (
    "organisation", "project", "policy", "other_policy", "policy_share", "reinsurance_share",
    "coverage_section", "inspection", "risk_event", "report", "claim",
)
SERIAL_TABLES = ("organisation", "project", "policy", "coverage_section", "inspection",
                 "risk_event", "report", "claim", "other_policy")


def city_districts(conn: Connection, city: str) -> list[District]:
    """The districts of a city; of a province's or the nation's (100000) cities for its
    code."""
    rows = conn.execute(text(
        "SELECT code, name, city_code, ST_AsBinary(boundary) FROM district "
        "WHERE city_code = :city OR (length(:prefix) < 4 AND starts_with(code, :prefix)) "
        "ORDER BY code"), {"city": city, "prefix": code_prefix(city)})
    return [District(code.strip(), name, city_code.strip(), shapely.from_wkb(bytes(wkb)))
            for code, name, city_code, wkb in rows]


# Lifecycle records point at programme rows by id without a foreign key: cleared with them.
LIFECYCLE_TABLES = ("lifecycle_step", "document")


def clear_programme(conn: Connection) -> None:
    """Remove all projects, parties, policies, risk and claim data (districts stay)."""
    tables = ", ".join(PROGRAMME_TABLES + LIFECYCLE_TABLES)
    conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))  # noqa: S608 - own names


def write_programme(conn: Connection, programme: Programme) -> dict[str, int]:
    """Write all the programme's rows (one chunk, or a whole small programme) and move the
    id sequences past them."""
    copy_rows(conn, programme)
    restart_sequences(conn)
    return programme.counts()


# COPY's text format: a backslash starts an escape, tab and newline end a field or a row
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    return value.translate(_COPY_ESCAPES)


# one lookup by the value's exact type instead of a chain of isinstance tests: the demo
# formats tens of millions of fields
_COPY_FORMATS = {
    type(None): lambda value: "\\N", bool: lambda value: "t" if value else "f",
    np.bool_: lambda value: "t" if value else "f", str: _copy_text,
    dt.date: dt.date.isoformat, dt.datetime: dt.datetime.isoformat,
}


def _copy_field(value) -> str:
    r"""A value in COPY's text format.

    >>> [_copy_field(v) for v in (None, True, "a\tb", dt.date(2026, 1, 2), 1.5)]
    ['\\N', 't', 'a\\tb', '2026-01-02', '1.5']
    """
    format_value = _COPY_FORMATS.get(type(value), str)
    return format_value(value)


def copy_rows(conn: Connection, programme: Programme) -> None:
    """The rows held in ``programme``, table by table in foreign-key order, by COPY (linear in
    the rows, without a round trip per row). Every row of a table comes from the same
    generator function, so the first row's keys name the columns of all (``_`` keys are the
    generator's own)."""
    cursor = conn.connection.cursor()
    for name in PROGRAMME_TABLES:
        rows = programme.tables.get(name)
        if not rows:
            continue
        columns = [k for k in rows[0] if not k.startswith("_")]
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join([_copy_field(row[k]) for k in columns]))
            buffer.write("\n")
        buffer.seek(0)
        quoted = ", ".join(f'"{c}"' for c in columns)
        cursor.copy_expert(f"COPY {name} ({quoted}) FROM STDIN", buffer)  # own names


# the programme's tables and the grades computed from them, written in bulk by the demo
BULK_TABLES = (*PROGRAMME_TABLES, "project_grade")


@contextlib.contextmanager
def row_triggers_off(conn: Connection) -> Iterator[None]:
    """Bulk writing without the tables' own triggers, then what the triggers would have done,
    once for all rows (the body ends with ``settle_bulk_rows``).

    Per row, the triggers cost more than the COPY itself (1.3 ms a project for its owner
    lookup keys alone): they check what the generator makes right by construction (party
    kinds, shares summing to 100 %, cover periods; tests/test_demo.py checks the data), bump
    the data version, fill project.owner_keys and keep map_project, done here set-wise. The
    foreign keys too, where the connection may skip their per-row checks (a superuser, as in
    the private cluster: they took half the COPY's time). Needs the tables' owner, as the
    migrations and `riskmap demo` run; ALTER TABLE is transactional, so a failed demo leaves
    the triggers on.
    """
    for name in BULK_TABLES:
        conn.execute(text(f"ALTER TABLE {name} DISABLE TRIGGER USER"))  # own names
    if conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                    ).scalar_one():
        conn.execute(text("SET LOCAL session_replication_role = replica"))
    yield
    conn.execute(text("SET LOCAL session_replication_role = origin"))
    for name in BULK_TABLES:
        conn.execute(text(f"ALTER TABLE {name} ENABLE TRIGGER USER"))  # own names
    conn.execute(text("SELECT riskmap_rebuild_map_projects()"))  # geo/sql/0010_map_project.sql
    conn.execute(text("UPDATE data_version SET version = version + 1, changed_at = now()"))


def settle_bulk_rows(conn: Connection) -> None:
    """After the COPY: every foreign key checked once by an anti-join where the per-row checks
    were skipped, the tables analysed, the projects' derived columns filled."""
    if conn.execute(text("SHOW session_replication_role")).scalar_one() == "replica":
        conn.execute(text("SET LOCAL session_replication_role = origin"))
        check_foreign_keys(conn, PROGRAMME_TABLES)
    # the planner sees the new rows before the set-wise work below (and the demo's own queries
    # after it) plans over them: without, at a million projects, it planned for empty tables
    conn.execute(text(f"ANALYZE {', '.join(PROGRAMME_TABLES)}"))  # own names
    conn.execute(text(DERIVED_PROJECT_SQL))


class BrokenKey(RuntimeError):
    """Rows written in bulk that point at no row (a generator's bug: the demo is rolled back)."""


def check_foreign_keys(conn: Connection, tables: tuple[str, ...]) -> None:
    """Every foreign key of ``tables``, checked once for all rows (what the per-row checks
    would have refused), naming the first key broken."""
    for child, parent, columns, targets in conn.execute(text(FOREIGN_KEYS_SQL),
                                                        {"tables": list(tables)}):
        quote = conn.dialect.identifier_preparer.quote
        match = " AND ".join(f"p.{quote(t)} = c.{quote(c)}" for c, t in zip(
            columns, targets, strict=True))
        present = " AND ".join(f"c.{quote(c)} IS NOT NULL" for c in columns)
        broken = conn.execute(text(
            f"SELECT count(*) FROM {quote(child)} c WHERE {present} AND NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {quote(parent)} p WHERE {match})")).scalar_one()
        if broken:
            raise BrokenKey(f"{broken} rows of {child} point at no {parent} "
                            f"({', '.join(columns)})")


# the database's own catalogue of the tables' foreign keys: names quoted before use
FOREIGN_KEYS_SQL = """
SELECT c.conrelid::regclass::text, c.confrelid::regclass::text,
       array_agg(a.attname::text ORDER BY k.i), array_agg(b.attname::text ORDER BY k.i)
FROM pg_constraint c
CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY k(child_key, parent_key, i)
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.child_key
JOIN pg_attribute b ON b.attrelid = c.confrelid AND b.attnum = k.parent_key
WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(:tables)
GROUP BY c.oid, c.conrelid, c.confrelid ORDER BY c.conrelid::regclass::text, c.oid"""

# project.owner_keys as the project_owner_keys trigger (geo/sql/0008_boundaries.sql) makes
# them (tests/test_demo.py holds the two equal), and units sold (pre-sale begins during
# construction; all are sold once delivered), for all projects in one pass
DERIVED_PROJECT_SQL = """
UPDATE project p SET owner_keys = ARRAY(
  SELECT DISTINCT k FROM unnest(ARRAY[
    riskmap_normal(p.name), riskmap_normal(p.community), riskmap_normal(p.permit_no),
    riskmap_address_core(p.address, d.name, d.city_name)]) k
  WHERE k IS NOT NULL AND length(k) >= 2),
  units_sold = floor(p.units * CASE p.stage WHEN 'delivered' THEN 1.0 WHEN 'completed' THEN 0.8
    WHEN 'finishing' THEN 0.5 WHEN 'main_structure' THEN 0.2 ELSE 0 END)
FROM district d WHERE d.code = p.district_code"""


def restart_sequences(conn: Connection) -> None:
    for name in SERIAL_TABLES:
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608 - own names
            f"COALESCE((SELECT max(id) FROM {name}), 0) + 1, false)"))


def derive_lifecycles(conn: Connection) -> int:
    """Each demo project's risk management: where its TIS's reports say it stands."""
    return conn.execute(text("""
        INSERT INTO risk_management (project_id, tis_id, status)
        SELECT r.project_id, min(r.tis_id),
               CASE WHEN bool_or(r.kind = 'return_visit' AND r.approved_on IS NOT NULL)
                      THEN 'closed'
                    WHEN bool_or(r.kind = 'return_visit') THEN 'return_visit_submitted'
                    WHEN bool_or(r.kind = 'final' AND r.approved_on IS NOT NULL)
                      THEN 'final_approved'
                    WHEN bool_or(r.kind = 'final') THEN 'final_submitted'
                    WHEN bool_or(r.kind = 'initial' AND r.approved_on IS NOT NULL)
                      THEN 'inspecting'
                    ELSE 'plan_submitted' END
        FROM report r GROUP BY r.project_id""")).rowcount


def run_demo(conn: Connection, options: DemoOptions) -> dict[str, int]:
    """Replace the programme data with a demo for the city; one transaction, all or nothing."""
    districts = city_districts(conn, options.city)
    clear_programme(conn)
    with row_triggers_off(conn):
        counts = generate(districts, options, write=lambda chunk: copy_rows(conn, chunk)).counts()
        settle_bulk_rows(conn)
        # graded (from projects, inspections and risk events) before the map is rebuilt: with
        # the grades' triggers on, a million grades refreshed the map of every project again
        counts["project_grade"] = grades.recompute(conn)
    restart_sequences(conn)
    counts["risk_management"] = derive_lifecycles(conn)
    demo_life.add_ratings(conn, options.seed)
    demo_life.add_complaints(conn, options.seed, options.as_of)
    demo_life.add_policy_submissions(conn, options.seed, options.as_of)
    store.set_as_of(conn, options.as_of)
    store.record_audit(conn, "cli", "demo", options.city,
                       f'{{"seed": {options.seed}, "projects": {options.projects}}}')
    return counts
