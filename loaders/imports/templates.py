"""Templates an office fills in: headers with units, one example row, and what each column means."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from loaders.imports.registry import KINDS

# The organisations the other templates' examples name, so that the five templates import in
# order into an empty store (parties of projects are created by the project import itself).
MORE_EXAMPLES = {"organisations": (
    {"name": "泰和财产保险股份有限公司", "kind": "保险公司", "short_name": "泰和财险",
     "claim_hotline": "400-765-4321"},
    {"name": "中安再保险股份有限公司", "kind": "再保险公司"},
    {"name": "建研工程质量风险管理有限公司", "kind": "风险管理机构"},
    {"name": "安居房屋维修服务有限公司", "kind": "维修单位"},
)}


def example_rows(kind: str) -> list[list[str]]:
    columns = KINDS[kind].columns
    rows = [{c.name: c.example for c in columns}, *MORE_EXAMPLES.get(kind, ())]
    return [[row.get(c.name, "") for c in columns] for row in rows]


def write_template(kind: str, path: Path) -> Path:
    """A CSV (UTF-8 with BOM, so Excel opens it) or XLSX template for one kind of file."""
    columns = KINDS[kind].columns
    if path.suffix.lower() == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([c.template_header for c in columns])
            writer.writerows(example_rows(kind))
        return path
    book = Workbook()
    sheet = book.active
    sheet.title = KINDS[kind].title
    sheet.append([c.template_header for c in columns])
    for row in example_rows(kind):
        sheet.append(row)
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
