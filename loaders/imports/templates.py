"""Templates an office fills in: headers with units, one example row, and what each column means."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from loaders.imports.registry import KINDS


def write_template(kind: str, path: Path) -> Path:
    """A CSV (UTF-8 with BOM, so Excel opens it) or XLSX template for one kind of file."""
    columns = KINDS[kind].columns
    if path.suffix.lower() == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([c.template_header for c in columns])
            writer.writerow([c.example for c in columns])
        return path
    book = Workbook()
    sheet = book.active
    sheet.title = KINDS[kind].title
    sheet.append([c.template_header for c in columns])
    sheet.append([c.example for c in columns])
    required = PatternFill("solid", fgColor="FFE699")
    for cell, column in zip(sheet[1], columns, strict=True):
        cell.font = Font(bold=True)
        if column.required:
            cell.fill = required
        sheet.column_dimensions[cell.column_letter].width = max(12, len(column.zh) * 2 + 4)
    notes = book.create_sheet("填写说明")
    notes.append(["列名", "英文列名", "必填", "单位", "示例", "说明", "也可写作"])
    for c in columns:
        notes.append([c.zh, c.name, "是" if c.required else "", c.unit, c.example, c.help,
                      "、".join(c.aliases)])
    book.save(path)
    return path


def markdown_columns(kind: str) -> str:
    """The README's table of a kind's columns."""
    lines = ["| 列名 header | English | 必填 | 单位 | 说明 |", "|---|---|---|---|---|"]
    for c in KINDS[kind].columns:
        lines.append(f"| {c.zh} | `{c.name}` | {'是' if c.required else ''} | {c.unit} | "
                     f"{c.help or ''} |")
    return "\n".join(lines)
