"""Reading a file into checked records: every cell parsed, every problem kept with its place.

Nothing here writes to the store: an import first collects all of a file's errors
(row, column, value, reason), and only a file without errors (or ``--partial``)
goes on to be written.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from geo import programme
from loaders.imports import values
from loaders.imports.columns import Column, match_headers
from loaders.imports.readers import SourceTable

LABELS = {
    "organisation_kind": values.ORGANISATION_KINDS, "stage": values.STAGES,
    "severity": values.SEVERITIES, "event_status": values.EVENT_STATUSES,
    "category": values.CATEGORIES, "claim_status": values.CLAIM_STATUSES,
    "section": values.SECTIONS, "decision": values.DECISIONS, "exclusion": values.EXCLUSIONS,
    "policy_status": values.Vocabulary(programme.POLICY_STATUSES, {
        "有效": "confirmed", "已生效": "confirmed", "待审核": "submitted", "退回": "returned",
        "终止": "terminated", "注销": "cancelled", "退保": "cancelled"}),
}


@dataclass(frozen=True)
class Problem:
    row: int | None      # as the user sees it in the file; None for the whole file
    column: str          # the header as written in the file
    value: str
    reason: str

    def line(self, file_name: str) -> str:
        place = f"{file_name} 第{self.row}行" if self.row else file_name
        column = f" 列「{self.column}」" if self.column else ""
        value = f" 值「{self.value}」" if self.value else ""
        return f"{place}{column}{value}: {self.reason}"


@dataclass
class Checked:
    """The parsed records of a file, its errors, and its warnings (reported, not blocking)."""

    records: list[dict] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    rows_read: int = 0

    def reject(self, record: dict, column: str, value, reason: str) -> None:
        self.errors.append(Problem(record["_row"], column, _shown(value), reason))
        record["_rejected"] = True
        record.setdefault("_bad", set()).add(column)

    def warn(self, record: dict, column: str, value, reason: str) -> None:
        self.warnings.append(Problem(record["_row"], column, _shown(value), reason))

    def valid_records(self) -> list[dict]:
        return [r for r in self.records if not r.get("_rejected")]


def _shown(value) -> str:
    return "" if value is None else str(value)[:80]


def _remembered(parse: Callable) -> Callable:
    """The parser with its answers kept: a few labels and districts repeat down a whole file."""
    answers: dict = {}

    def parse_once(cell):
        try:
            answer = answers[cell]
        except KeyError:
            try:
                answer = answers[cell] = (parse(cell), None)
            except ValueError as exc:
                answer = answers[cell] = (None, exc)
        except TypeError:  # an unhashable cell: parse it as it comes
            return parse(cell)
        if answer[1] is not None:
            raise answer[1]
        return answer[0]
    return parse_once


def _parser(column: Column, header: str, districts: dict[str, str]) -> Callable:
    kind = column.parse
    if kind.startswith("label:"):
        labels = LABELS[kind.removeprefix("label:")]
        return _remembered(lambda cell: values.parse_label(cell, labels, column.zh))
    if kind == "money":
        unit = values.money_unit(header) if _unit(header) != "万" else values.WAN
        return lambda cell: values.parse_money(cell, unit)
    if kind == "area" and "万" in _unit(header):  # 建筑面积（万㎡）
        return lambda cell: _times(values.parse_decimal(cell, positive=True), 10_000)
    if kind == "rate" and "‰" in _unit(header):  # 费率（‰）: 1.5 means 0.15 %
        return lambda cell: values.parse_rate(
            cell if is_marked(cell) else f"{values.parse_decimal(cell)}‰")
    if kind == "district":
        return _remembered(lambda cell: values.parse_district(cell, districts))
    if kind in ("lon", "lat"):
        return lambda cell: cell  # checked in pairs, once the coordinate system is known
    return {
        "text": values.parse_text, "date": values.parse_date, "rate": values.parse_rate,
        "share": values.parse_share, "int": values.parse_int, "uscc": values.parse_uscc,
        "bool": values.parse_bool, "area": lambda c: values.parse_decimal(c, positive=True),
    }[kind]


def _unit(header: str) -> str:
    """The unit a header gives in brackets at its end: 保费（万元） → 万元."""
    found = re.search(r"[(（]([^)）]*)[)）]\s*$", str(header))
    return found[1].strip() if found else ""


def _times(value, factor: int):
    return None if value is None else value * factor


def is_marked(cell) -> bool:
    """Whether a rate cell carries its own sign (%, ‰), which wins over the header's unit."""
    return isinstance(cell, str) and any(mark in cell for mark in "%％‰")


def missing_columns(table: SourceTable, columns: tuple[Column, ...],
                    optional_when_geometry: tuple[str, ...] = ()) -> list[Problem]:
    """File-level errors: required columns the header row does not have."""
    matched = match_headers(table.headers, columns)
    twice = _headers_per_column(matched)
    if twice:
        return [Problem(None, "、".join(headers), "",
                        f"这些列都表示「{column.zh}」，只能保留一列 — "
                        "two headers mean the same column")
                for column, headers in twice]
    present = {c.name for c in matched.values()}
    if table.crs is not None or any("__x" in row.cells for row in table.rows[:50]):
        present.update(optional_when_geometry)
    return [Problem(None, c.template_header, "",
                    f"缺少必填列「{c.zh}」(也可写作: {'、'.join(c.headers()[:4])}) — "
                    f"required column {c.name} is missing")
            for c in columns if c.required and c.name not in present]


def _headers_per_column(matched: dict[str, Column]) -> list[tuple[Column, list[str]]]:
    by_column: dict[str, list[str]] = {}
    for header, column in matched.items():
        by_column.setdefault(column.name, []).append(header)
    columns = {c.name: c for c in matched.values()}
    return [(columns[name], headers) for name, headers in by_column.items() if len(headers) > 1]


def parse_table(table: SourceTable, columns: tuple[Column, ...], districts: dict[str, str],
                progress: Callable = lambda rows: rows) -> Checked:
    """Every row's cells parsed by their column's parser; bad cells become row errors."""
    checked = Checked(rows_read=len(table.rows))
    matched = match_headers(table.headers, columns)
    parsers = {h: (c, _parser(c, h, districts)) for h, c in matched.items()}
    for row in progress(table.rows):
        record = {"_row": row.number, "_headers": {}}
        for header, (column, parse) in parsers.items():
            cell = row.cells.get(header)
            record["_headers"][column.name] = header
            try:
                record[column.name] = parse(cell)
            except ValueError as exc:
                checked.reject(record, header, cell, str(exc))
                record[column.name] = None
        for extra in ("__x", "__y", "__footprint_wkb"):
            if extra in row.cells:
                record[extra] = row.cells[extra]
        _require(checked, record, columns)
        checked.records.append(record)
    return checked


def _require(checked: Checked, record: dict, columns: tuple[Column, ...]) -> None:
    for column in columns:
        header = record["_headers"].get(column.name)
        if (column.required and header is not None and record.get(column.name) is None
                and header not in record.get("_bad", ())):
            checked.reject(record, header, "", f"「{column.zh}」必填 — required")


def duplicate_keys(checked: Checked, key: str, header: str) -> None:
    """A natural key twice in one file is an error on its second row."""
    seen: dict[str, int] = {}
    for record in checked.records:
        value = record.get(key)
        if value is None:
            continue
        if value in seen:
            checked.reject(record, record["_headers"].get(key, header), value,
                           f"与第{seen[value]}行重复 — duplicate of row {seen[value]}")
        else:
            seen[value] = record["_row"]


REPORT_HEADER = ["行号 row", "列 column", "值 value", "原因 reason"]


def write_error_report(problems: list[Problem], path: Path) -> Path:
    """Every problem as XLSX (by the name's suffix) or as a CSV that opens in Excel."""
    rows = [[p.row or "", p.column, p.value, p.reason] for p in problems]
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        book.active.title = "错误清单"
        for row in [REPORT_HEADER, *rows]:
            book.active.append(row)
        book.save(path)
        return path
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerows([REPORT_HEADER, *rows])
    return path
