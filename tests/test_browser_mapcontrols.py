"""The risk map's controls in real headless Chromium: the layer list grouped by what it shows
and folding, the districts' opacity, the period slider, and "export this map" as a PNG that
carries the title, legend, scale, north arrow, date and map approval number (审图号)."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlparse

import pytest
from browsing import ARTIFACTS, chromium_page, screenshot, serving, sign_in
from importing import demo_store
from PIL import Image

from conftest import account

APPROVAL_NUMBER = "云S(2026)001号"


@pytest.fixture(scope="module")
def server(make_database):
    engine = demo_store(make_database, projects=120)
    account(engine, "regulator")
    with serving(engine, MAP_APPROVAL_NUMBER=APPROVAL_NUMBER) as url:
        yield url


@pytest.fixture()
def regulator_map(server):
    with chromium_page() as (page, problems):
        sign_in(page, server, "t-regulator")
        page.wait_for_selector(".riskmap-legend .legend-row")
        page.wait_for_load_state("networkidle")
        yield page, problems


def _tree_label(page, text: str):
    return page.locator(".riskmap-layer-tree").get_by_text(text, exact=True)


def test_the_layer_list_is_grouped_and_each_group_folds(regulator_map):
    page, problems = regulator_map
    groups = page.locator(".riskmap-layer-tree .leaflet-layerstree-header-name")
    names = groups.all_inner_texts()
    for group in ("区县指标", "承保", "风险", "理赔", "叠加图层", "热力", "项目"):
        assert group in names, names
    # the shown layer's group is open, the other indicators' groups folded, overlays open
    assert _tree_label(page, "总保费").is_visible() and _tree_label(page, "项目分布").is_visible()
    assert not _tree_label(page, "风险事件数").is_visible()
    _tree_label(page, "风险").click()  # a group's header unfolds it
    assert _tree_label(page, "风险事件数").is_visible()
    _tree_label(page, "承保").click()  # and folds it
    assert not _tree_label(page, "总保费").is_visible()
    _tree_label(page, "风险事件数").click()
    page.wait_for_selector(".riskmap-legend[data-layer='risk_events']")
    assert problems == []


def test_the_opacity_slider_fades_the_district_fills(regulator_map):
    page, problems = regulator_map
    page.locator(".riskmap-opacity input").fill("30")  # a range input takes fill()
    opacities = page.eval_on_selector_all(
        "path[class*='district-']", "els => els.map(e => e.getAttribute('fill-opacity'))")
    assert len(opacities) == 14 and set(opacities) == {"0.3"}
    assert page.inner_text(".riskmap-opacity output") == "30%"
    assert problems == []


def test_the_period_slider_sets_the_year_and_redraws(regulator_map):
    page, problems = regulator_map
    slider = page.locator("input[name='period-slider']")
    years = int(slider.get_attribute("max"))
    assert years >= 2
    fills = page.eval_on_selector_all("path[class*='district-']",
                                      "els => els.map(e => e.getAttribute('fill'))")
    with page.expect_response(lambda r: "/districts" in r.url and "period=" in r.url):
        slider.fill("1")  # the first year the programme has data for
        slider.dispatch_event("change")
    page.wait_for_load_state("networkidle")
    period = parse_qs(urlparse(page.url).query)["period"][0]
    assert len(period) == 4 and page.input_value("input[name='period']") == period
    assert page.inner_text(".riskmap-period-slider output") == f"{period} 年"
    assert page.eval_on_selector_all("path[class*='district-']",
                                     "els => els.map(e => e.getAttribute('fill'))") != fills
    slider.fill("0")
    slider.dispatch_event("change")
    page.wait_for_load_state("networkidle")
    assert "period=" not in page.url and page.input_value("input[name='period']") == ""
    assert problems == []


def _legend_colours(page) -> set[tuple[int, int, int]]:
    colours = page.eval_on_selector_all(
        ".riskmap-legend .legend-row i", "els => els.map(e => getComputedStyle(e).backgroundColor)")
    return {tuple(int(x) for x in c[c.index("(") + 1:c.index(")")].split(",")[:3])
            for c in colours}


def test_the_exported_png_holds_the_map_legend_and_approval_number(regulator_map, tmp_path):
    page, problems = regulator_map
    # what the PNG is made of: the map's element as it was when html-to-image copied it
    page.evaluate("""() => {
        const made = window.htmlToImage.toPng;
        window.htmlToImage.toPng = (node, options) => {
            const kept = (e) => e === node || (options.filter(e) && kept(e.parentElement));
            window.exported = {text: node.innerText,
                               kept: [...node.querySelectorAll('*')].filter(kept)
                                     .flatMap(e => [...e.classList])};
            return made(node, options);
        };
    }""")
    with page.expect_download() as info:
        page.click(".riskmap-export button")
    path = tmp_path / "map.png"
    info.value.save_as(path)
    assert info.value.suggested_filename == "风险地图-premium_total.png"
    exported = page.evaluate("window.exported")
    for words in ("住宅工程质量潜在缺陷保险风险地图", "总保费", f"审图号：{APPROVAL_NUMBER}",
                  "制图日期", "N"):
        assert words in exported["text"], words
    assert "riskmap-legend" in exported["kept"] and "leaflet-control-scale" in exported["kept"]
    assert "leaflet-control-zoom" not in exported["kept"]
    assert not page.locator(".riskmap-export-frame").count()  # gone again from the page

    image = Image.open(io.BytesIO(path.read_bytes())).convert("RGB")
    box = page.locator(".folium-map").bounding_box()
    assert image.size == (round(box["width"]), round(box["height"]))
    pixels = set(image.get_flattened_data())
    legend = _legend_colours(page)
    assert len(legend) >= 3 and legend <= pixels, legend - pixels  # every class's swatch
    # the footer strip with the date and 审图号 is printed: dark text on its white band
    foot = image.crop((0, image.height - 22, image.width, image.height)).convert("L")
    assert min(foot.get_flattened_data()) < 80
    screenshot(page, "map-export-page.png")
    ARTIFACTS.mkdir(exist_ok=True)
    image.save(ARTIFACTS / "map-export.png")
    assert problems == []


def test_switching_heat_on_fades_the_district_fills(regulator_map):
    page, problems = regulator_map
    page.locator(".riskmap-layer-tree").get_by_text("风险事件热力", exact=True).click()
    page.wait_for_selector("canvas.leaflet-heatmap-layer")
    opacities = page.eval_on_selector_all(
        "path[class*='district-']", "els => els.map(e => e.getAttribute('fill-opacity'))")
    assert set(opacities) == {"0.35"} and page.input_value(".riskmap-opacity input") == "35"
    assert problems == []
