"""Reading the files offices really send: encodings, title rows, merged headers, GIS formats.

Every fixture is built here in tmp_path, so the repository ships no binary test files.
"""

from __future__ import annotations

import json
import zipfile
from datetime import datetime

import geopandas as gpd
import pytest
import shapely
from openpyxl import Workbook
from shapely.geometry import Point, Polygon

from loaders.imports.readers import SourceError, read_table

KNOWN = {"项目名称", "报建号", "建筑面积（m²）", "建筑面积(m²)", "建筑面积（㎡）", "保费（万元）",
         "保费(万元)", "保险金额", "金额（元）", "比例", "project_name", "permit_no"}
HEADER = ["项目名称", "报建号", "建筑面积（m²）", "保费（万元）"]
# "²" is not in GBK (only in GB18030), so GBK files from Excel/WPS write the unit as "㎡".
GBK_HEADER = ["项目名称", "报建号", "建筑面积（㎡）", "保费（万元）"]
ROWS = [["五华区翠湖雅苑", "KM2024-001", "86000.5", "120.3"],
        ["呈贡区春城花园（二期）", "KM2024-002", "45000", "66"]]
TITLE = "2024年昆明市住宅工程质量潜在缺陷保险承保清单"


def _csv(tmp_path, lines: list[str], encoding: str = "utf-8", name: str = "清单.csv"):
    path = tmp_path / name
    path.write_bytes("\r\n".join(lines).encode(encoding) + b"\r\n")
    return path


def _lines(delimiter: str = ",", header: list[str] = HEADER) -> list[str]:
    return [delimiter.join(row) for row in [header, *ROWS]]


# --- CSV ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("encoding", "reported", "header"), [
    ("utf-8", "utf-8", HEADER), ("utf-8-sig", "utf-8-sig", HEADER),
    ("gbk", "gb18030", GBK_HEADER), ("gb18030", "gb18030", HEADER),
    ("utf-16", "utf-16", HEADER)])
def test_csv_encodings_are_detected_and_chinese_survives(tmp_path, encoding, reported, header):
    table = read_table(_csv(tmp_path, _lines(",", header), encoding), known_headers=KNOWN)
    assert table.encoding == reported
    assert table.headers == header  # the BOM is not glued to the first header
    assert table.header_row == 1
    assert [r.number for r in table.rows] == [2, 3]
    assert table.rows[0].cells == dict(zip(header, ROWS[0], strict=True))
    assert table.rows[1].cells["项目名称"] == "呈贡区春城花园（二期）"
    assert (table.sheet, table.crs) == (None, None)


def test_csv_given_encoding_is_used_and_a_wrong_one_is_reported(tmp_path):
    path = _csv(tmp_path, _lines(",", GBK_HEADER), "gbk")
    assert read_table(path, known_headers=KNOWN, encoding="gbk").encoding == "gbk"
    with pytest.raises(SourceError, match="清单.csv.*utf-8"):
        read_table(path, known_headers=KNOWN, encoding="utf-8")


def test_csv_title_and_blank_rows_keep_the_row_numbers_a_user_sees(tmp_path):
    header, first, second = _lines(",", GBK_HEADER)
    lines = [TITLE + ",,,", ",,,", header, first, ",,,", "", second, "  , ,,"]
    table = read_table(_csv(tmp_path, lines, "gbk"), known_headers=KNOWN)
    assert table.header_row == 3
    assert [r.number for r in table.rows] == [4, 7]
    assert table.rows[0].cells["项目名称"] == "五华区翠湖雅苑"


def test_csv_tab_and_semicolon_delimiters_are_sniffed(tmp_path):
    for delimiter in ("\t", ";"):
        path = _csv(tmp_path, [TITLE, *_lines(delimiter)], name="清单.txt")
        table = read_table(path, known_headers=KNOWN)
        assert table.headers == HEADER
        assert table.rows[1].cells["建筑面积（m²）"] == "45000"


def test_csv_headers_match_with_ascii_brackets_and_spaces_but_come_back_as_written(tmp_path):
    header = " 项目 名称 ,报建号,建筑面积(m²),保费 (万元)"
    table = read_table(_csv(tmp_path, [header, "翠湖雅苑,KM-1,100"]), known_headers=KNOWN)
    assert table.headers == ["项目 名称", "报建号", "建筑面积(m²)", "保费 (万元)"]
    assert table.rows[0].cells["保费 (万元)"] == ""  # short rows are padded, not shifted


def test_csv_without_a_known_header_in_20_rows_names_the_file(tmp_path):
    lines = [f"说明第{i}行,,," for i in range(20)] + _lines()
    with pytest.raises(SourceError, match=r"清单\.csv.*20") as caught:
        read_table(_csv(tmp_path, lines), known_headers=KNOWN)
    assert "报建号" in str(caught.value)  # it lists some expected names


def test_csv_with_one_known_column_is_not_a_header(tmp_path):
    with pytest.raises(SourceError, match="20"):
        read_table(_csv(tmp_path, ["项目名称,备注", "翠湖雅苑,无"]), known_headers=KNOWN)


def test_duplicate_headers_are_named(tmp_path):
    path = _csv(tmp_path, ["项目名称,报建号,报建号", "翠湖雅苑,KM-1,KM-2"])
    with pytest.raises(SourceError, match="报建号") as caught:
        read_table(path, known_headers=KNOWN)
    assert "duplicate" in str(caught.value)


# --- XLSX ---------------------------------------------------------------------------------

def _workbook(tmp_path, name: str = "清单.xlsx"):
    wb = Workbook()
    ws = wb.active
    ws.title = "承保清单"
    ws["A1"] = TITLE
    ws.merge_cells("A1:D1")
    ws.append([])
    ws.append(["项目名称", "报建号", "起保日期", "建筑面积（m²）"])
    ws.append(["五华区翠湖雅苑", "KM2024-001", datetime(2024, 3, 15), 86000.5])
    ws.append([None, None, None, None])
    ws.append(["官渡区螺蛳湾小区", "KM2024-003", datetime(2024, 5, 1), 12000])
    return wb, tmp_path / name


def test_xlsx_title_row_merged_and_cell_types_kept(tmp_path):
    wb, path = _workbook(tmp_path)
    wb.save(path)
    table = read_table(path, known_headers=KNOWN)
    assert (table.sheet, table.header_row) == ("承保清单", 3)
    assert table.headers == ["项目名称", "报建号", "起保日期", "建筑面积（m²）"]
    assert [r.number for r in table.rows] == [4, 6]
    first, second = (r.cells for r in table.rows)
    assert first["起保日期"] == datetime(2024, 3, 15)
    assert first["建筑面积（m²）"] == 86000.5 and isinstance(second["建筑面积（m²）"], int)
    assert first["项目名称"] == "五华区翠湖雅苑"


def test_xlsx_two_row_header_with_merged_group_cell(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws["A1"] = TITLE
    ws.merge_cells("A1:E1")
    ws.append(["项目名称", "报建号", "保险金额", None, "备注"])
    ws.append([None, None, "金额（元）", "比例", None])
    ws.merge_cells("A2:A3")   # 项目名称 spans both header rows
    ws.merge_cells("B2:B3")
    ws.merge_cells("C2:D2")   # the group header over its two sub-headers
    ws.merge_cells("E2:E3")
    ws.append(["五华区翠湖雅苑", "KM2024-001", 5000000, 0.3, "首期"])
    path = tmp_path / "分组表头.xlsx"
    wb.save(path)
    table = read_table(path, known_headers=KNOWN)
    assert table.headers == ["项目名称", "报建号", "金额（元）", "比例", "备注"]
    assert [r.number for r in table.rows] == [4]
    assert table.rows[0].cells == {"项目名称": "五华区翠湖雅苑", "报建号": "KM2024-001",
                                   "金额（元）": 5000000, "比例": 0.3, "备注": "首期"}


def test_xlsx_merged_group_header_without_sub_headers_is_a_duplicate(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["项目名称", "报建号", "保险金额", None])
    ws.merge_cells("C1:D1")
    ws.append(["翠湖雅苑", "KM-1", 1, 2])
    path = tmp_path / "重复.xlsx"
    wb.save(path)
    with pytest.raises(SourceError, match="保险金额"):
        read_table(path, known_headers=KNOWN)


def test_xlsx_sheet_by_name_and_first_sheet_with_a_header(tmp_path):
    wb, path = _workbook(tmp_path)
    notes = wb.create_sheet("填表说明", 0)  # a cover sheet before the data
    notes["A1"] = "请按模板填写"
    other = wb.create_sheet("英文")
    other.append(["project_name", "permit_no"])
    other.append(["Cuihu Yayuan", "KM-9"])
    wb.save(path)
    assert read_table(path, known_headers=KNOWN).sheet == "承保清单"
    table = read_table(path, known_headers=KNOWN, sheet="英文")
    assert (table.sheet, table.header_row, table.rows[0].number) == ("英文", 1, 2)
    assert table.rows[0].cells == {"project_name": "Cuihu Yayuan", "permit_no": "KM-9"}


def test_xlsx_missing_sheet_lists_the_sheets(tmp_path):
    wb, path = _workbook(tmp_path)
    wb.create_sheet("汇总")
    wb.save(path)
    with pytest.raises(SourceError, match="承保清单.*汇总") as caught:
        read_table(path, known_headers=KNOWN, sheet="2023")
    assert "清单.xlsx" in str(caught.value) and "2023" in str(caught.value)


def test_xlsx_without_header_names_the_file(tmp_path):
    wb = Workbook()
    wb.active.append(["随便", "什么"])
    path = tmp_path / "无表头.xlsx"
    wb.save(path)
    with pytest.raises(SourceError, match=r"无表头\.xlsx.*20"):
        read_table(path, known_headers=KNOWN)


def test_old_excel_and_unknown_formats_are_refused_clearly(tmp_path):
    xls = tmp_path / "清单.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(SourceError, match=r"清单\.xls.*\.xlsx"):
        read_table(xls, known_headers=KNOWN)
    doc = tmp_path / "清单.docx"
    doc.write_bytes(b"")
    with pytest.raises(SourceError, match=r"\.gpkg"):
        read_table(doc, known_headers=KNOWN)
    with pytest.raises(SourceError, match="不是有效|cannot be opened"):
        bad = tmp_path / "坏.xlsx"
        bad.write_bytes(b"not a zip")
        read_table(bad, known_headers=KNOWN)


# --- GeoJSON, GeoPackage, Shapefile -------------------------------------------------------

POINTS = [(102.7046, 25.0406), (102.8012, 24.8765)]
NAMES = ["五华区翠湖雅苑", "呈贡区春城花园"]


def _points(crs: str = "EPSG:4326", points=POINTS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"项目名称": NAMES, "报建号": ["KM-1", "KM-2"], "户数": [1150, 300]},
                            geometry=[Point(p) for p in points], crs=crs)


def _assert_points(table, points=POINTS):
    rows = table.rows[:2]
    assert table.headers == ["项目名称", "报建号", "户数"]
    assert table.header_row is None
    assert [r.number for r in rows] == [1, 2]
    assert [r.cells["项目名称"] for r in rows] == NAMES
    assert [(r.cells["__x"], r.cells["__y"]) for r in rows] == points
    assert rows[0].cells["户数"] == 1150


def test_geojson_points_with_chinese_properties(tmp_path):
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": list(p)},
                 "properties": {"项目名称": n, "报建号": f"KM-{i}", "户数": [1150, 300][i - 1]}}
                for i, (n, p) in enumerate(zip(NAMES, POINTS, strict=True), 1)]
    features.append({"type": "Feature", "geometry": None,
                     "properties": {"项目名称": "无坐标", "报建号": "KM-3", "户数": None}})
    path = tmp_path / "项目.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False), encoding="utf-8")
    table = read_table(path, known_headers=KNOWN)
    assert table.crs == "EPSG:4326"
    _assert_points(table)
    last = table.rows[2]
    assert last.number == 3 and "__x" not in last.cells and last.cells["户数"] is None


def test_geopackage_in_cgcs2000_gauss_kruger(tmp_path):
    projected = [(502345.25, 2771234.5), (510000.0, 2750000.75)]
    path = tmp_path / "项目.gpkg"
    _points("EPSG:4543", projected).to_file(path, layer="项目", engine="pyogrio")
    table = read_table(path, known_headers=KNOWN)
    assert (table.crs, table.sheet) == ("EPSG:4543", "项目")
    _assert_points(table, projected)


def test_geopackage_layer_by_name_and_missing_layer(tmp_path):
    path = tmp_path / "多图层.gpkg"
    _points().to_file(path, layer="一期", engine="pyogrio")
    _points().iloc[:1].to_file(path, layer="二期", engine="pyogrio")
    assert len(read_table(path, known_headers=KNOWN, sheet="二期").rows) == 1
    with pytest.raises(SourceError, match="一期.*二期"):
        read_table(path, known_headers=KNOWN, sheet="三期")


@pytest.mark.parametrize(("cpg", "reported"), [
    (None, "GBK"),            # older Chinese GIS tools write no .cpg at all
    ("936", "CP936"),         # ArcGIS writes code page numbers, which GDAL half understands
    ("ANSI 936\n", "CP936")])
def test_gbk_shapefile_decodes_with_or_without_cpg(tmp_path, cpg, reported):
    path = tmp_path / "项目.shp"
    _points().to_file(path, engine="pyogrio", encoding="GBK")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    if cpg is not None:
        path.with_suffix(".cpg").write_text(cpg, encoding="ascii")
    table = read_table(path, known_headers=KNOWN)
    assert (table.encoding, table.crs) == (reported, "EPSG:4326")
    _assert_points(table)


def test_utf8_shapefile_with_cpg(tmp_path):
    # A dbf field name holds 10 bytes: 4 Chinese characters fit in GBK (8) but not UTF-8 (12).
    gdf = _points().rename(columns={"项目名称": "名称"})
    path = tmp_path / "utf8.shp"
    gdf.to_file(path, engine="pyogrio", encoding="UTF-8")
    assert path.with_suffix(".cpg").read_text().strip() == "UTF-8"
    table = read_table(path, known_headers=KNOWN)
    assert table.encoding == "UTF-8"
    assert [r.cells["名称"] for r in table.rows] == NAMES


def test_zipped_shapefile_with_polygon_footprints(tmp_path):
    square = Polygon([(102.70, 25.04), (102.71, 25.04), (102.71, 25.05), (102.70, 25.05)])
    gdf = gpd.GeoDataFrame({"项目名称": ["五华区翠湖雅苑", "空"]}, geometry=[square, None],
                           crs="EPSG:4326")
    folder = tmp_path / "shp"
    folder.mkdir()
    gdf.to_file(folder / "楼栋.shp", engine="pyogrio", encoding="GBK")
    (folder / "楼栋.cpg").unlink(missing_ok=True)
    path = tmp_path / "楼栋.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for part in folder.iterdir():
            archive.write(part, f"导出/{part.name}")
    table = read_table(path, known_headers=KNOWN)
    assert (table.path, table.encoding, table.crs) == (path, "GBK", "EPSG:4326")
    cells = table.rows[0].cells
    assert cells["项目名称"] == "五华区翠湖雅苑"
    footprint = shapely.from_wkb(cells["__footprint_wkb"])
    assert footprint.equals(square)
    assert footprint.contains(Point(cells["__x"], cells["__y"]))
    assert not {"__x", "__footprint_wkb"} & set(table.rows[1].cells)


def test_zip_without_a_shapefile_is_refused(tmp_path):
    path = tmp_path / "空.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("说明.txt", "无")
    with pytest.raises(SourceError, match=r"空\.zip.*\.shp"):
        read_table(path, known_headers=KNOWN)
