"""The harness of the browser tests: the app served on a free local port, and Debian's
Chromium driven by Playwright with every request outside localhost refused and every page
problem (console error, failed request, 4xx/5xx answer, dialog) recorded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from conftest import TEST_PASSWORD
from webmap import create_app

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@contextmanager
def serving(engine, **config) -> Iterator[str]:
    """The app on the store of ``engine``, served in a thread; yields its base URL.

    Every test signs in afresh from the same address: the login limit is raised so that a
    module's sign-ins are not refused as an attack."""
    app = create_app({"DATABASE_URL": engine.url.render_as_string(hide_password=False),
                      "LOGIN_RATE_LIMIT": "1000 per minute", **config})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()


_browser: list = []  # one Chromium for the whole run: each test gets a fresh context of it


def _chromium():
    if not _browser or not _browser[1].is_connected():
        playwright = sync_playwright().start()
        _browser[:] = [playwright, playwright.chromium.launch(executable_path=CHROMIUM,
                                                              args=FLAGS)]
    return _browser[1]


def close_chromium() -> None:
    """Ends the run's Chromium (conftest calls it when the session ends)."""
    if _browser:
        playwright, browser = _browser
        browser.close()
        playwright.stop()
        _browser.clear()


@contextmanager
def chromium_page() -> Iterator[tuple[object, list[str]]]:
    """A page in headless Chromium, in a context of its own (no cookies, storage or cache of
    another test), and the list of problems it ran into."""
    problems: list[str] = []
    context = _chromium().new_context(viewport={"width": 1400, "height": 900},
                                      accept_downloads=True)
    page = context.new_page()

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
    try:
        yield page, problems
    finally:
        context.close()


def sign_in(page, server: str, username: str, timeout: float = 30_000,
            landing: str = "/") -> None:
    """Sign in and wait for the page a sign-in lands on (the overview, for staff over many
    cities of the store) with its basemap."""
    page.goto(server + "/login", wait_until="networkidle")
    page.fill("input[name='username']", username)
    page.fill("input[name='password']", TEST_PASSWORD)
    page.click("button[type='submit']")
    page.wait_for_url(server + landing, wait_until="networkidle", timeout=timeout)
    # the map's basemap outline has come too: a test that moves on would abort it
    page.wait_for_selector(".leaflet-container[data-outline]", timeout=timeout)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


PHONE = {"width": 390, "height": 844}


def assert_fits_a_phone(page, server: str, paths) -> None:
    """Each page, opened on a 390 px phone (the viewport set by the caller), is no wider than
    the screen."""
    for path in paths:
        page.goto(server + path, wait_until="networkidle")
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= PHONE["width"] + 1, f"{path} is {wide}px wide on a 390px phone"
