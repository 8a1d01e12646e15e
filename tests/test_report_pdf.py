"""The PDF writer of reports, its charts and its map, from a report dict built here.

No database: the dict follows the contract of ``webmap.reports``. The text checks read the
PDF back with poppler's pdftotext, and the first page is rendered with pdftoppm to
tests/artifacts/report_page1.png for a person to look at.
"""

from __future__ import annotations

import io
import random
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest
from matplotlib import image as mpimg
from tileserver import COLOURS, tile_server

from webmap.basemaps import for_print
from webmap.reports import charts
from webmap.reports.charts import chart_png
from webmap.reports.mapimage import district_map_png
from webmap.reports.pdf import format_value, render_html, render_pdf

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
INJECTION = '<b>粗体</b><script>alert("x")</script>&amp;'
INSURERS = ["中国人民财产保险股份有限公司云南省分公司", "中国平安财产保险股份有限公司云南分公司",
            "中国太平洋财产保险股份有限公司云南分公司"]
PROJECT_COLUMNS = [
    ("permit_no", "报建号", "", None), ("name", "项目名称", "", None),
    ("insurers", "主承保公司", "", None), ("issue_date", "签单日期", "", None),
    ("gross_floor_area_m2", "建筑面积", "m²", 0), ("premium_wan", "保费", "万元", 2),
    ("open_risk_events", "未销项风险事件", "件", 0),
    ("severe_open_risk_events", "严重未销项", "件", 0), ("paid_wan", "赔付金额", "万元", 2),
]


def _projects(count: int) -> list[dict]:
    rng = random.Random(6)
    rows = []
    for i in range(1, count + 1):
        rows.append({
            "permit_no": f"5301022024{i:04d}", "name": f"五华测试小区{i}期",
            "insurers": INSURERS[i % 3], "issue_date": f"2024-{i % 12 + 1:02d}-15",
            "gross_floor_area_m2": 20_000 + i * 1_037.5, "premium_wan": 12.5 + i * 0.731,
            "open_risk_events": i % 5, "severe_open_risk_events": 1 if i % 7 == 0 else 0,
            "paid_wan": None if i % 4 else i * 0.25,
            "lon": 102.69 + rng.uniform(-0.02, 0.02), "lat": 25.05 + rng.uniform(-0.02, 0.02),
        })
    rows[3]["name"] = INJECTION
    rows[-1]["name"] = "翠湖尾号项目"
    return rows


def _chart(kind: str, categories: list[str], *series: tuple[str, list]) -> dict:
    return {"id": kind, "title": f"图表{kind}", "kind": kind, "unit": "万元",
            "categories": categories,
            "series": [{"name": name, "values": values} for name, values in series]}


def make_report(rows: int = 120) -> dict:
    projects = _projects(rows)
    columns = [{"id": c, "title": t, "unit": u, "decimals": d} for c, t, u, d in PROJECT_COLUMNS]
    return {
        "kind": "district", "title": "五华区住宅工程质量潜在缺陷保险区域报告",
        "subtitle": "昆明市 · 2024 年度", "city_name": "昆明市",
        "made_at": "2026-06-30 09:15", "data_version": "v2026.06.30-1",
        "district": {"code": "530102", "name": "五华区"},
        "filters": [["统计期间", "2024-01-01 至 2024-12-31"], ["保险公司", "全部"]],
        "scope_note": "",
        "indicators": [
            {"id": "premium", "title": "总保费", "unit": "万元", "decimals": 2,
             "group": "premium", "value": 1234567.891, "city": 9876543.2},
            {"id": "projects", "title": "承保项目数", "unit": "个", "decimals": 0,
             "group": "premium", "value": 120, "city": 860},
            {"id": "loss_ratio", "title": "赔付率", "unit": "%", "decimals": 1,
             "group": "claims", "value": 3.456, "city": None},
        ],
        "sections": [{
            "id": "underwriting", "title": "承保统计",
            "indicators": [{"id": "rate", "title": "平均费率", "unit": "‰", "decimals": 2,
                            "group": "premium", "value": 1.5}],
            "charts": [
                _chart("bar", INSURERS, ("保费", [5120.5, 3300.25, None])),
                _chart("pie", ["一般", "较重", "严重"], ("件数", [40, 12, 5])),
            ],
            "tables": [],
        }],
        "tables": [{"id": "projects", "title": "承保项目", "columns": columns, "rows": projects}],
        "map": {"boundary": {"type": "Polygon", "coordinates": [[
                    [102.66, 25.02], [102.73, 25.02], [102.73, 25.08], [102.66, 25.08],
                    [102.66, 25.02]]]},
                "projects": projects[:8]},
    }


def _run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict:
    steps: list[tuple[str, float]] = []
    pdf = render_pdf(make_report(), progress=lambda step, f: steps.append((step, f)))
    path = tmp_path_factory.mktemp("report") / "report.pdf"
    path.write_bytes(pdf)
    return {"pdf": pdf, "path": path, "steps": steps,
            "text": _run("pdftotext", str(path), "-"),
            "pages": int(re.search(r"Pages:\s+(\d+)", _run("pdfinfo", str(path)))[1])}


def test_the_pdf_holds_the_district_title_and_indicators(rendered):
    text = rendered["text"]
    assert rendered["pdf"].startswith(b"%PDF")
    for expected in ("五华区", "五华区住宅工程质量潜在缺陷保险区域报告", "总保费", "承保项目数",
                     "赔付率", "1,234,567.89", "9,876,543.20", "860", "3.5", "平均费率",
                     "2024-01-01 至 2024-12-31", "v2026.06.30-1"):
        assert expected in text, expected


def test_a_long_table_spans_pages_with_numbers_and_its_first_hundred_rows(rendered):
    text = rendered["text"]
    assert rendered["pages"] > 1
    # 120 rows: the first 100 are printed, the rest are in the XLSX / GPKG
    assert "翠湖尾号项目" not in text
    assert "共120行，此处列出前100行；完整清单见XLSX/GPKG导出" in "".join(text.split())
    joined = "".join(text.split())  # pdftotext may or may not keep the spaces
    assert "第1页" in joined and f"共{rendered['pages']}页" in joined
    # The header repeats on every page the table runs over.
    assert text.count("项目名称") >= 2
    assert "—" in text  # projects without a claim paid


def test_markup_in_data_prints_as_text(rendered):
    # A cell may wrap the name over lines; the text itself must be intact.
    assert INJECTION in "".join(rendered["text"].split())
    html = render_html(make_report(rows=5))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_progress_advances_to_done(rendered):
    steps = rendered["steps"]
    fractions = [f for _, f in steps]
    assert fractions == sorted(fractions)
    assert steps[-1] == ("done", 1.0)
    assert {"charts", "map", "layout", "pdf"} <= {step for step, _ in steps}


def test_the_cjk_font_is_embedded(rendered):
    fonts = _run("pdffonts", str(rendered["path"]))
    cjk = [line for line in fonts.splitlines() if "NotoSansCJK" in re.sub("[- ]", "", line)]
    assert cjk and all(" yes " in line for line in cjk), fonts


def test_the_first_page_renders_to_a_png(rendered):
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "report_page1"
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile",
                    str(rendered["path"]), str(target)], check=True, timeout=60)
    png = target.with_suffix(".png")
    assert png.stat().st_size > 20_000
    pixels = mpimg.imread(png)
    height, width = pixels.shape[:2]
    assert abs(height - 1169) <= 2 and abs(width - 827) <= 2  # A4 portrait at 100 dpi
    assert (pixels[..., :3] < 0.5).any(axis=-1).mean() > 0.01  # ink, not a blank page


@pytest.mark.parametrize("kind", ["bar", "line", "pie", "histogram"])
def test_every_chart_kind_draws(kind):
    chart = _chart(kind, ["2024-Q1", "2024-Q2", "2024-Q3"], ("保费", [1.5, None, 3]),
                   ("保险金额", [4, 5, 6]))
    assert chart_png(chart).startswith(PNG_MAGIC)


def test_an_empty_chart_draws_a_placeholder():
    assert chart_png(_chart("bar", [])).startswith(PNG_MAGIC)
    assert chart_png(_chart("pie", ["一般"], ("件数", [0]))).startswith(PNG_MAGIC)


def test_a_missing_cjk_font_names_the_debian_package(monkeypatch):
    monkeypatch.setattr(charts, "_found_family", None)
    monkeypatch.setattr(charts, "_DEBIAN_FONT", Path("/nonexistent/NotoSansCJK-Regular.ttc"))
    monkeypatch.setattr(charts.font_manager.fontManager, "ttflist", [])
    with pytest.raises(RuntimeError, match="fonts-noto-cjk"):
        chart_png(_chart("bar", []))


def test_the_district_map_draws():
    report = make_report(rows=10)
    assert district_map_png(report["map"]).startswith(PNG_MAGIC)
    assert district_map_png({"boundary": None, "projects": []}).startswith(PNG_MAGIC)
    # Outside China's Gauss-Krüger zones, and without risk figures.
    abroad = {"boundary": None, "projects": [{"name": "x", "lon": 10.0, "lat": 50.0}]}
    assert district_map_png(abroad).startswith(PNG_MAGIC)


def test_values_format_with_separators_and_decimals():
    assert format_value(1234567.891, 2) == "1,234,567.89"
    assert format_value(None, 0) == "—"
    assert format_value("<i>", None) == "<i>"


def test_the_district_map_draws_its_neighbours_as_the_outline_basemap():
    from PIL import Image

    report = make_report(rows=10)
    neighbour = {"level": "district", "name": "邻区", "label": [25.05, 102.77], "geometry": {
        "type": "Polygon", "coordinates": [[[102.73, 25.02], [102.80, 25.02], [102.80, 25.08],
                                            [102.73, 25.08], [102.73, 25.02]]]}}
    bare = Image.open(io.BytesIO(district_map_png(report["map"]))).convert("RGB")
    based = Image.open(io.BytesIO(district_map_png({**report["map"], "outline": [neighbour]})))
    outline_grey = (0x9f, 0xb3, 0xc8)
    assert outline_grey in set(based.convert("RGB").get_flattened_data())
    assert outline_grey not in set(bare.get_flattened_data())


def _colours(png: bytes) -> set:
    from PIL import Image

    return set(Image.open(io.BytesIO(png)).convert("RGB").get_flattened_data())


def test_the_district_map_lies_on_the_configured_tile_basemap():
    report = make_report(rows=10)
    with tile_server() as tiles:
        internal = for_print({"BASEMAP_URL": tiles.xyz_url, "BASEMAP_NAME": "局内底图"})
        on_xyz = district_map_png({**report["map"], "basemap": internal})
        tianditu = for_print({"TIANDITU_KEY": "k", "TIANDITU_URL": tiles.tianditu_url})
        on_tianditu = district_map_png({**report["map"], "basemap": tianditu})
    assert COLOURS["xyz"] in _colours(on_xyz)
    assert COLOURS["vec"] in _colours(on_tianditu)
    zooms = {int(q.get("z") or q.get("TILEMATRIX")) for _, q in tiles.requests}
    # a district of ~7 km on a 1,340-pixel map: tiles sharp enough, and a few dozen at most
    assert zooms <= {13, 14} and len(tiles.requests) <= 3 * 64
    assert tiles.sources() == {"xyz", "vec", "cva"}


def test_an_unreachable_tile_basemap_falls_back_to_the_outline():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = for_print({"BASEMAP_URL": f"http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png",
                        "REPORT_BASEMAP_TIMEOUT": 2})
    neighbour = {"level": "district", "name": "邻区", "label": [25.05, 102.77], "geometry": {
        "type": "Polygon", "coordinates": [[[102.73, 25.02], [102.80, 25.02], [102.80, 25.08],
                                            [102.73, 25.08], [102.73, 25.02]]]}}
    started = time.monotonic()
    png = district_map_png({**make_report(rows=10)["map"], "outline": [neighbour],
                            "basemap": source})
    assert time.monotonic() - started < 10
    assert (0x9f, 0xb3, 0xc8) in _colours(png) and COLOURS["xyz"] not in _colours(png)
