"""A report as an Excel workbook (XLSX) written with openpyxl.

Sheets: "概览" (title, filters, time made, key indicators beside the city's), one per
section (its indicators, then each chart's data as a small table with a native Excel chart
beside it) and one per table (a header row that stays in view, with an autofilter). Numbers
stay numbers, formatted to the column's decimals, so the reader can sum and sort them.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, LineChart, PieChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from layers import catalogue
from webmap.reports.tabular import heading, is_formula_like, is_number

OVERVIEW = "概览"
MAX_SHEET_NAME = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
BOLD = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
MIN_WIDTH, MAX_WIDTH = 8, 60
# A native chart's size, and the rows it covers at the default row height of 15 pt.
CHART_CM = (16, 7.5)
CHART_ROWS = 16

Progress = Callable[[str, float], None]


@dataclass
class Grid:
    """A small table to write: headings, each column's decimals (None: text) and rows.

    ``row_decimals`` gives each row its own decimals where rows differ (indicators).
    """
    headings: list[str]
    decimals: list[int | None]
    rows: list[list] = field(default_factory=list)
    row_decimals: list[list[int | None]] | None = None

    def places(self, index: int) -> list[int | None]:
        return self.row_decimals[index] if self.row_decimals else self.decimals


def number_format(decimals: int | None) -> str:
    """Excel's number format for ``decimals`` places with a thousands separator.

    >>> number_format(0), number_format(2), number_format(None)
    ('#,##0', '#,##0.00', 'General')
    """
    if decimals is None:
        return "General"
    return "#,##0" + ("." + "0" * decimals if decimals > 0 else "")


def sheet_name(title: str, taken: set[str]) -> str:
    """A valid, unused sheet name for ``title``; records it in ``taken`` (lower case).

    Excel allows 31 characters, none of ``[]:*?/\\``, and compares names ignoring case.

    >>> taken = {"概览"}
    >>> sheet_name("承保统计", taken), sheet_name("承保统计", taken), sheet_name("a/b:c", taken)
    ('承保统计', '承保统计（2）', 'a_b_c')
    >>> len(sheet_name("很长的标题" * 10, taken))
    31
    """
    base = _SHEET_FORBIDDEN.sub("_", str(title)).strip().strip("'") or "Sheet"
    name, number = base[:MAX_SHEET_NAME], 2
    while name.lower() in taken:
        suffix = f"（{number}）"
        name, number = base[:MAX_SHEET_NAME - len(suffix)] + suffix, number + 1
    taken.add(name.lower())
    return name


def text_width(text: str) -> int:
    """Columns ``text`` takes in a cell: Chinese characters are two wide.

    >>> text_width("五华区"), text_width("1,234.50")
    (6, 8)
    """
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _shown(value, decimals: int | None) -> str:
    """The text a cell shows, to size its column."""
    if is_number(value) and decimals is not None:
        return f"{float(value):,.{decimals}f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


def put(ws: Worksheet, row: int, column: int, value, decimals: int | None = None):
    """Write ``value``: numbers as numbers, dates as dates, anything else as plain text.

    Text is forced to a string cell: openpyxl would otherwise store "=..." as a formula
    Excel runs (a project name from an upload is untrusted) and "#N/A" as an error.
    """
    cell = ws.cell(row=row, column=column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return cell
    if is_number(value):
        cell.value = value
        cell.number_format = number_format(decimals)
    elif isinstance(value, dt.date):
        cell.value = value
        cell.number_format = "yyyy-mm-dd"
    else:
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", str(value))
        cell.data_type = "s"
        if is_formula_like(cell.value):
            # Keeps it text when someone edits the cell, as typing a leading ' would.
            cell.quotePrefix = True
    return cell


def _as_dates(values: list) -> list | None:
    """The column's values as dates when every one is an ISO date (or empty), else None."""
    present = [v for v in values if v not in (None, "")]
    if not present or not all(isinstance(v, str) and _ISO_DATE.fullmatch(v) for v in present):
        return None
    try:
        return [dt.date.fromisoformat(v) if v else None for v in values]
    except ValueError:
        return None


def table_grid(table: dict) -> Grid:
    """A report table as a grid; text columns of ISO dates become real dates for Excel."""
    columns = table["columns"]
    values = [[row.get(c["id"]) for row in table["rows"]] for c in columns]
    for i, column in enumerate(columns):
        if column.get("decimals") is None:
            values[i] = _as_dates(values[i]) or values[i]
    return Grid([heading(c) for c in columns], [c.get("decimals") for c in columns],
                [list(r) for r in zip(*values, strict=True)] if values else [])


def _chart_decimals(chart: dict) -> int:
    if chart.get("decimals") is not None:
        return chart["decimals"]
    values = [v for s in chart["series"] for v in s["values"] if is_number(v)]
    return 0 if all(float(v).is_integer() for v in values) else 2


def chart_grid(chart: dict) -> Grid:
    """A chart's data: one row per category, one column per series."""
    decimals = _chart_decimals(chart)
    unit = chart.get("unit") or ""
    headings = ["区间" if chart.get("kind") == "histogram" else "类别"]
    headings += [heading({"title": s["name"], "unit": unit}) for s in chart["series"]]
    rows = [[category, *(s["values"][i] for s in chart["series"])]
            for i, category in enumerate(chart["categories"])]
    return Grid(headings, [None] + [decimals] * len(chart["series"]), rows)


def write_grid(ws: Worksheet, top: int, grid: Grid, widths: dict[int, int]) -> int:
    """Write ``grid`` with its header row at ``top``; returns its last row."""
    for column, title in enumerate(grid.headings, start=1):
        cell = put(ws, top, column, title)
        cell.font, cell.fill = BOLD, HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        widths[column] = max(widths.get(column, 0), text_width(title))
    for offset, row in enumerate(grid.rows, start=1):
        cells = zip(row, grid.places(offset - 1), strict=True)
        for column, (value, decimals) in enumerate(cells, start=1):
            put(ws, top + offset, column, value, decimals)
            widths[column] = max(widths.get(column, 0), text_width(_shown(value, decimals)))
    return top + len(grid.rows)


def fit_columns(ws: Worksheet, widths: dict[int, int]) -> None:
    for column, width in widths.items():
        ws.column_dimensions[get_column_letter(column)].width = \
            min(max(width + 2, MIN_WIDTH), MAX_WIDTH)


def indicator_grid(indicators: list[dict], value_title: str) -> Grid:
    """Indicators with their value, the city's figure and unit (and group when given)."""
    with_city = any(i.get("city") is not None for i in indicators)
    with_group = any(i.get("group") for i in indicators)
    grid = Grid(["指标", value_title] + (["全市"] if with_city else []) + ["单位"]
                + (["分类"] if with_group else []), [], row_decimals=[])
    for i in indicators:
        row = [i["title"], i.get("value")] + ([i.get("city")] if with_city else [])
        # a district's indicators carry the catalogue's group code: shown by its Chinese name
        group = catalogue.GROUPS.get(i.get("group") or "", i.get("group") or "")
        grid.rows.append(row + [i.get("unit") or ""] + ([group] if with_group else []))
        grid.row_decimals.append([None] + [i.get("decimals")] * (1 + with_city)
                                 + [None] * (1 + with_group))
    return grid


def write_overview(ws: Worksheet, report: dict) -> None:
    """The first sheet: what the report is, for whom and when, and its key indicators."""
    put(ws, 1, 1, report.get("title", "")).font = TITLE_FONT
    put(ws, 2, 1, report.get("subtitle", ""))
    facts = [*(report.get("filters") or []), ["生成时间", report.get("made_at", "")],
             ["数据版本", report.get("data_version")]]
    if report.get("scope_note"):
        facts.append(["数据范围", report["scope_note"]])
    widths: dict[int, int] = {}
    for row, (label, value) in enumerate(facts, start=4):
        put(ws, row, 1, label).font = BOLD
        put(ws, row, 2, value).alignment = Alignment(horizontal="left")
        widths[1] = max(widths.get(1, 0), text_width(str(label)))
        widths[2] = max(widths.get(2, 0), text_width(_shown(value, None)))
    district = report.get("district")
    grid = indicator_grid(report.get("indicators") or [], district["name"] if district else "数值")
    write_grid(ws, 4 + len(facts) + 1, grid, widths)
    fit_columns(ws, widths)


def native_chart(ws: Worksheet, chart: dict, header: int, last: int):
    """An Excel chart over a chart's grid written with its header row at ``header``."""
    kind = chart.get("kind")
    series = len(chart["series"])
    if kind == "pie":
        made, series = PieChart(), 1
    elif kind == "line":
        made = LineChart()
    else:
        made = BarChart()
        made.type = "col"
        made.gapWidth = 10 if kind == "histogram" else 80
    made.add_data(Reference(ws, min_col=2, max_col=1 + series, min_row=header, max_row=last),
                  titles_from_data=True)
    made.set_categories(Reference(ws, min_col=1, min_row=header + 1, max_row=last))
    made.title = chart["title"]
    made.width, made.height = CHART_CM
    if kind != "pie":
        made.y_axis.title = chart.get("unit") or None
        # openpyxl 3.1 marks axes deleted by default, and recent Excel then hides them.
        made.x_axis.delete = made.y_axis.delete = False
        if series == 1:
            made.legend = None
    return made


def _write_block(ws: Worksheet, row: int, title: str, grid: Grid,
                 widths: dict[int, int]) -> tuple[int, int]:
    """A titled grid from ``row``; returns its header row and last row."""
    put(ws, row, 1, title).font = BOLD
    return row + 1, write_grid(ws, row + 1, grid, widths)


def write_section(ws: Worksheet, section: dict) -> None:
    """A section's indicators, its charts' data (each with an Excel chart) and its tables."""
    put(ws, 1, 1, section["title"]).font = TITLE_FONT
    widths: dict[int, int] = {}
    row = 3
    if section.get("indicators"):
        row = write_grid(ws, row, indicator_grid(section["indicators"], "数值"), widths) + 2
    placed = []
    for chart in section.get("charts") or []:
        unit = f"（{chart['unit']}）" if chart.get("unit") else ""
        header, last = _write_block(ws, row, chart["title"] + unit, chart_grid(chart), widths)
        if chart["categories"] and chart["series"]:
            placed.append((chart, header, last))
        row = last + 2
    for table in section.get("tables") or []:
        row = _write_block(ws, row, table["title"], table_grid(table), widths)[1] + 2
    fit_columns(ws, widths)
    # Charts stand right of the data, each from its table's row but never over the last.
    letter = get_column_letter(max(widths, default=1) + 2)
    free = 1
    for chart, header, last in placed:
        anchor = max(header - 1, free)
        ws.add_chart(native_chart(ws, chart, header, last), f"{letter}{anchor}")
        free = anchor + CHART_ROWS


def write_table(ws: Worksheet, table: dict) -> None:
    """A table on its own sheet: frozen bold header, autofilter, printable on landscape."""
    widths: dict[int, int] = {}
    last = write_grid(ws, 1, table_grid(table), widths)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(max(len(table['columns']), 1))}{last}"
    fit_columns(ws, widths)
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


GLOSSARY_COLUMNS = [{"id": k, "title": t, "unit": "", "decimals": None} for k, t in (
    ("name", "指标"), ("unit", "单位"), ("formula", "计算方法"), ("counts", "统计范围"),
    ("share", "保险公司口径"))]


def glossary_table(glossary: list[dict]) -> dict:
    """The 指标说明 as a table: each indicator's name, unit and definition."""
    return {"id": "glossary", "title": "指标说明", "columns": GLOSSARY_COLUMNS,
            "rows": glossary}


def render_xlsx(report: dict, progress: Progress | None = None) -> bytes:
    """The report as an XLSX workbook; ``progress(step, fraction)`` hears of each sheet."""
    tell = progress or (lambda step, fraction: None)
    sections, tables = report.get("sections") or [], report.get("tables") or []
    book = Workbook()
    taken = {OVERVIEW.lower()}
    tell(OVERVIEW, 0.0)
    book.active.title = OVERVIEW
    write_overview(book.active, report)
    jobs = [(s, write_section) for s in sections] + [(t, write_table) for t in tables]
    if report.get("glossary"):
        jobs.append((glossary_table(report["glossary"]), write_table))
    steps = 2 + len(jobs)
    for done, (part, write) in enumerate(jobs, start=1):
        tell(part["title"], done / steps)
        write(book.create_sheet(sheet_name(part["title"], taken)), part)
    tell("保存", (steps - 1) / steps)
    book.properties.title = report.get("title", "")
    book.properties.subject = report.get("subtitle", "")
    book.properties.creator = "住宅工程质量潜在缺陷保险风险地图"
    out = io.BytesIO()
    book.save(out)
    tell("完成", 1.0)
    return out.getvalue()
