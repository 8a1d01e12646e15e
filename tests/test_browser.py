"""The risk map in real headless Chromium, with every request outside localhost refused."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import text
from werkzeug.serving import make_server

from loaders import demo, demo_load, districts
from webmap import create_app

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def server(make_database):
    engine = make_database()
    with engine.begin() as conn:
        districts.load_districts(conn, districts.district_records(city="530100"))
        demo_load.run_demo(conn, demo.DemoOptions(city="530100"))
        conn.execute(text("UPDATE project SET name = :name WHERE id = 1"), {"name": XSS})
    app = create_app({"DATABASE_URL": engine.url.render_as_string(hide_password=False)})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture()
def browser_page():
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})

        def only_localhost(route):
            if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
                route.continue_()
            else:  # the machine has no internet: a request out would be a broken page there
                problems.append(f"request outside: {route.request.url}")
                route.abort()

        page.route("**/*", only_localhost)
        page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status}: {r.url}"))
        page.on("dialog", lambda d: problems.append(f"dialog opened: {d.message}"))
        yield page, problems
        browser.close()


def _district_fills(page) -> list[str]:
    return page.eval_on_selector_all("path[class*='district-']",
                                     "els => els.map(e => e.getAttribute('fill'))")


def test_map_draws_districts_and_legend_and_switches_layers(server, browser_page):
    page, problems = browser_page
    page.goto(server + "/", wait_until="networkidle")
    page.wait_for_selector(".riskmap-legend .legend-row")
    premium = _district_fills(page)
    assert len(premium) == 14
    assert page.inner_text(".riskmap-legend .legend-title") == "总保费（万元）"

    page.get_by_text("风险 · 风险事件数").click()
    page.wait_for_selector(".riskmap-legend[data-layer='risk_events']")
    page.wait_for_load_state("networkidle")
    assert "风险事件数" in page.inner_text(".riskmap-legend")
    assert _district_fills(page) != premium
    assert "layer=risk_events" in page.url  # the view can be shared

    page.get_by_text("热力 · 风险事件热力").click()
    page.get_by_text("项目 · 项目分布").click()
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
    page.goto(server + "/?layer=claims&period=2024", wait_until="networkidle")
    page.wait_for_selector(".riskmap-legend[data-layer='claims']")
    assert page.input_value("input[name='from']") == "2024-01-01"
    page.select_option("select[name='stage']", "delivered")
    page.click("#riskmap-filters button[type='submit']")
    page.wait_for_load_state("networkidle")
    assert "stage=delivered" in page.url and "layer=claims" in page.url
    assert problems == []


def test_a_project_named_like_a_script_shows_as_text(server, browser_page):
    page, problems = browser_page
    page.goto(server + "/projects/1", wait_until="networkidle")
    assert XSS in page.inner_text("main")
    assert problems == []  # no alert dialog opened
