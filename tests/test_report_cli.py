"""`riskmap report district|periodic`: the files it writes, read back with the tools a reader
would use (openpyxl, geopandas, pdftotext, pdftoppm)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import geopandas
import openpyxl
import pytest
from PIL import Image
from sqlalchemy import text
from tileserver import COLOURS, tile_server

from conftest import account
from geo.tenancy import Tenant
from layers.filters import Filters
from layers.reports import district_report
from webmap.cli import main
from webmap.scope import connection

WUHUA = "530102"


def run(app, *args: str):
    result = app.test_cli_runner().invoke(main, ["report", *args])
    assert result.exit_code == 0, result.output
    return result


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def district_pdf(app, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("reports") / "wuhua.pdf"
    run(app, "district", WUHUA, "--period", "2024", "--format", "pdf", "-o", str(path))
    return path


def test_the_district_pdf_names_the_district_and_holds_its_figures(app, district_pdf):
    with app.app_context():
        with connection(tenant=Tenant("regulator")) as conn:
            report = district_report(conn, app.config["CITY"], WUHUA,
                                     Filters.from_args({"period": "2024"}), Tenant("regulator"))
    words = pdf_text(district_pdf)
    assert "五华区住宅工程质量潜在缺陷保险区域报告" in words
    assert "2024-01-01 至 2024-12-31" in words
    premium = next(i for i in report["indicators"] if i["id"] == "premium_total")
    assert f"{premium['value']:,.{premium['decimals']}f}" in words
    assert f"{premium['city']:,.{premium['decimals']}f}" in words
    claims = report["tables"][2]["rows"]
    assert claims and claims[-1]["claim_no"] in words
    assert "第 1 页" in words


def test_the_first_page_of_the_pdf_renders_to_png(district_pdf, tmp_path):
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(district_pdf),
                    str(tmp_path / "page")], check=True)
    page = next(tmp_path.glob("page*.png"))
    image = page.read_bytes()
    assert image[:8] == b"\x89PNG\r\n\x1a\n" and len(image) > 20_000
    artifacts = Path(__file__).parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "district_report_page1.png").write_bytes(image)


def test_the_district_workbook_holds_its_sheets_and_numbers(app, kunming, tmp_path):
    path = tmp_path / "wuhua.xlsx"
    run(app, "district", WUHUA, "--format", "xlsx", "-o", str(path))
    book = openpyxl.load_workbook(path)
    assert {"概览", "承保统计", "风险统计", "理赔统计", "项目清单"} <= set(book.sheetnames)
    sheet = book["项目清单"]
    header = [c.value for c in sheet[1]]
    permits = {row[header.index("报建号")] for row in sheet.iter_rows(min_row=2, values_only=True)}
    with kunming.connect() as conn:
        want = set(conn.execute(text(
            "SELECT permit_no FROM project p WHERE district_code = :d AND EXISTS (SELECT 1 FROM "
            "policy po WHERE po.project_id = p.id AND po.status NOT IN ('returned', 'cancelled'))"),
            {"d": WUHUA}).scalars())
    assert permits == want


def test_the_district_geopackage_opens_with_geopandas(app, tmp_path):
    path = tmp_path / "wuhua.gpkg"
    run(app, "district", WUHUA, "--format", "gpkg", "-o", str(path))
    projects = geopandas.read_file(path, layer="projects")
    district = geopandas.read_file(path, layer="district")
    assert projects.crs.to_epsg() == 4326 and len(projects) > 10
    assert district.iloc[0]["name"] == "五华区"
    assert projects.within(district.geometry.iloc[0].buffer(0.01)).all()


def test_an_insurers_report_from_the_command_line_holds_only_its_portfolio(app, kunming, tmp_path):
    with kunming.connect() as conn:
        insurer = conn.execute(text("SELECT insurer_id FROM policy_share GROUP BY 1 "
                                    "ORDER BY count(*) LIMIT 1")).scalar_one()
        own = set(conn.execute(text(
            "SELECT DISTINCT p.permit_no FROM project p JOIN policy po ON po.project_id = p.id "
            "JOIN policy_share s ON s.policy_id = po.id WHERE s.insurer_id = :i "
            "AND p.district_code = :d AND po.status NOT IN ('returned', 'cancelled')"),
            {"i": insurer, "d": WUHUA}).scalars())
    username = account(kunming, "insurer", insurer)
    path = tmp_path / "own.csv"
    run(app, "district", WUHUA, "--format", "csv", "--as-user", username, "-o", str(path))
    lines = path.read_text(encoding="utf-8-sig").splitlines()[1:]
    assert {line.split(",")[0] for line in lines} == own


def test_the_periodic_report_from_the_command_line(app, tmp_path):
    path = tmp_path / "q2.pdf"
    run(app, "periodic", "--period", "2024-Q2", "--format", "pdf", "-o", str(path))
    words = pdf_text(path)
    assert "平台统计报表（季度）" in words and "各区县统计" in words
    bad = app.test_cli_runner().invoke(main, ["report", "periodic", "--period", "2024"])
    assert bad.exit_code != 0 and "monthly (2024-05) or quarterly (2024-Q2)" in bad.output
    missing = app.test_cli_runner().invoke(main, ["report", "district", "999999"])
    assert missing.exit_code != 0 and "no district 999999" in missing.output


def test_the_district_pdf_map_draws_on_the_configured_basemap_and_only_the_pdf_asks(
        app, monkeypatch, tmp_path):
    with tile_server() as tiles:
        monkeypatch.setitem(app.config, "BASEMAP_URL", tiles.xyz_url)
        run(app, "district", WUHUA, "--format", "csv", "-o", str(tmp_path / "wuhua.csv"))
        assert tiles.requests == []
        run(app, "district", WUHUA, "--format", "pdf", "-o", str(tmp_path / "wuhua.pdf"))
    assert tiles.sources() == {"xyz"}
    subprocess.run(["pdfimages", "-png", "-f", "1", "-l", "2", str(tmp_path / "wuhua.pdf"),
                    str(tmp_path / "image")], check=True)
    colours = set()
    for png in tmp_path.glob("image*.png"):
        colours |= set(Image.open(png).convert("RGB").get_flattened_data())
    assert COLOURS["xyz"] in colours
