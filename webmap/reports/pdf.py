"""A report dict (see ``webmap.reports``) as an A4 PDF, laid out by WeasyPrint.

The HTML comes from ``templates/report.html`` through a Jinja environment of our own, so a
report renders from the CLI or a worker without a Flask app; autoescaping is on, so names
from imported spreadsheets print as text and never as markup. Charts and the map are PNGs
inlined as ``data:`` URIs, and the URL fetcher refuses every other scheme: a report never
reaches the network or the file system while it is laid out.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import jinja2
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from layers.catalogue import GROUPS
from webmap.reports.charts import chart_png, cjk_family, display_width, horizontal_bars
from webmap.reports.mapimage import district_map_png

Progress = Callable[[str, float], None]

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
MISSING = "—"
# Table widths in half-em columns of their text: 180 mm at 8 pt on a portrait page, 267 mm
# at 7.5 pt on a landscape one. A table that needs more than a portrait page goes landscape.
PORTRAIT_UNITS, LANDSCAPE_UNITS = 127, 202
# Text wraps after this many columns, a heading after fewer; figures never wrap, and digits
# are a little wider than half an em. Padding is the cell's, both sides.
_TEXT_CAP, _HEADING_CAP, _DIGIT, _PADDING = 24, 8, 1.1, 3
# Chart widths in pixels at 200 dpi: the text width of an A4 page (170 mm), and half of it.
FULL_WIDTH_PX, HALF_WIDTH_PX = 1340, 660
# Shares of the work, as measured: WeasyPrint's layout takes most of a report's time.
_CHARTS_DONE, _MAP_DONE, _LAID_OUT = 0.3, 0.35, 0.85

_env: jinja2.Environment | None = None


def render_pdf(report: dict, progress: Progress | None = None) -> bytes:
    """The report as PDF bytes.

    ``progress(step, fraction)`` is called as the work advances: step ``"charts"`` while
    the charts are drawn (fraction up to 0.3), ``"map"`` (0.3-0.35), ``"layout"`` (0.35)
    and ``"pdf"`` (0.85) around WeasyPrint's two passes, and ``"done"`` (1.0).
    """
    progress = progress or _ignore
    html = render_html(report, progress)
    progress("layout", _MAP_DONE)
    document = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=("data",))).render()
    progress("pdf", _LAID_OUT)
    pdf = document.write_pdf()
    progress("done", 1.0)
    return pdf


def _ignore(step: str, fraction: float) -> None:
    pass


def render_html(report: dict, progress: Progress | None = None) -> str:
    """The report's HTML as WeasyPrint lays it out (charts and map inlined)."""
    progress = progress or _ignore
    # Fail early, naming the package, rather than print the PDF's Chinese as empty boxes:
    # WeasyPrint (through fontconfig) and matplotlib use the same fonts-noto-cjk files.
    cjk_family()
    sections = report.get("sections") or []
    total = sum(len(s.get("charts") or []) for s in sections)
    images: list[list[str]] = []
    progress("charts", 0.0)
    for section in sections:
        images.append([])
        for chart in section.get("charts") or []:
            width = HALF_WIDTH_PX if half_width(chart) else FULL_WIDTH_PX
            images[-1].append(png_uri(chart_png(chart, width_px=width, show_title=False)))
            progress("charts", _CHARTS_DONE * (sum(map(len, images)) / total))
    map_uri = None
    if report.get("map") is not None:
        progress("map", _CHARTS_DONE)
        map_uri = png_uri(district_map_png(report["map"]))
    return _environment().get_template("report.html").render(context(report, images, map_uri))


def _environment() -> jinja2.Environment:
    global _env
    if _env is None:
        _env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
            undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return _env


def half_width(chart: dict) -> bool:
    """Whether a chart reads well at half the page's width, two side by side.

    >>> half_width({"kind": "pie", "categories": ["一般", "严重"]})
    True
    >>> half_width({"kind": "line", "categories": [str(y) for y in range(2000, 2025)]})
    False
    """
    categories = [str(c) for c in chart.get("categories") or []]
    bars = len(categories) * max(1, len(chart.get("series") or []))
    if chart.get("kind") == "pie" or not categories:
        return True
    if chart.get("kind") == "bar":
        return not horizontal_bars(categories) and bars <= 12
    return len(categories) <= 12 and sum(map(display_width, categories)) <= 60


def png_uri(png: bytes) -> str:
    """PNG bytes as a ``data:`` URI for an ``<img>``.

    >>> png_uri(b"PNG")
    'data:image/png;base64,UE5H'
    """
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def format_value(value, decimals: int | None) -> str:
    """A figure as printed: thousands separators, ``decimals`` places, "—" when missing.

    ``decimals`` None marks a text column: the value prints as it is.

    >>> format_value(1234567.891, 2), format_value(12, 0), format_value(None, 1)
    ('1,234,567.89', '12', '—')
    >>> format_value(float("nan"), 1), format_value(-0.001, 2), format_value("2024-05-01", None)
    ('—', '0.00', '2024-05-01')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, bool):
        return "是" if value else "否"
    if decimals is None or not isinstance(value, int | float | Decimal):
        return str(value)
    text = f"{value:,.{decimals}f}"
    # A tiny negative rounds to "-0.00", which reads as a loss where there is none.
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


def _heading(title: str, unit: str | None) -> str:
    """A column heading with its unit, e.g. 保费（万元）.

    >>> _heading("保费", "万元"), _heading("项目名称", "")
    ('保费（万元）', '项目名称')
    """
    return f"{title}（{unit}）" if unit else title


def _indicator(item: dict) -> dict:
    decimals = item.get("decimals")
    return {"title": item.get("title", ""), "unit": item.get("unit") or "",
            "group": GROUPS.get(item.get("group"), item.get("group") or ""),
            "value": format_value(item.get("value"), decimals),
            "city": format_value(item.get("city"), decimals)}


# A printed report is read, not searched: its tables list the first rows in their order
# (worst or most urgent first: open risk, overdue events, latest claims) and name the total;
# the XLSX and GPKG exports carry every row. Keeps a district's PDF to a few dozen pages
# whether it has 200 projects or 20,000.
PDF_TABLE_ROWS = 100


def _table(table: dict) -> dict:
    columns = table.get("columns") or []
    headers = [{"title": _heading(c.get("title", ""), c.get("unit")),
                "numeric": c.get("decimals") is not None} for c in columns]
    every = table.get("rows") or []
    rows = [[{"text": format_value(row.get(c["id"]), c.get("decimals")),
              "numeric": c.get("decimals") is not None} for c in columns]
            for row in every[:PDF_TABLE_ROWS]]
    texts = [[row[i]["text"] for row in rows] for i in range(len(headers))]
    rigid = [h["numeric"] or is_code(t) for h, t in zip(headers, texts, strict=True)]
    needs = [column_units(h["title"], t, r) for h, t, r in zip(headers, texts, rigid, strict=True)]
    landscape = sum(needs) > PORTRAIT_UNITS
    widths = column_widths(needs, rigid, LANDSCAPE_UNITS if landscape else PORTRAIT_UNITS)
    return {"title": table.get("title", ""), "rows": rows, "landscape": landscape,
            "total": len(every),
            "headers": [{**h, "width": w} for h, w in zip(headers, widths, strict=True)]}


def is_code(texts: list[str]) -> bool:
    """Whether a text column holds codes or dates (short, Latin, no spaces): they must not wrap.

    >>> is_code(["530102-2023-0029", "2024-05-01", "—"]), is_code(["五华区"]), is_code(["—"])
    (True, False, False)
    """
    present = [t for t in texts if t != MISSING]
    return bool(present) and all(t.isascii() and " " not in t and len(t) <= 20 for t in present)


def column_units(heading: str, texts: list[str], rigid: bool) -> float:
    """Half-em columns a column needs: its longest figure or code, or its text wrapped.

    >>> column_units("项目名称", ["五华小区", "翠湖"], rigid=False)
    11
    >>> column_units("保费（万元）", ["1,234.50"], rigid=True)
    11.8
    """
    longest = max(map(display_width, texts), default=0)
    head = min(display_width(heading), _HEADING_CAP)
    if rigid:
        return round(max(longest * _DIGIT, head) + _PADDING, 1)
    return max(min(longest, _TEXT_CAP), head) + _PADDING


def column_widths(needs: list[float], rigid: list[bool], available: float) -> list[float]:
    """Percentages of the table's width for a fixed layout.

    Figures and codes get what their longest value needs, since they must not wrap; text
    columns share the rest in proportion to their needs. When everything fits, all
    columns grow alike.

    >>> column_widths([20, 10], [False, True], 100)
    [66.7, 33.3]
    >>> column_widths([80, 20, 30], [False, True, True], 100)
    [50.0, 20.0, 30.0]
    """
    text_need = sum(n for n, fixed in zip(needs, rigid, strict=True) if not fixed)
    spare = available - (sum(needs) - text_need)
    if sum(needs) <= available or text_need == 0 or spare <= 0:
        return [round(100 * n / sum(needs), 1) for n in needs]
    return [round(100 * (n if fixed else n * spare / text_need) / available, 1)
            for n, fixed in zip(needs, rigid, strict=True)]


def _section(section: dict, images: list[str]) -> dict:
    return {
        "title": section.get("title", ""),
        "indicators": [_indicator(i) for i in section.get("indicators") or []],
        "charts": [{"title": c.get("title", ""), "src": src, "half": half_width(c)}
                   for c, src in zip(section.get("charts") or [], images, strict=True)],
        "tables": [_table(t) for t in section.get("tables") or []],
    }


def context(report: dict, images: list[list[str]], map_uri: str | None) -> dict:
    """What the template prints, every figure already formatted.

    ``images`` holds each section's chart image URIs, in the order of its charts.
    """
    indicators = [_indicator(i) for i in report.get("indicators") or []]
    district = report.get("district") or {}
    return {
        "title": report.get("title", ""),
        "subtitle": report.get("subtitle") or "",
        "city_name": report.get("city_name") or "",
        "district_name": district.get("name") or "",
        "made_at": report.get("made_at") or "",
        "data_version": report.get("data_version") or "",
        "filters": [[str(label), str(value)] for label, value in report.get("filters") or []],
        "scope_note": report.get("scope_note") or "",
        "indicators": indicators,
        "show_city": any(i.get("city") is not None for i in report.get("indicators") or []),
        "show_groups": any(i["group"] for i in indicators),
        "map_uri": map_uri,
        "sections": [_section(s, srcs) for s, srcs
                     in zip(report.get("sections") or [], images, strict=True)],
        "tables": [_table(t) for t in report.get("tables") or []],
        "glossary": report.get("glossary") or [],
    }
