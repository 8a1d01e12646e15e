"""Search in real headless Chromium: the search page's table and map, and the map's search
box, with every request outside localhost refused and names from the data kept as text."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from browsing import ARTIFACTS, chromium_page, serving, sign_in
from importing import demo_store
from playwright.sync_api import expect
from sqlalchemy import text

from conftest import account

XSS = "<img src=x onerror=alert(1)>花园"


@pytest.fixture(scope="module")
def search_store(make_database):
    """A 120-project demo with one project named like markup, and the busiest community."""
    engine = demo_store(make_database, projects=120)
    with engine.begin() as conn:
        conn.execute(text("UPDATE project SET name = :n WHERE id = 1"), {"n": XSS})
        community = conn.execute(text("""SELECT community FROM project
            WHERE community IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""")
                                 ).scalar_one()
    account(engine, "regulator")
    return engine, community


@pytest.fixture(scope="module")
def server(search_store):
    engine, _ = search_store
    with serving(engine) as url:
        yield url


@pytest.fixture()
def signed_in(server):
    """A regulator's page in Chromium, and the problems seen (outside requests, errors,
    dialogs: an alert would mean markup from the data ran)."""
    with chromium_page() as (page, problems):
        sign_in(page, server, "t-regulator")
        yield page, problems


def test_the_search_page_lists_results_and_maps_them(server, search_store, signed_in):
    _, community = search_store
    page, problems = signed_in
    page.goto(server + "/districts", wait_until="networkidle")
    page.click("#site-nav >> text=搜索")  # the navigation's link, on every signed-in page
    page.fill("#search-form input[name='q']", community)
    page.click("#search-form button[type='submit']")
    page.wait_for_selector("#search-results tbody tr")
    page.wait_for_load_state("networkidle")  # the rows come first, the map when Leaflet ran
    rows = page.locator("#search-results tbody tr")
    assert rows.count() >= 2
    assert f"小区 {community}" in rows.first.inner_text()
    assert page.locator("#search-map path.leaflet-interactive").count() == rows.count()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search.png"), full_page=True)
    rows.first.locator("td").nth(2).click()  # a row (not its link) shows it on the map
    page.wait_for_selector("#search-map .leaflet-popup-content a")
    popup = page.inner_text("#search-map .leaflet-popup-content")
    assert rows.first.locator("a").inner_text() in popup
    assert page.evaluate("SearchMap.map.getZoom()") >= 14
    page.click("#search-results tbody tr >> nth=0 >> a")
    page.wait_for_url("**/projects/*")
    assert "项目详情" in page.title()
    assert problems == []


def test_a_name_like_markup_stays_text_in_the_table_and_on_the_map(server, signed_in):
    page, problems = signed_in
    page.goto(server + "/search?q=" + quote("onerror"), wait_until="networkidle")
    assert page.inner_text("#search-results tbody tr a") == XSS
    page.click("#search-results tbody tr td:nth-child(2)")
    page.wait_for_selector("#search-map .leaflet-popup-content a")
    assert XSS in page.inner_text("#search-map .leaflet-popup-content")
    assert page.locator("img[src='x']").count() == 0
    assert problems == []


def test_the_maps_search_box_shows_results_and_opens_one(server, search_store, signed_in):
    _, community = search_store
    page, problems = signed_in
    page.wait_for_selector(".riskmap-legend .legend-row")
    page.fill("#riskmap-search input[name='q']", community)
    page.press("#riskmap-search input[name='q']", "Enter")
    page.wait_for_selector("#riskmap-search li .pick")
    assert "找到" in page.inner_text("#riskmap-search .status")
    picks = page.locator("#riskmap-search li .pick")
    name = picks.first.inner_text()
    picks.first.click()
    page.wait_for_selector(".search-popup")
    assert name in page.inner_text(".search-popup")
    assert page.evaluate("RiskMap.state.map.getZoom()") >= 15  # zoomed to it
    page.fill("#riskmap-search input[name='q']", "onerror")
    page.press("#riskmap-search input[name='q']", "Enter")
    # locators, not wait_for_function: the page's CSP forbids evaluating strings
    page.locator("#riskmap-search li .pick", has_text=XSS).first.wait_for()
    page.click("#riskmap-search li .pick")
    # the first search's popup fades out (Leaflet takes it out of the page 200 ms later)
    expect(page.locator(".search-popup")).to_have_count(1)
    assert XSS in page.inner_text(".search-popup")
    page.click("#riskmap-search .clear")
    assert page.locator("#riskmap-search li").count() == 0
    assert problems == []
