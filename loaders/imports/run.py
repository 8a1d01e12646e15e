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
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from geo import coords, grades, store
from geo.tenancy import Tenant
from loaders.demo_load import city_districts
from loaders.imports import authority, steps
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
    display_name: str | None = None  # as the sender named the file, when saved under another

    @property
    def name(self) -> str:
        return self.display_name or self.path.name

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
               progress: Callable = lambda rows: rows, reach_org: int | None = None) -> Checked:
    """Read and check a file; nothing is written. ``reach_org`` limits what the checks find
    to an uploading insurer's or TIS's reach (`authority`)."""
    spec = KINDS[kind]
    try:
        table = read_table(path, known_headers=known_headers(spec.columns), sheet=sheet,
                           encoding=encoding)
    except SourceError as exc:
        return Checked(errors=[Problem(None, "", "", str(exc))])
    if table.needs_crs and not crs:
        return Checked(errors=[Problem(None, "", "", f"{path.name}：Shapefile 缺少坐标系文件"
                                       "（.prj），请一并上传 .prj，或注明坐标系（如 cgcs2000、"
                                       "gcj02、EPSG:4543） / the shapefile has no .prj: send it "
                                       "or state the coordinate system")])
    optional = ("lon", "lat") if spec.located else ()
    checked = Checked(errors=missing_columns(table, spec.columns, optional))
    if checked.errors:
        return checked
    districts = city_districts(conn, city)
    checked = parse_table(table, spec.columns, {d.code: d.name for d in districts}, progress)
    key = next(c for c in spec.columns if c.name == spec.key)
    duplicate_keys(checked, spec.key, key.zh)
    spec.check(checked, Context(conn, city, _city_name(conn, city), districts,
                                file_crs(table, crs), reach_org))
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
                progress: Callable = lambda rows: rows, tenant: Tenant | None = None,
                file_name: str | None = None, note: dict | None = None) -> ImportResult:
    """Check a file and, when it may be, write it inside the caller's transaction.

    ``tenant`` is the uploader's, for a web upload: the kinds and rows it may write are
    checked in this transaction (`authority`). ``file_name`` is the name the sender gave the
    file (an upload is saved under a sanitised name); ``note`` goes into the audit line.
    """
    started = dt.datetime.now(dt.timezone.utc)
    result = ImportResult(kind, path, display_name=file_name)
    if kind not in authority.kinds_for(tenant):
        result.errors.append(authority.kind_refused(tenant, kind))
    else:
        _check_and_write(conn, result, city=city, crs=crs, sheet=sheet, encoding=encoding,
                         partial=partial, dry_run=dry_run, progress=progress, tenant=tenant,
                         actor=actor)
    if result.written:
        _log(conn, result, actor, started, partial)
        if kind == "risk-events":  # events changed: grades may too (a row only where they did)
            grades.recompute(conn)
    _audit(conn, result, actor, tenant, dry_run=dry_run, note=note)
    return result


def _check_and_write(conn: Connection, result: ImportResult, *, city: str, crs, sheet,
                     encoding, partial: bool, dry_run: bool, progress: Callable,
                     tenant: Tenant | None, actor: str) -> None:
    kind = result.kind
    checked = check_file(conn, kind, result.path, city=city, crs=crs, sheet=sheet,
                         encoding=encoding, progress=progress,
                         reach_org=authority.reach_org(tenant, kind))
    authority.submissions(conn, tenant, kind, checked)
    result.rows_read, result.errors, result.warnings = (checked.rows_read, checked.errors,
                                                        checked.warnings)
    # rows of someone else's are refused for the whole file, even with --partial
    refused = authority.outside_reach(conn, tenant, kind, checked.records)
    result.errors.extend(refused)
    file_level = refused or any(p.row is None for p in checked.errors)
    if file_level or (checked.errors and not partial):
        return
    _write_checked(conn, result, checked.valid_records(), dry_run=dry_run, tenant=tenant,
                   actor=actor)


def _write_checked(conn: Connection, result: ImportResult, records: list[dict], *,
                   dry_run: bool, tenant: Tenant | None, actor: str) -> None:
    """Write the records in a savepoint, kept unless refused or only a dry run."""
    before = steps.states(conn, result.kind, records)
    figures = authority.snapshot(conn, tenant, result.kind, records)
    savepoint = conn.begin_nested()
    try:
        result.inserted, result.updated = write(conn, result.kind, records) if records else (0, 0)
    except (DBAPIError, psycopg2.Error) as exc:  # a rule the row checks missed: say which
        savepoint.rollback()
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        result.errors.append(Problem(None, "", "", f"写入时被数据库拒绝，未写入任何数据 — "
                                                   f"the store refused the file: {reason}"))
        return
    # what the write made of the file's rows (a new policy, a moved claim) must be in reach too
    refused = authority.outside_reach(conn, tenant, result.kind, records)
    changes = authority.resubmit_changed(
        conn, figures, authority.snapshot(conn, tenant, result.kind, records))
    after = steps.states(conn, result.kind, records)
    refused = refused or steps.backward_moves(result.kind, records, before, after)
    if refused:
        savepoint.rollback()
        result.errors.extend(refused)
        result.inserted = result.updated = 0
        return
    result.unchanged = len(records) - result.inserted - result.updated
    if dry_run:
        savepoint.rollback()  # a dry run reports what would change and keeps nothing
        return
    steps.record_steps(conn, result.kind, before, after, actor, tenant, result.name, changes)
    savepoint.commit()
    result.written = True


def _log(conn: Connection, result: ImportResult, actor: str, started, partial: bool) -> None:
    digest = hashlib.sha256(result.path.read_bytes()).hexdigest()
    conn.execute(text("""INSERT INTO import_log (kind, file_name, file_sha256, actor, started_at,
        rows_read, rows_inserted, rows_updated, rows_unchanged, rows_rejected, partial)
        VALUES (:kind, :name, :sha, :actor, :started, :read, :ins, :upd, :same, :rej, :partial)"""),
        {"kind": result.kind, "name": result.name, "sha": digest, "actor": actor,
         "started": started, "read": result.rows_read, "ins": result.inserted,
         "upd": result.updated, "same": result.unchanged, "rej": result.rejected_rows,
         "partial": partial})


def _audit(conn: Connection, result: ImportResult, actor: str, tenant: Tenant | None, *,
           dry_run: bool, note: dict | None) -> None:
    """One audit line for every import, written or refused: who, what, how many, the outcome."""
    outcome = "imported" if result.written else "dry-run" if dry_run else "refused"
    detail = {"kind": result.kind, "file": result.name, "rows": result.rows_read,
              "inserted": result.inserted, "updated": result.updated,
              "unchanged": result.unchanged, "rejected": result.rejected_rows,
              "errors": len(result.errors), "result": outcome, **(note or {})}
    store.record_audit(conn, actor, "import", result.name, json.dumps(detail, ensure_ascii=False),
                       user_id=tenant and tenant.user_id)
