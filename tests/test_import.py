"""Importing project and organisation files: all or nothing, idempotent, every rule explained."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import importing
import pytest
from importing import demo_store
from pyproj import Geod
from sqlalchemy import text

from geo import codes, coords
from loaders.imports.columns import PROJECTS
from loaders.imports.templates import write_template

HEADERS = [c.template_header for c in PROJECTS]
GOOD_USCC = "91530100MA6K7XQ202"


@pytest.fixture(scope="module")
def store(make_database):
    return demo_store(make_database)


@pytest.fixture(scope="module")
def sites(store):
    """A point well inside each of a few Kunming districts: code, name, lon, lat."""
    with store.connect() as conn:
        return conn.execute(text("""SELECT code, name, ST_X(p), ST_Y(p) FROM (
            SELECT code, name, ST_PointOnSurface(boundary) AS p FROM district
            WHERE code IN ('530102', '530103', '530111')) s ORDER BY code""")).all()


def project_row(site, permit: str, **changes) -> dict:
    code, name, lon, lat = site
    row = {"报建号": permit, "项目名称": f"测试项目{permit}", "小区名称": "翠湖雅苑",
           "项目地址": f"{name}人民路1号", "所在区县": name, "经度": f"{lon:.6f}",
           "纬度": f"{lat:.6f}", "建设单位": "测试置业有限公司", "建设单位统一社会信用代码": GOOD_USCC,
           "施工单位": "测试建设集团有限公司", "监理单位": "", "设计单位": "", "勘察单位": "",
           "建筑面积（㎡）": "120,000", "户数（户）": "1100", "建安造价（万元）": "42000",
           "项目阶段": "已交付", "开工日期": "2019年3月1日", "竣工验收日期": "2021/6/30",
           "交付日期": "2021-12-01"}
    row.update(changes)
    return row


def write_csv(path: Path, rows: list[dict], encoding: str = "utf-8-sig") -> Path:
    return importing.write_csv(path, HEADERS, rows, encoding)


def run_import(engine, path: Path, **options):
    return importing.run_import(engine, "projects", path, **options)


def snapshot(engine) -> tuple:
    with engine.connect() as conn:
        return (conn.execute(text("SELECT count(*), md5(string_agg(permit_no || name, ',' "
                                  "ORDER BY permit_no)) FROM project")).one(),
                conn.execute(text("SELECT count(*) FROM import_log")).scalar_one(),
                conn.execute(text("SELECT count(*) FROM organisation")).scalar_one())


def test_a_gbk_csv_imports_and_a_second_import_changes_nothing(store, sites, tmp_path):
    rows = [project_row(sites[i], f"T-GBK-{i}") for i in range(3)]
    path = write_csv(tmp_path / "projects.csv", rows, encoding="gbk")
    first = run_import(store, path)
    assert (first.errors, first.inserted, first.updated) == ([], 3, 0)
    with store.connect() as conn:
        row = conn.execute(text("""SELECT p.name, p.construction_cost_yuan, p.gross_floor_area_m2,
            p.completion_date::text, o.name AS developer, o.uscc FROM project p
            JOIN organisation o ON o.id = p.developer_id WHERE permit_no = 'T-GBK-0'""")).one()
    assert row.name == "测试项目T-GBK-0" and row.construction_cost_yuan == 420_000_000
    assert row.gross_floor_area_m2 == 120_000 and row.completion_date == "2021-06-30"
    assert (row.developer, row.uscc) == ("测试置业有限公司", GOOD_USCC)
    again = run_import(store, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    rows[1]["项目名称"] = "改名后的项目"
    corrected = run_import(store, write_csv(tmp_path / "fixed.csv", rows))
    assert (corrected.inserted, corrected.updated, corrected.unchanged) == (0, 1, 2)


BAD_CELLS = [
    ({"开工日期": "2023-02-30"}, "开工日期"),
    ({"建安造价（万元）": "-5"}, "建安造价"),
    ({"建设单位统一社会信用代码": "91530100MA6K7XQ12B"}, "统一社会信用代码"),
    ({"所在区县": "不存在区"}, "所在区县"),
    ({"经度": "2.35", "纬度": "48.85"}, "经度"),                   # Paris: outside China
    ({"经度": "25.040000", "纬度": "102.700000"}, "经度"),         # swapped
    ({"经度": "116.397", "纬度": "39.909"}, "经度"),               # Beijing: outside the city
    ({"项目阶段": "已交付", "竣工验收日期": "", "交付日期": ""}, "项目阶段"),
    ({"户数（户）": "很多"}, "户数"),
    ({"项目名称": ""}, "项目名称"),
]


@pytest.mark.parametrize(("changes", "column"), BAD_CELLS)
def test_a_bad_row_writes_nothing_and_says_where(store, sites, tmp_path, changes, column):
    before = snapshot(store)
    rows = [project_row(sites[0], "T-OK-1"), project_row(sites[1], "T-BAD-1", **changes)]
    result = run_import(store, write_csv(tmp_path / "bad.csv", rows))
    assert snapshot(store) == before and not result.written
    assert [p.row for p in result.errors] == [3]  # header on line 1: the second row is line 3
    assert column in result.errors[0].column and result.errors[0].reason


def test_reasons_name_the_rule(store, sites, tmp_path):
    rows = [project_row(sites[0], "T-R-1", 经度="25.040000", 纬度="102.700000"),
            project_row(sites[0], "T-R-2", 经度="116.397", 纬度="39.909"),
            project_row(sites[0], "T-R-1")]
    result = run_import(store, write_csv(tmp_path / "reasons.csv", rows))
    reasons = " ".join(p.reason for p in result.errors)
    assert "填反" in reasons and "范围内" in reasons and "重复" in reasons


def test_a_missing_required_column_is_a_file_error(store, tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("报建号,项目名称\nX-1,某项目\n", encoding="utf-8")
    result = run_import(store, path)
    assert result.errors and result.errors[0].row is None
    assert "建设单位" in " ".join(p.reason for p in result.errors)


def test_partial_loads_only_the_valid_rows(store, sites, tmp_path):
    rows = [project_row(sites[0], "T-P-1"), project_row(sites[1], "T-P-2", 开工日期="昨天")]
    result = run_import(store, write_csv(tmp_path / "partial.csv", rows), partial=True)
    assert result.written and result.inserted == 1 and result.rejected_rows == 1


def test_dry_run_counts_and_keeps_nothing(store, sites, tmp_path):
    before = snapshot(store)
    result = run_import(store, write_csv(tmp_path / "dry.csv", [project_row(sites[2], "T-D-1")]),
                        dry_run=True)
    assert result.inserted == 1 and not result.written and snapshot(store) == before


def test_a_point_outside_its_stated_district_is_reported_not_refused(store, sites, tmp_path):
    row = project_row(sites[0], "T-W-1", 所在区县=sites[1][1])
    result = run_import(store, write_csv(tmp_path / "warn.csv", [row]))
    assert result.inserted == 1 and not result.errors
    assert "不符" in result.warnings[0].reason


def test_a_gcj02_file_lands_within_a_metre_of_the_truth(store, sites, tmp_path):
    _, _, lon, lat = sites[1]
    gcj_lon, gcj_lat = coords.wgs84_to_gcj02(lon, lat)
    row = project_row(sites[1], "T-GCJ-1", 经度=f"{gcj_lon:.7f}", 纬度=f"{gcj_lat:.7f}")
    result = run_import(store, write_csv(tmp_path / "gcj.csv", [row]), crs="gcj02")
    assert result.inserted == 1
    with store.connect() as conn:
        x, y = conn.execute(text("SELECT ST_X(location), ST_Y(location) FROM project "
                                 "WHERE permit_no = 'T-GCJ-1'")).one()
    assert Geod(ellps="WGS84").inv(lon, lat, x, y)[2] < 1.0


def test_the_template_imports_as_it_is(store, tmp_path):
    path = write_template("projects", tmp_path / "projects-template.xlsx")
    result = run_import(store, path)
    assert result.errors == [] and result.inserted + result.updated + result.unchanged == 1


def test_an_interrupted_import_leaves_the_store_as_it_was(store, sites, tmp_path):
    """The process dies after writing every row but before committing: nothing stays."""
    before = snapshot(store)
    path = write_csv(tmp_path / "killed.csv",
                     [project_row(sites[i % 3], f"T-K-{i}") for i in range(50)])
    script = f"""
import os, signal
from pathlib import Path
from geo import store
from loaders.imports.run import import_file
engine = store.make_engine({store.url.render_as_string(hide_password=False)!r})
with engine.begin() as conn:
    result = import_file(conn, "projects", Path({str(path)!r}), city="530100", actor="test")
    assert result.inserted == 50, result.errors
    os.kill(os.getpid(), signal.SIGKILL)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={**os.environ})
    assert done.returncode == -9, done.stderr
    assert snapshot(store) == before


def test_uscc_check_character_is_what_makes_the_example_valid():
    assert codes.is_uscc(GOOD_USCC)


def test_a_credit_code_that_belongs_to_another_organisation_is_refused(store, sites, tmp_path):
    run_import(store, write_csv(tmp_path / "one.csv", [project_row(sites[0], "T-U-1")]))
    other = project_row(sites[1], "T-U-2", 建设单位="另一家置业有限公司")
    result = run_import(store, write_csv(tmp_path / "two.csv", [other]))
    assert not result.written and "已属于" in result.errors[0].reason


def _parsed(row: dict) -> dict:
    """The row with numbers and dates as a GIS or Excel file would hold them."""
    out = dict(row)
    out["建筑面积（㎡）"] = 120000.0
    out["户数（户）"] = 1100
    return out


def test_an_xlsx_with_a_title_row_excel_dates_and_wan_yuan(store, sites, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "承保清单"
    sheet.append(["2024年昆明市住宅工程质量潜在缺陷保险项目清单"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    sheet.append(HEADERS)
    row = _parsed(project_row(sites[0], "T-X-1"))
    row["竣工验收日期"] = 44377  # Excel's serial number of 2021-06-30
    sheet.append([row[h] for h in HEADERS])
    path = tmp_path / "清单.xlsx"
    book.save(path)
    result = run_import(store, path, sheet="承保清单")
    assert result.errors == [] and result.inserted == 1
    with store.connect() as conn:
        done, cost = conn.execute(text("SELECT completion_date::text, construction_cost_yuan "
                                       "FROM project WHERE permit_no = 'T-X-1'")).one()
    assert done == "2021-06-30" and cost == 420_000_000


def _gdf(rows: list[dict], xs, ys, crs: str):
    import geopandas as gpd

    frame = gpd.GeoDataFrame([{k: v for k, v in r.items() if k not in ("经度", "纬度")}
                              for r in rows], geometry=gpd.points_from_xy(xs, ys), crs=crs)
    return frame


def test_geojson_geopackage_and_gbk_shapefile(store, sites, tmp_path):
    rows = [_parsed(project_row(sites[i], f"T-G-{i}")) for i in range(3)]
    lon = [s[2] for s in sites]
    lat = [s[3] for s in sites]
    _gdf(rows[:1], lon[:1], lat[:1], "EPSG:4326").to_file(tmp_path / "p.geojson")
    x, y = coords.transform(lon[1], lat[1], "wgs84", 4543)  # CGCS2000 Gauss-Krüger CM 102E
    _gdf(rows[1:2], [x], [y], "EPSG:4543").to_file(tmp_path / "p.gpkg", layer="projects")
    shp = tmp_path / "p.shp"
    short = [{"报建号": r["报建号"], "项目名称": r["项目名称"], "建设单位": r["建设单位"],
              "建筑面积": r["建筑面积（㎡）"], "户数": r["户数（户）"], "建安造价": 42000,
              "项目阶段": r["项目阶段"], "开工日期": r["开工日期"], "竣工日期": r["竣工验收日期"],
              "交付日期": r["交付日期"]} for r in rows[2:]]
    _gdf(short, lon[2:], lat[2:], "EPSG:4326").to_file(shp, encoding="GBK")
    shp.with_suffix(".cpg").unlink(missing_ok=True)  # older Chinese GIS tools write none
    for path in (tmp_path / "p.geojson", tmp_path / "p.gpkg", shp):
        result = run_import(store, path)
        assert result.errors == [] and result.inserted == 1, (path.name, result.errors)
    with store.connect() as conn:
        placed = conn.execute(text("""SELECT permit_no, name, ST_X(location), ST_Y(location)
            FROM project WHERE permit_no LIKE 'T-G-%' ORDER BY permit_no""")).all()
    assert [p.name for p in placed] == [r["项目名称"] for r in rows]  # GBK names intact
    for (_, _, px, py), x0, y0 in zip(placed, lon, lat, strict=True):
        assert Geod(ellps="WGS84").inv(x0, y0, px, py)[2] < 0.01


def test_the_command_prints_each_error_and_writes_the_report(app, sites, tmp_path):
    from webmap.cli import main

    rows = [project_row(sites[0], "T-C-1", 开工日期="2023-02-30")]
    path = write_csv(tmp_path / "项目（命令行）.csv", rows)  # names shown to the admin: no English
    report = tmp_path / "errors.xlsx"
    result = app.test_cli_runner().invoke(main, ["import", "projects", str(path), "--errors",
                                                 str(report)])
    assert result.exit_code == 1 and "第2行" in result.output and "开工日期" in result.output
    assert "nothing was written" in result.output
    from openpyxl import load_workbook

    sheet = load_workbook(report).active
    assert [c.value for c in sheet[2]][:2] == [2, "开工日期"]


def test_the_readme_documents_every_import_column():
    from loaders.imports.registry import KINDS
    from loaders.imports.templates import markdown_columns

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for kind in KINDS:
        assert markdown_columns(kind) in readme, f"README lacks the columns of {kind}"


def test_a_file_without_some_columns_keeps_their_stored_values(store, sites, tmp_path):
    run_import(store, write_csv(tmp_path / "full.csv", [project_row(sites[0], "T-S-1")]))
    short_headers = ["报建号", "项目名称", "经度", "纬度", "建设单位", "建筑面积（㎡）", "户数（户）",
                     "建安造价（万元）", "项目阶段", "竣工验收日期", "交付日期"]
    row = {h: v for h, v in project_row(sites[0], "T-S-1", 项目名称="新名称").items()
           if h in short_headers}
    result = run_import(store, importing.write_csv(tmp_path / "short.csv", short_headers, [row]))
    assert result.errors == [] and result.updated == 1
    with store.connect() as conn:
        kept = conn.execute(text("""SELECT p.name, p.community, p.address, p.start_date::text,
            o.name AS contractor FROM project p JOIN organisation o ON o.id = p.contractor_id
            WHERE permit_no = 'T-S-1'""")).one()
    assert tuple(kept) == ("新名称", "翠湖雅苑", f"{sites[0][1]}人民路1号", "2019-03-01",
                           "测试建设集团有限公司")


def test_two_headers_for_one_column_are_a_file_error(store, sites, tmp_path):
    path = tmp_path / "twice.csv"
    headers = [*HEADERS, "项目编号"]
    row = {**project_row(sites[0], "T-T-1"), "项目编号": "XM-001"}
    result = run_import(store, importing.write_csv(path, headers, [row]))
    assert not result.written and result.errors[0].row is None
    assert "报建号" in result.errors[0].reason and "项目编号" in result.errors[0].column


def test_a_value_too_big_for_the_store_is_refused_without_a_traceback(store, sites, tmp_path):
    before = snapshot(store)
    row = project_row(sites[0], "T-BIG-1", **{"户数（户）": "3000000000"})
    result = run_import(store, write_csv(tmp_path / "big.csv", [row]))
    assert not result.written and snapshot(store) == before
    assert "户数" in result.errors[0].column or "数据库" in result.errors[0].reason


def test_a_second_import_of_the_same_file_leaves_the_data_version_alone(store, sites, tmp_path):
    path = write_csv(tmp_path / "same.csv", [project_row(sites[2], "T-V-1")])
    run_import(store, path)
    with store.connect() as conn:
        before = conn.execute(text("SELECT version FROM data_version")).scalar_one()
    assert run_import(store, path).unchanged == 1
    with store.connect() as conn:
        after, logged = conn.execute(text("""SELECT (SELECT version FROM data_version),
            (SELECT count(*) FROM import_log WHERE file_name = 'same.csv')""")).one()
    assert after == before and logged == 2  # both imports recorded, the maps' caches kept


def test_the_five_templates_import_in_order_into_an_empty_store(make_database, tmp_path):
    """The README's walk-through: every template, as written, in the order it gives."""
    from loaders.imports.registry import KINDS

    engine = demo_store(make_database)
    for kind in ("organisations", "projects", "policies", "risk-events", "claims"):
        assert kind in KINDS
        result = importing.run_import(engine, kind,
                                      write_template(kind, tmp_path / f"{kind}.xlsx"))
        assert result.errors == [] and result.written, (kind, result.errors)
        assert result.inserted >= 1, kind
    with engine.connect() as conn:
        claim = conn.execute(text("SELECT c.status, c.paid_amount_yuan FROM claim c")).one()
    assert claim.status == "settled" and claim.paid_amount_yuan == 18000


def test_units_in_headers_scale_the_values(store, sites, tmp_path):
    headers = [h.replace("建筑面积（㎡）", "建筑面积（万㎡）").replace("建安造价（万元）", "建安造价（万）")
               for h in HEADERS]
    row = project_row(sites[0], "T-UNIT-1")
    row = {h.replace("建筑面积（㎡）", "建筑面积（万㎡）").replace("建安造价（万元）", "建安造价（万）"): v
           for h, v in row.items()}
    row["建筑面积（万㎡）"] = "12.5"
    result = run_import(store, importing.write_csv(tmp_path / "units.csv", headers, [row]))
    assert result.errors == []
    with store.connect() as conn:
        area, cost = conn.execute(text("SELECT gross_floor_area_m2, construction_cost_yuan "
                                       "FROM project WHERE permit_no = 'T-UNIT-1'")).one()
    assert area == 125_000 and cost == 420_000_000


def test_a_party_registered_as_another_kind_is_refused_in_plain_words(store, sites, tmp_path):
    run_import(store, write_csv(tmp_path / "a.csv", [project_row(sites[0], "T-K2-1")]))
    row = project_row(sites[1], "T-K2-2", 施工单位="测试置业有限公司")  # already a developer
    result = run_import(store, write_csv(tmp_path / "b.csv", [row]))
    assert not result.written and result.errors[0].column == "施工单位"
    assert "登记为「建设单位」，不能作为施工单位" in result.errors[0].reason
