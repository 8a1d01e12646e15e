"""One import, all or nothing: read, check every row, then write in one transaction.

The caller owns the transaction: a file with errors writes nothing, and an import
interrupted at any point (an error, Ctrl+C, a killed process) is rolled back by
PostgreSQL, so the store is as it was.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from geo import coords
from loaders.demo_load import city_districts
from loaders.imports.columns import known_headers
from loaders.imports.kinds import Context
from loaders.imports.pipeline import Checked, Problem, duplicate_keys, missing_columns, parse_table
from loaders.imports.readers import SourceError, read_table
from loaders.imports.registry import KINDS
from loaders.imports.sql import read_sql


@dataclass
class ImportResult:
    kind: str
    path: Path
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    written: bool = False

    @property
    def rejected_rows(self) -> int:
        return len({p.row for p in self.errors if p.row})


def file_crs(table, asked: str | None):
    """The file's coordinate system: as asked, else the file's own, else WGS84."""
    if asked:
        return coords.parse_crs(asked)
    if table.crs:
        return coords.parse_crs(table.crs)
    return "wgs84"


def check_file(conn: Connection, kind: str, path: Path, *, city: str, crs: str | None = None,
               sheet: str | None = None, encoding: str | None = None,
               progress: Callable = lambda rows: rows) -> Checked:
    """Read and check a file; nothing is written."""
    spec = KINDS[kind]
    try:
        table = read_table(path, known_headers=known_headers(spec.columns), sheet=sheet,
                           encoding=encoding)
    except SourceError as exc:
        return Checked(errors=[Problem(None, "", "", str(exc))])
    optional = ("lon", "lat") if spec.located else ()
    checked = Checked(errors=missing_columns(table, spec.columns, optional))
    if checked.errors:
        return checked
    districts = city_districts(conn, city)
    checked = parse_table(table, spec.columns, {d.code: d.name for d in districts}, progress)
    key = next(c for c in spec.columns if c.name == spec.key)
    duplicate_keys(checked, spec.key, key.zh)
    spec.check(checked, Context(conn, city, _city_name(conn, city), districts,
                                file_crs(table, crs)))
    return checked


def _city_name(conn: Connection, city: str) -> str:
    return conn.execute(text("SELECT min(city_name) FROM district WHERE city_code = :c"),
                        {"c": city}).scalar() or city


def _copy(conn: Connection, table: str, names: list[str], records: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for record in records:
        writer.writerow([record.get(n) for n in names])
    buffer.seek(0)
    cursor = conn.connection.driver_connection.cursor()
    cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv)", buffer)


def _keep_absent_columns(conn: Connection, spec, records: list[dict]) -> None:
    """Columns the file does not have take the stored values: a short file updates what it
    names and clears nothing else (a blank cell in a column it has still clears)."""
    present = set(records[0]["_headers"]) | ({"lon", "lat", "district"} if spec.located else set())
    absent = [c.name for c in spec.columns if c.name not in present]
    if not absent or spec.current_sql is None:
        return
    # names come from the kind's own column catalogue, never from the file
    sets = ", ".join(f"{name} = c.{name}" for name in absent)
    conn.execute(text(f"UPDATE {spec.stage_table} s SET {sets} "  # noqa: S608
                      f"FROM ({read_sql(spec.current_sql)}) c "
                      f"WHERE c.{spec.key} = s.{spec.key}"))


def write(conn: Connection, kind: str, records: list[dict]) -> tuple[int, int]:
    """Stage the records with COPY and upsert them set-wise; returns (inserted, updated)."""
    spec = KINDS[kind]
    conn.execute(text(read_sql(spec.stage_sql)))
    _copy(conn, spec.stage_table, [c.name for c in spec.columns], records)
    _keep_absent_columns(conn, spec, records)
    for name in spec.upsert_sqls:
        result = conn.execute(text(read_sql(name)))
    row = result.one()
    # the store's commit-time checks (share totals) run now, so a dry run sees them too
    conn.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    return row.inserted, row.updated


def import_file(conn: Connection, kind: str, path: Path, *, city: str, actor: str,
                crs: str | None = None, sheet: str | None = None, encoding: str | None = None,
                partial: bool = False, dry_run: bool = False,
                progress: Callable = lambda rows: rows) -> ImportResult:
    """Check a file and, when it may be, write it inside the caller's transaction."""
    started = dt.datetime.now(dt.timezone.utc)
    checked = check_file(conn, kind, path, city=city, crs=crs, sheet=sheet, encoding=encoding,
                         progress=progress)
    result = ImportResult(kind, path, checked.rows_read, errors=checked.errors,
                          warnings=checked.warnings)
    file_level = any(p.row is None for p in checked.errors)
    if file_level or (checked.errors and not partial):
        return result
    records = checked.valid_records()
    savepoint = conn.begin_nested()
    try:
        result.inserted, result.updated = write(conn, kind, records) if records else (0, 0)
    except (DBAPIError, psycopg2.Error) as exc:  # a rule the row checks missed: say which
        savepoint.rollback()
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        result.errors.append(Problem(None, "", "", f"写入时被数据库拒绝，未写入任何数据 — "
                                                   f"the store refused the file: {reason}"))
        return result
    result.unchanged = len(records) - result.inserted - result.updated
    if dry_run:
        savepoint.rollback()  # a dry run reports what would change and keeps nothing
        return result
    savepoint.commit()
    _log(conn, result, actor, started, partial)
    result.written = True
    return result


def _log(conn: Connection, result: ImportResult, actor: str, started, partial: bool) -> None:
    digest = hashlib.sha256(result.path.read_bytes()).hexdigest()
    conn.execute(text("""INSERT INTO import_log (kind, file_name, file_sha256, actor, started_at,
        rows_read, rows_inserted, rows_updated, rows_unchanged, rows_rejected, partial)
        VALUES (:kind, :name, :sha, :actor, :started, :read, :ins, :upd, :same, :rej, :partial)"""),
        {"kind": result.kind, "name": result.path.name, "sha": digest, "actor": actor,
         "started": started, "read": result.rows_read, "ins": result.inserted,
         "upd": result.updated, "same": result.unchanged, "rej": result.rejected_rows,
         "partial": partial})
