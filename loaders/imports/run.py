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
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo import coords
from loaders.demo_load import city_districts
from loaders.imports import columns as cols
from loaders.imports import projects
from loaders.imports.pipeline import Checked, Problem, duplicate_keys, missing_columns, parse_table
from loaders.imports.readers import SourceError, read_table
from loaders.imports.sql import read_sql

PARTY_KINDS = {"developer": "developer", "contractor": "contractor", "supervisor": "supervisor",
               "designer": "designer", "surveyor": "surveyor"}
STAGE_COLUMNS = {
    "projects": ("permit_no", "project_name", "community", "address", "district", "lon", "lat",
                 "developer", "developer_uscc", "contractor", "supervisor", "designer",
                 "surveyor", "gross_floor_area", "units", "construction_cost", "stage",
                 "start_date", "completion_date", "delivery_date"),
    "organisations": ("name", "kind", "uscc", "short_name", "claim_hotline"),
}


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
               sheet: str | None = None, encoding: str | None = None) -> tuple[Checked, object]:
    """Read and check a file; nothing is written. Returns the checked rows and the table."""
    columns = cols.KINDS[kind]
    try:
        table = read_table(path, known_headers=cols.known_headers(columns), sheet=sheet,
                           encoding=encoding)
    except SourceError as exc:
        return Checked(errors=[Problem(None, "", "", str(exc))]), None
    checked = Checked(errors=missing_columns(table, columns, ("lon", "lat")))
    if checked.errors:
        return checked, table
    districts = city_districts(conn, city)
    checked = parse_table(table, columns, {d.code: d.name for d in districts})
    if kind == "projects":
        duplicate_keys(checked, "permit_no", "报建号")
        city_name = _city_name(conn, city)
        projects.locate(checked, file_crs(table, crs), districts, city_name)
        projects.check_dates(checked)
        _check_party_kinds(conn, checked)
        _check_developer_codes(conn, checked)
    else:
        duplicate_keys(checked, "name", "单位名称")
    return checked, table


def _city_name(conn: Connection, city: str) -> str:
    return conn.execute(text("SELECT min(city_name) FROM district WHERE city_code = :c"),
                        {"c": city}).scalar() or city


def _check_party_kinds(conn: Connection, checked: Checked) -> None:
    """A party named in the file must not already be in the store as another kind."""
    names = {r.get(c) for r in checked.records for c in PARTY_KINDS if r.get(c)}
    known = dict(conn.execute(text("SELECT name, kind FROM organisation WHERE name = ANY(:n)"),
                              {"n": list(names)}).all()) if names else {}
    for record in checked.valid_records():
        for column, kind in PARTY_KINDS.items():
            name = record.get(column)
            if name in known and known[name] != kind:
                checked.reject(record, record["_headers"][column], name,
                               f"该单位在库中登记为「{known[name]}」，不能作为{column} — "
                               "the organisation is registered as another kind")


def _check_developer_codes(conn: Connection, checked: Checked) -> None:
    """A unified social credit code belongs to one organisation, in the file and in the store."""
    codes = {r["developer_uscc"] for r in checked.records if r.get("developer_uscc")}
    owners = dict(conn.execute(text("SELECT uscc, name FROM organisation WHERE uscc = ANY(:c)"),
                               {"c": list(codes)}).all()) if codes else {}
    for record in checked.valid_records():
        code, name = record.get("developer_uscc"), record.get("developer")
        if code and owners.setdefault(code, name) != name:
            checked.reject(record, record["_headers"]["developer_uscc"], code,
                           f"该统一社会信用代码已属于「{owners[code]}」 — "
                           "this code already belongs to another organisation")


def _copy(conn: Connection, table: str, names: tuple[str, ...], records: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for record in records:
        writer.writerow([record.get(n) for n in names])
    buffer.seek(0)
    cursor = conn.connection.driver_connection.cursor()
    cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv)", buffer)


def write(conn: Connection, kind: str, records: list[dict]) -> tuple[int, int]:
    """Stage the records with COPY and upsert them set-wise; returns (inserted, updated)."""
    if kind == "projects":
        conn.execute(text(read_sql("stage_projects.sql")))
        _copy(conn, "stage_project", STAGE_COLUMNS[kind], records)
        conn.execute(text(read_sql("upsert_project_parties.sql")))
        row = conn.execute(text(read_sql("upsert_projects.sql"))).one()
    else:
        conn.execute(text(read_sql("stage_organisations.sql")))
        _copy(conn, "stage_organisation", STAGE_COLUMNS[kind], records)
        row = conn.execute(text(read_sql("upsert_organisations.sql"))).one()
    return row.inserted, row.updated


def import_file(conn: Connection, kind: str, path: Path, *, city: str, actor: str,
                crs: str | None = None, sheet: str | None = None, encoding: str | None = None,
                partial: bool = False, dry_run: bool = False) -> ImportResult:
    """Check a file and, when it may be, write it inside the caller's transaction."""
    started = dt.datetime.now(dt.timezone.utc)
    checked, _ = check_file(conn, kind, path, city=city, crs=crs, sheet=sheet, encoding=encoding)
    result = ImportResult(kind, path, checked.rows_read, errors=checked.errors,
                          warnings=checked.warnings)
    file_level = any(p.row is None for p in checked.errors)
    if file_level or (checked.errors and not partial):
        return result
    records = checked.valid_records()
    savepoint = conn.begin_nested() if dry_run else None
    result.inserted, result.updated = write(conn, kind, records) if records else (0, 0)
    result.unchanged = len(records) - result.inserted - result.updated
    if savepoint is not None:
        savepoint.rollback()  # a dry run reports what would change and keeps nothing
        return result
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
