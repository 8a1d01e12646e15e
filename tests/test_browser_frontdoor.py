"""The front door in real headless Chromium: an owner reaches each task from the public
landing page in one click on a desktop and on a phone, and a signed-in user finds the same
grouped navigation on every page, the map included."""

from __future__ import annotations

import pytest
from browsing import PHONE, assert_fits_a_phone, chromium_page, screenshot, serving, sign_in
from importing import demo_store

from conftest import account

WIDTHS = {"desktop": (1440, 900), "phone": (390, 844)}
# (the task's tile on the landing page, what it says, where one click leads)
TASKS = (("#task-owner", "查询我的房屋", "/owner"), ("#task-claim", "我要报案", "/claims/new"),
         ("#task-follow", "进度查询", "/claims/follow"),
         ("#task-complaint", "投诉", "/complaints/new"))
GROUPS = ["地图", "统计与报表", "办理与待办", "管理"]


@pytest.fixture(scope="module")
def server(make_database):
    engine = demo_store(make_database, projects=60)
    for role in ("regulator", "admin"):
        account(engine, role)
    with serving(engine, MAP_APPROVAL_NUMBER="云S(2026)018号") as url:
        yield url


@pytest.mark.parametrize("width", WIDTHS)
def test_the_landing_page_reaches_every_owner_task_in_one_click(server, width):
    with chromium_page() as (page, problems):
        page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
        page.goto(server + "/", wait_until="networkidle")
        page.wait_for_selector(".map-label-district")  # the outline basemap drew
        for selector, title, _ in TASKS:
            tile = page.locator(selector)
            assert title in tile.inner_text()
            box = tile.bounding_box()  # on screen without scrolling, not under another control
            assert box and box["y"] + box["height"] <= WIDTHS[width][1], selector
            assert page.evaluate(
                "([x, y, s]) => document.elementFromPoint(x, y).closest(s) !== null",
                [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, selector]), selector
        path = screenshot(page, f"front-door-{WIDTHS[width][0]}.png")
        assert path.stat().st_size > 10_000
        for selector, _, target in TASKS:
            page.goto(server + "/", wait_until="networkidle")
            page.click(selector)
            page.wait_for_load_state("domcontentloaded")
            assert page.url.split("?")[0] == server + target, selector
            assert page.locator("#site-nav #owner-link").count() == 1  # and the way back
    assert problems == [], problems


def test_signed_in_navigation_is_grouped_and_the_same_on_every_page(server):
    with chromium_page() as (page, problems):
        sign_in(page, server, "t-admin")
        seen = {}
        for path in ("/", "/districts", "/statistics", "/search?q=a", "/tasks",
                     "/districts/530102", "/admin/audit"):
            page.goto(server + path, wait_until="networkidle")
            if page.locator(".basemap-switcher").count():  # a map: its outline has come
                page.wait_for_selector(".leaflet-container[data-outline]")
            groups = page.locator("#site-nav .nav-group > b").all_inner_texts()
            links = page.locator("#site-nav .nav-group a").all_inner_texts()
            seen[path] = (groups, links)
        assert seen["/"][0] == GROUPS
        assert all(value == seen["/"] for value in seen.values()), seen
        assert {"待办任务", "投诉办理", "统计报表", "应保未保", "服务评价", "审计日志"} <= set(
            seen["/"][1])
        # on the map the bar sits above the map, not over the panel
        page.goto(server + "/", wait_until="networkidle")
        page.wait_for_selector(".map-label-district")
        bar = page.locator("#site-nav").bounding_box()
        panel = page.locator("#riskmap-panel").bounding_box()
        assert panel["y"] >= bar["y"] + bar["height"]
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(server + "/", wait_until="networkidle")
        page.wait_for_selector(".map-label-district")
        # on a phone the layer list is one button over the map, opened by a tap
        tree = page.locator(".riskmap-layer-tree")
        assert "leaflet-control-layers-expanded" not in tree.get_attribute("class")
        screenshot(page, "signed-in-map-390.png")
        toggle = tree.locator(".leaflet-control-layers-toggle")
        assert toggle.get_attribute("title") == "图层"
        toggle.evaluate("link => link.click()")  # a tap: Leaflet opens the list on click
        page.wait_for_selector(".riskmap-layer-tree.leaflet-control-layers-expanded")
        screenshot(page, "signed-in-map-390-layers.png")
    assert problems == [], problems


def test_an_invalid_period_leaves_no_stale_colours(server):
    with chromium_page() as (page, problems):
        sign_in(page, server, "t-regulator")
        page.wait_for_selector(".riskmap-legend .legend-row")
        assert page.locator("path[class*='district-']").count() == 14
        page.fill("#riskmap-filters input[name='period']", "2024年")
        page.click("#riskmap-filters button[type='submit']")
        page.wait_for_selector("#riskmap-notice:not([hidden])")
        assert "期间 '2024年' 有误" in page.inner_text("#riskmap-notice")
        assert "period=" in page.url  # the URL says what was asked ...
        assert page.locator("path[class*='district-']").count() == 0  # ... and no old colours
        assert page.locator(".riskmap-legend .legend-row").count() == 0
        page.fill("#riskmap-filters input[name='period']", "2024")
        page.click("#riskmap-filters button[type='submit']")
        page.wait_for_selector(".riskmap-legend .legend-row")
        assert page.locator("path[class*='district-']").count() == 14
        assert page.is_hidden("#riskmap-notice")
    # the refused layer answered 400, which the harness (and the console) records as a problem
    assert [p for p in problems if not p.startswith("400: ") and "status of 400" not in p] == []


def test_the_staffs_analysis_pages_fit_a_phone(server):
    """On a 390 px phone the portfolio, a district's page and the statistics are no wider than
    the screen: charts stack and wide tables scroll in their own box."""
    with chromium_page() as (page, problems):
        page.set_viewport_size(PHONE)
        sign_in(page, server, "t-regulator")
        assert_fits_a_phone(page, server, ("/portfolio", "/districts/530102", "/statistics"))
        page.goto(server + "/portfolio", wait_until="networkidle")
        screenshot(page, "portfolio-390.png")
    assert problems == [], problems
