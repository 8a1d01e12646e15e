"""A report's projects as CSV, and its map as GeoJSON or GeoPackage.

Every writer takes the report dict described in ``webmap.reports`` and returns the file's
bytes. The helpers shared with the XLSX writer (column headings, the table to export, the
formula guard) live here too, so the CSV's and the workbook's headings cannot drift apart.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import tempfile
from decimal import Decimal
from numbers import Real
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, mapping, shape
from shapely.geometry.polygon import orient

CRS = "EPSG:4326"
# RFC 7946 §11.2: six decimals are about 10 cm, finer only inflates the file.
COORD_DECIMALS = 6
# Characters that make Excel, LibreOffice or WPS read a cell as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
_POSITION = ("lon", "lat")


def heading(column: dict) -> str:
    """A column's Chinese title with its unit in full-width brackets, as Chinese forms write it.

    >>> heading({"title": "保费", "unit": "万元"}), heading({"title": "项目名称", "unit": ""})
    ('保费（万元）', '项目名称')
    """
    unit = column.get("unit") or ""
    return f"{column['title']}（{unit}）" if unit else column["title"]


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet would evaluate ``text`` typed into a cell.

    >>> is_formula_like('=HYPERLINK("http://x","点击")'), is_formula_like("五华区")
    (True, False)
    """
    return isinstance(text, str) and text.startswith(FORMULA_STARTS)


def guard_text(text: str) -> str:
    """``text`` with a leading apostrophe when a spreadsheet would run it as a formula.

    >>> guard_text("=1+1"), guard_text("-3"), guard_text("昆明")
    ("'=1+1", "'-3", '昆明')
    """
    return "'" + text if is_formula_like(text) else text


def is_number(value) -> bool:
    """Whether ``value`` is a finite number (``bool`` is not one here).

    >>> is_number(3), is_number(2.5), is_number(Decimal("1.2")), is_number(True)
    (True, True, True, False)
    >>> is_number(float("nan")), is_number("3")
    (False, False)
    """
    if isinstance(value, bool) or not isinstance(value, (Real, Decimal)):
        return False
    return math.isfinite(float(value))


def plain_number(value, decimals: int) -> str:
    """A number as CSV wants it: the column's decimals, no thousands separator.

    >>> plain_number(1234567.891, 2), plain_number(12, 0), plain_number(-0.001, 2)
    ('1234567.89', '12', '0.00')
    """
    # Rounded as the other formats print it (Python's float formatting), so they agree.
    text = f"{float(value):.{decimals}f}"
    # Rounding a small negative gives "-0.00", which reads as a sign error.
    return text.lstrip("-") if float(text) == 0 else text


def export_table(report: dict) -> dict:
    """The table a flat export holds: the one with id "projects", else the first one."""
    tables = list(report.get("tables") or [])
    tables += [t for s in report.get("sections") or [] for t in s.get("tables") or []]
    if not tables:
        raise ValueError("该报告没有表格，无法导出为 CSV / "
                         "the report has no table to write as CSV")
    return next((t for t in tables if t.get("id") == "projects"), tables[0])


def _csv_cell(value, decimals) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if decimals is not None and is_number(value):
        return plain_number(value, decimals)
    return guard_text(str(value))


def render_csv(report: dict) -> bytes:
    """The report's projects table as CSV: UTF-8 with BOM, so Excel reads the Chinese.

    The header holds the Chinese titles with their units; numbers are plain decimals.
    """
    table = export_table(report)
    columns = table["columns"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([guard_text(heading(c)) for c in columns])
    for row in table["rows"]:
        writer.writerow([_csv_cell(row.get(c["id"]), c.get("decimals")) for c in columns])
    return out.getvalue().encode("utf-8-sig")


def _require_map(report: dict, fmt: str) -> dict:
    if not report.get("map"):
        raise ValueError(f"该报告没有地图（如定期统计报表），无法导出为 {fmt} / "
                         f"the report has no map (e.g. a periodic report), so it cannot "
                         f"be written as {fmt}")
    return report["map"]


def _project_columns(report: dict, projects: list[dict]) -> list[dict]:
    """The projects' attribute columns: the projects table's, then any other key they hold."""
    known = {}
    tables = [t for t in report.get("tables") or [] if t.get("id") == "projects"]
    for column in tables[0]["columns"] if tables else []:
        known[column["id"]] = column
    for project in projects:
        for key in project:
            if key not in known and key not in _POSITION:
                numeric = all(is_number(p.get(key)) or p.get(key) is None for p in projects)
                known[key] = {"id": key, "title": key, "unit": "",
                              "decimals": 2 if numeric else None}
    return [c for c in known.values() if c["id"] not in _POSITION]


def _json_value(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _position(project: dict) -> Point | None:
    lon, lat = project.get("lon"), project.get("lat")
    if not (is_number(lon) and is_number(lat)):
        return None
    return Point(round(float(lon), COORD_DECIMALS), round(float(lat), COORD_DECIMALS))


def _boundary(geometry: dict | None):
    """The district's boundary rounded, wound counter-clockwise as RFC 7946 §3.1.6 asks."""
    if not geometry:
        return None
    geom = shapely.transform(shape(geometry), lambda xy: np.round(xy, COORD_DECIMALS))
    if isinstance(geom, Polygon):
        return orient(geom)
    if isinstance(geom, MultiPolygon):
        return MultiPolygon([orient(part) for part in geom.geoms])
    return geom


def _feature(geom, properties: dict) -> dict:
    return {"type": "Feature", "geometry": None if geom is None else mapping(geom),
            "properties": properties}


def _metadata(report: dict) -> dict:
    return {"title": report.get("title", ""), "subtitle": report.get("subtitle", ""),
            "made_at": report.get("made_at", ""), "data_version": report.get("data_version"),
            "filters": [list(f) for f in report.get("filters") or []],
            "scope_note": report.get("scope_note", "")}


def render_geojson(report: dict) -> bytes:
    """The district and its projects as an RFC 7946 FeatureCollection in lon/lat.

    The report's title, time and filters go in a top-level ``metadata`` member: RFC 7946
    §6.1 allows such foreign members and GIS software ignores them, whereas properties
    repeated on every feature would bloat the file and pollute its attribute table.
    """
    the_map = _require_map(report, "GeoJSON")
    district = report.get("district") or {}
    projects = the_map.get("projects") or []
    columns = [c["id"] for c in _project_columns(report, projects)]
    boundary = _boundary(the_map.get("boundary"))
    features = [_feature(boundary, {"kind": "district", "code": district.get("code"),
                                    "name": district.get("name")})]
    for project in projects:
        properties = {"kind": "project"}
        properties.update((k, _json_value(project.get(k))) for k in columns if k != "kind")
        features.append(_feature(_position(project), properties))
    shapes = [g for g in [boundary, *map(_position, projects)] if g is not None]
    collection = {"type": "FeatureCollection", "metadata": _metadata(report),
                  "features": features}
    if shapes:
        bounds = shapely.total_bounds(shapes)
        collection["bbox"] = [round(float(b), COORD_DECIMALS) for b in bounds]
    return json.dumps(collection, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _series(column: dict, values: list) -> pd.Series:
    """A column with a GeoPackage-friendly type: integers, reals or text."""
    if column.get("decimals") is None:
        return pd.Series([None if v is None else str(v) for v in values], dtype="object")
    numbers = [float(v) if is_number(v) else None for v in values]
    if column["decimals"] == 0 and all(n is None or n.is_integer() for n in numbers):
        return pd.Series([None if n is None else int(n) for n in numbers], dtype="Int64")
    return pd.Series([np.nan if n is None else n for n in numbers], dtype="float64")


def _projects_frame(columns: list[dict], projects: list[dict]) -> gpd.GeoDataFrame:
    data = {c["id"]: _series(c, [p.get(c["id"]) for p in projects]) for c in columns}
    return gpd.GeoDataFrame(data, geometry=[_position(p) for p in projects], crs=CRS)


def _description(report: dict, columns: list[dict]) -> str:
    """The layer's description: the report it comes from and what each column means."""
    filters = "；".join(f"{label}：{value}" for label, value in report.get("filters") or [])
    fields = "，".join(f"{c['id']}={heading(c)}" for c in columns)
    return "\n".join(p for p in (report.get("title", ""), f"生成时间：{report.get('made_at', '')}",
                                 filters, report.get("scope_note", ""),
                                 f"字段：{fields}" if fields else "") if p)


def render_gpkg(report: dict) -> bytes:
    """The district ("district") and its projects ("projects") as a GeoPackage in EPSG:4326.

    GDAL writes to a file, so the package is built in a temporary directory and read back.
    """
    the_map = _require_map(report, "GeoPackage")
    district = report.get("district") or {}
    projects = the_map.get("projects") or []
    district_frame = gpd.GeoDataFrame(
        {"code": [district.get("code")], "name": [district.get("name")]},
        geometry=[_boundary(the_map.get("boundary"))], crs=CRS)
    columns = _project_columns(report, projects)
    projects_frame = _projects_frame(columns, projects)
    name = district.get("name") or ""
    with tempfile.TemporaryDirectory(prefix="riskmap-gpkg-") as folder:
        path = Path(folder) / "report.gpkg"
        district_frame.to_file(
            path, layer="district", driver="GPKG", engine="pyogrio", promote_to_multi=True,
            geometry_type="MultiPolygon",
            layer_options={"IDENTIFIER": f"{name}边界", "DESCRIPTION": _description(report, [])})
        projects_frame.to_file(
            path, layer="projects", driver="GPKG", engine="pyogrio", geometry_type="Point",
            layer_options={"IDENTIFIER": f"{name}项目",
                           "DESCRIPTION": _description(report, columns)})
        return path.read_bytes()
