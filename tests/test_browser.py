"""The risk map in real headless Chromium, with every request outside localhost refused."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from browsing import ARTIFACTS, chromium_page, screenshot, serving, sign_in
from importing import demo_store
from sqlalchemy import text

from conftest import account
from geo import grades
from geo.tenancy import Tenant
from layers import catalogue, disclosure, publication
from layers.districts import city_values
from layers.filters import Filters

XSS = "<script>alert(1)</script>"
APPROVAL_NUMBER = "云S(2026)001号"


@pytest.fixture(scope="module")
def browser_store(make_database):
    """The demo, a project named like a script, accounts, and one approved public layer."""
    engine = demo_store(make_database, projects=300)
    with engine.begin() as conn:
        conn.execute(text("UPDATE project SET name = :name WHERE id = 1"), {"name": XSS})
        # make it its district's riskiest project, so the district summary lists it first
        conn.execute(text("""INSERT INTO risk_event (event_no, project_id, category, severity,
            status, found_on) SELECT 'XSS-' || g, 1, 'structure', 'severe', 'open', '2026-01-01'
            FROM generate_series(1, 30) g"""))
        grades.recompute(conn, [1])  # its grade follows its events, as a step would
        insurer = conn.execute(text(
            "SELECT insurer_id FROM policy_share GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
        ).scalar_one()
    regulator = Tenant("regulator", username=account(engine, "regulator"))
    account(engine, "insurer", insurer)
    with engine.begin() as conn:
        pub = publication.draft(conn, regulator, "projects", Filters(), "各区承保项目数")
        publication.move(conn, regulator, pub, "submitted")
        publication.move(conn, regulator, pub, "approved", city="530100",
                         rules=disclosure.Rules(min_projects=25))
    return engine, insurer


@pytest.fixture(scope="module")
def server(browser_store):
    engine, _ = browser_store
    with serving(engine, MAP_APPROVAL_NUMBER=APPROVAL_NUMBER) as url:
        yield url


@pytest.fixture()
def browser_page():
    with chromium_page() as page_and_problems:
        yield page_and_problems


def pick_layer(page, title: str) -> None:
    """Switch a layer on in the map's grouped layer list, as a user clicks its name (unfolding
    its group first when it is folded)."""
    label = page.locator(".riskmap-layer-tree").get_by_text(title, exact=True)
    if not label.is_visible():
        label.evaluate("""(name) => {
            const folded = name.closest('.leaflet-layerstree-children.leaflet-layerstree-hide');
            folded.parentElement.querySelector(':scope > .leaflet-layerstree-header').click();
        }""")
    label.click()


def _district_fills(page) -> list[str]:
    return page.eval_on_selector_all("path[class*='district-']",
                                     "els => els.map(e => e.getAttribute('fill'))")


def test_map_draws_districts_and_legend_and_switches_layers(server, browser_page):
    page, problems = browser_page
    sign_in(page, server, "t-regulator")
    page.goto(server + "/", wait_until="networkidle")
    page.wait_for_selector(".riskmap-legend .legend-row")
    premium = _district_fills(page)
    assert len(premium) == 14
    assert page.inner_text(".riskmap-legend .legend-title") == "总保费（万元）"

    pick_layer(page, "风险事件数")
    page.wait_for_selector(".riskmap-legend[data-layer='risk_events']")
    page.wait_for_load_state("networkidle")
    assert "风险事件数" in page.inner_text(".riskmap-legend")
    assert _district_fills(page) != premium
    assert "layer=risk_events" in page.url  # the view can be shared

    pick_layer(page, "风险事件热力")
    pick_layer(page, "项目分布")
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("canvas.leaflet-heatmap-layer")

    page.click("path.district-530102", force=True)
    page.wait_for_selector("#riskmap-summary h2")
    assert page.inner_text("#riskmap-summary h2") == "五华区"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "risk-map.png"))
    assert problems == []


def test_filters_live_in_the_url(server, browser_page):
    page, problems = browser_page
    sign_in(page, server, "t-regulator")
    page.goto(server + "/?layer=claims&period=2024", wait_until="networkidle")
    page.wait_for_selector(".riskmap-legend[data-layer='claims']")
    assert page.input_value("input[name='from']") == "2024-01-01"
    page.select_option("select[name='stage']", "delivered")
    page.click("#riskmap-filters button[type='submit']")
    page.wait_for_load_state("networkidle")
    assert "stage=delivered" in page.url and "layer=claims" in page.url
    assert problems == []


def test_every_district_layer_switches_on_with_its_legend(server, browser_page):
    page, problems = browser_page
    sign_in(page, server, "t-regulator")
    page.goto(server + "/", wait_until="networkidle")
    page.wait_for_selector(".riskmap-legend .legend-row")
    for layer in catalogue.DISTRICT_LAYERS:
        pick_layer(page, layer.title_zh)
        page.wait_for_selector(f".riskmap-legend[data-layer='{layer.id}']")
        title = page.inner_text(".riskmap-legend .legend-title")
        assert title.startswith(layer.title_zh) and layer.unit in title
    for label in ("风险事件热力", "理赔热力", "项目分布"):
        pick_layer(page, label)
        page.wait_for_selector(".legend-overlay >> text=" + label)
    page.wait_for_load_state("networkidle")
    assert problems == []


def test_a_project_named_like_a_script_shows_as_text(server, browser_page):
    page, problems = browser_page
    sign_in(page, server, "t-regulator")
    page.goto(server + "/projects/1", wait_until="networkidle")
    assert XSS in page.inner_text("main")
    # the map builds its summary and popups in the browser: the name must stay text there too
    page.goto(server + "/", wait_until="networkidle")
    page.wait_for_selector(".riskmap-legend .legend-row")
    district = page.evaluate("fetch('/api/projects/1').then(r => r.json())")
    code = next(d["code"] for d in page.evaluate("RiskMap.state.options.districts")
                if d["name"] == district["district"])
    page.click(f"path.district-{code}", force=True)
    page.wait_for_selector("#riskmap-summary ol li")
    assert page.inner_text("#riskmap-summary ol li").startswith(XSS)
    _open_project_popup(page, district["lon"], district["lat"])
    assert XSS in page.inner_text(".project-popup")
    assert problems == []  # no alert dialog opened


def _open_project_popup(page, lon: float, lat: float) -> None:
    pick_layer(page, "项目分布")
    page.evaluate(f"RiskMap.state.map.setView([{lat}, {lon}], 16, {{animate: false}})")
    page.wait_for_load_state("networkidle")
    page.wait_for_selector(".leaflet-marker-pane canvas")
    point = page.evaluate(f"""(() => {{
        const m = RiskMap.state.map, p = m.latLngToContainerPoint([{lat}, {lon}]),
              r = m.getContainer().getBoundingClientRect();
        return [r.left + p.x, r.top + p.y]; }})()""")
    page.mouse.click(*point)
    page.wait_for_selector(".project-popup")


def test_the_public_sees_only_the_approved_layer_with_small_districts_hidden(
        server, browser_page):
    page, problems = browser_page
    requests: list[str] = []
    page.on("request", lambda r: requests.append(urlparse(r.url).path))
    page.goto(server + "/", wait_until="networkidle")
    page.wait_for_selector(".riskmap-legend .legend-row")
    assert len(_district_fills(page)) == 14
    assert "各区承保项目数" in page.inner_text("#riskmap-published")
    assert APPROVAL_NUMBER in page.inner_text("#riskmap-approval")
    assert APPROVAL_NUMBER in page.inner_text(".leaflet-control-attribution")
    # with k = 25 some of the demo's districts are hidden; their tooltip says so, not a number
    hidden = page.evaluate("""Object.values(PublicMap.state.groups)[0].getLayers()[0]
        .getLayers().filter(l => l.feature.properties.suppressed).length""")
    assert hidden >= 2
    # nothing but the public endpoints was asked: no points, no catalogue of the programme
    asked = {p for p in requests if p.startswith(("/api/", "/tiles/"))}
    assert asked and all(p.startswith("/api/public/") for p in asked), asked
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "public-map.png"))
    assert problems == []


def test_an_insurer_signs_in_sees_its_own_portfolio_and_signs_out(
        server, browser_store, browser_page):
    engine, insurer = browser_store
    page, problems = browser_page
    sign_in(page, server, f"t-insurer-{insurer}")
    page.wait_for_selector(".riskmap-legend .legend-row")
    assert "保险公司" in page.inner_text("#whoami")
    # the insurer filter offers only itself
    options = page.eval_on_selector_all("select[name='insurer'] option", "o => o.map(x => x.value)")
    assert options == ["", str(insurer)]
    page.screenshot(path=str(ARTIFACTS / "insurer-map.png"))
    page.goto(server + "/districts", wait_until="networkidle")
    with engine.connect() as conn:
        own = city_values(conn, "530100", Filters(insurer=insurer))
    shown = page.inner_text("tfoot")
    assert f"{own['premium_yuan'] / 10_000:,.2f}" in shown
    page.goto(server + "/", wait_until="networkidle")
    # the layer's own fetch must end first, or signing out aborts it mid-flight
    page.wait_for_selector(".riskmap-legend .legend-row")
    page.click("#riskmap-user button[type='submit']")
    page.wait_for_selector("#riskmap-published, #riskmap-empty")
    page.wait_for_selector(".leaflet-container[data-outline]")  # its basemap, before moving on
    assert "公开地图" in page.title()
    assert page.goto(server + "/districts").url.startswith(server + "/login")
    assert problems == []


def test_the_statistics_page_draws_every_chart(server, browser_page):
    page, problems = browser_page
    sign_in(page, server, "t-regulator")
    page.click("#site-nav >> text=统计分析")
    page.wait_for_url("**/statistics")
    page.fill("input[name='period']", "2024")
    page.click("form.filters button[type='submit']")
    page.wait_for_url("**/statistics?period=2024**")
    page.wait_for_selector("body[data-charts-drawn]")
    for summary in page.locator("details.stats-section > summary").all():
        summary.click()  # the sections come folded under the overview
    charts = page.locator("[data-chart]").count()
    page.wait_for_function(f"Number(document.body.getAttribute('data-charts-drawn')) + "
                           f"document.querySelectorAll('.chart-canvas.empty').length >= {charts}")
    drawn = int(page.get_attribute("body", "data-charts-drawn"))
    empty = page.locator(".chart-canvas.empty").count()
    assert charts >= 25 and drawn + empty == charts
    for section in ("underwriting", "risk", "claims"):  # the demo's business fills all of these
        here = page.locator(f"#section-{section} [data-chart]").count()
        assert page.locator(f"#section-{section} [data-chart] canvas").count() == here, section
    assert page.locator("[data-chart] canvas").count() == drawn  # ECharts drew on canvas
    assert "统计期间：2024-01-01 至 2024-12-31" in page.inner_text("p.labels")
    page.locator("#chart-premium_by_insurer summary").click()
    assert "德润" in page.inner_text("#chart-premium_by_insurer table") or \
        page.locator("#chart-premium_by_insurer tbody tr").count() >= 3
    screenshot(page, "statistics.png")
    assert problems == []


def test_the_district_page_maps_its_projects_and_downloads_its_report(server, browser_page):
    page, problems = browser_page
    sign_in(page, server, "t-regulator")
    page.wait_for_selector(".riskmap-legend .legend-row")
    page.locator("path[class*='district-530102']").first.click(force=True)
    page.click("#riskmap-summary a.district-page")
    page.wait_for_url("**/districts/530102**")
    assert page.inner_text("#district-name") == "五华区（530102）"
    page.wait_for_selector("#district-map[data-projects]")
    markers = int(page.get_attribute("#district-map", "data-projects"))
    assert markers == page.locator("#table-projects tbody tr").count() > 10
    # the project named like a script is the riskiest: first in the table, as text
    assert page.inner_text("#table-projects tbody tr >> nth=0").count(XSS) == 1
    screenshot(page, "district.png")
    with page.expect_download(timeout=60_000) as download:
        page.click(".report-download[data-format='pdf']")
    assert download.value.suggested_filename.startswith("五华区区域报告_530102")
    pdf = download.value.path().read_bytes()
    assert pdf[:5] == b"%PDF-" and len(pdf) > 50_000
    assert "已完成" in page.inner_text("#report-progress")
    # the download itself ends the page's navigation: Chromium reports that as aborted
    assert [p for p in problems if "ERR_ABORTED" not in p] == []


def test_an_insurer_maps_its_accumulation_and_sets_a_limit(server, browser_store, browser_page):
    engine, insurer = browser_store
    page, problems = browser_page
    sign_in(page, server, f"t-insurer-{insurer}")
    page.goto(server + "/portfolio?radius=300", wait_until="networkidle")
    page.wait_for_selector("#portfolio-map[data-circles]")
    circles = int(page.get_attribute("#portfolio-map", "data-circles"))
    assert circles == page.locator("#circles tbody tr").count() == 10
    assert page.locator("#portfolio-map path.leaflet-interactive").count() >= circles
    assert "全市场" not in page.inner_text("header")
    top = page.inner_text("#circles tbody tr >> nth=0 >> td >> nth=5").replace(",", "")
    page.select_option("#limit-form select[name='measure']", "circle")
    page.fill("#limit-form input[name='size_m']", "300")
    page.fill("#limit-form input[name='max_wan']", str(int(float(top)) // 2))
    page.click("#limit-form button[type='submit']")
    page.wait_for_selector("text=限额已保存")
    assert page.locator("#breaches tbody tr").count() >= 1
    assert "无超限" not in page.inner_text("#breaches")
    screenshot(page, "portfolio.png")
    assert problems == []
