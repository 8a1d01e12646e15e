"""Chinese everywhere a user reads: every page, as every role, and the error, limiter and
validation answers, crawled with the test client; any visible English word outside an
allow-list of names and units fails the test (an API's JSON may add English after Chinese)."""

from __future__ import annotations

import re
from collections import Counter, deque
from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from conftest import sign_in

ROLES = (None, "regulator", "planner", "admin", "insurer", "tis", "developer", "contractor",
         "supervisor")
# names, standards, formats and units a Chinese civil servant reads as they are
ALLOWED = {
    "pdf", "xlsx", "csv", "geojson", "geopackage", "gpkg", "shapefile", "shp", "zip", "json",
    "excel", "utf", "bom", "wgs", "cgcs", "gcj", "epsg", "gb", "idi", "tis", "id", "api",
    "leaflet", "echarts", "noto", "sans", "cjk", "sc", "km", "m", "cnmaps", "data", "url",
    "gauss", "kruger", "krüger", "rmk", "token", "bearer", "http", "https", "www", "tk",
    "prj", "crs", "xml", "mb", "kb", "png", "qgis", "maplibre", "openlayers", "mvt", "q",
    "bd", "gis", "gbk", "t",
}
# a Latin word on its own: codes such as CL2024000123 or KM-2024-001 are data, not English
WORD = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z][A-Za-z'’]+(?![A-Za-z0-9_-])")
TEST_ACCOUNT = re.compile(r"\bt-[a-z]+(-[0-9]+)?")  # the test accounts' names are data
SERVER_ACCOUNT = re.compile(r"服务器账户 [\w.-]+")  # so is the server account that ran a command
SKIP_PREFIXES = ("/api/", "/tiles/", "/static/", "/vendor/", "/metrics", "/healthz", "/readyz",
                 "/logout", "/reports/jobs/", "/work/documents/")
SKIP_SUFFIXES = (".pdf", ".xlsx", ".csv", ".geojson", ".gpkg")
PER_ENDPOINT = 2  # pages of one kind visited per role


class VisibleText(HTMLParser):
    """The text a reader sees: text nodes outside scripts and styles, the title, and the
    placeholders, labels and button values of forms."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag in ("script", "style", "template"):
            self._hidden += 1
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        for name in ("placeholder", "title", "aria-label"):
            if values.get(name):
                self.parts.append(values[name])
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.parts.append(values["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def english(text_: str) -> list[str]:
    """Latin words that are not on the allow-list.

    >>> english("下载 PDF · 20 km · You don't have the permission")
    ['You', "don't", 'have', 'the', 'permission']
    """
    text_ = SERVER_ACCOUNT.sub(" ", TEST_ACCOUNT.sub(" ", text_))
    return [w for w in WORD.findall(text_) if w.lower().strip("'’") not in ALLOWED]


def _client(app, kunming, role):
    client = app.test_client()
    if role is None:
        return client
    if role in ("insurer", "tis", "developer", "contractor", "supervisor"):
        kind = {"insurer": "insurer", "tis": "tis"}.get(role, role)
        with kunming.connect() as conn:
            org = conn.execute(text("SELECT id FROM organisation WHERE kind = :k ORDER BY id "
                                    "LIMIT 1"), {"k": kind}).scalar()
        return sign_in(client, kunming, role, org)
    return sign_in(client, kunming, role)


def _seeds(app, kunming) -> list[str]:
    with kunming.connect() as conn:
        community = conn.execute(text(
            "SELECT community FROM project WHERE community IS NOT NULL LIMIT 1")).scalar()
    seeds = [r.rule for r in app.url_map.iter_rules()
             if "GET" in r.methods and not r.arguments and not r.rule.startswith(SKIP_PREFIXES)]
    # the answers a user meets when something is wrong
    return sorted(seeds) + [
        f"/owner?q={community}", f"/claims/new?q={community}", "/projects/999999",
        "/no-such-page", "/districts/530102", "/districts/999999",
        "/districts?period=2024年", "/statistics?period=2024-13", "/search?q=",
        "/search?q=" + "长" * 101, "/portfolio?radius=-5", "/portfolio?basis=gross&cell=10",
        "/admin/audit?since=yesterday", "/work/claim/999999", "/work/nonsense/1",
    ]


def _endpoint(app, path: str) -> str | None:
    try:
        endpoint, _ = app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:
        return None
    return endpoint


def crawl(app, client, seeds: list[str]) -> dict[str, list[str]]:
    """English words found on each page reached from the seeds by following links."""
    found: dict[str, list[str]] = {}
    seen_endpoints: Counter = Counter()
    queue = deque(seeds)
    visited = set()
    while queue:
        url = queue.popleft()
        path = urlparse(url).path
        if url in visited or path.startswith(SKIP_PREFIXES) or path.endswith(SKIP_SUFFIXES):
            continue
        visited.add(url)
        endpoint = _endpoint(app, path)
        if url not in seeds:
            if endpoint is None or seen_endpoints[endpoint] >= PER_ENDPOINT:
                continue
        seen_endpoints[endpoint] += 1
        response = client.get(url)
        if response.status_code in (301, 302, 303) or not response.mimetype == "text/html":
            continue
        parser = VisibleText()
        parser.feed(response.get_data(as_text=True))
        words = english(" ".join(parser.parts))
        if words:
            found[f"{url} ({response.status_code})"] = words
        queue.extend(link for link in parser.links if link.startswith("/"))
    return found


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "public")
def test_no_page_shows_an_english_sentence(app, kunming, role):
    client = _client(app, kunming, role)
    found = crawl(app, client, _seeds(app, kunming))
    assert found == {}, "\n".join(f"{url}: {' '.join(words)[:300]}" for url, words in found.items())


def test_the_login_lockout_speaks_chinese(kunming):
    from webmap import create_app

    app = create_app({"TESTING": True, "LOGIN_RATE_LIMIT": "2 per 1 minute",
                      "DATABASE_URL": kunming.url.render_as_string(hide_password=False)})
    client = app.test_client()
    for _ in range(3):
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                          client.get("/login").get_data(as_text=True))[1]
        response = client.post("/login", data={"username": "nobody", "password": "wrong",
                                               "csrf_token": token})
    assert response.status_code == 429
    parser = VisibleText()
    parser.feed(response.get_data(as_text=True))
    shown = " ".join(parser.parts)
    assert "每分钟最多2次" in shown and english(shown) == []


def test_the_audit_page_names_imports_as_the_upload_form_does():
    from geo.audit import VALUE_ZH
    from loaders.imports.registry import KINDS

    assert VALUE_ZH["kind"] == {name: kind.title for name, kind in KINDS.items()}


def test_the_audit_log_names_every_limit_an_insurer_can_set_in_chinese():
    """An accumulation limit's measure and basis, as the audit page shows them: every one the
    portfolio page offers has its Chinese name there (an entry once read 'net None district')."""
    from geo.audit import VALUE_ZH, detail_zh
    from layers.exposure import BASES
    from layers.portfolio import MEASURES

    assert set(VALUE_ZH["measure"]) == set(MEASURES)
    assert set(VALUE_ZH["basis"]) == set(BASES)
    shown = detail_zh({"measure": "district", "basis": "net", "size_m": None, "max_wan": 500})
    assert shown == [("指标", "单个区县"), ("口径", "净自留额"), ("大小（米）", "—"),
                     ("限额（万元）", "500")]


def test_the_audit_page_names_a_command_run_on_the_server_in_chinese(app, kunming):
    """Entries written by `riskmap users …` and `riskmap import` carry the server account
    (cli:root); the page once showed them as 'cli root' to the bureau's administrator."""
    from geo import store

    with kunming.begin() as conn:
        store.record_audit(conn, "cli:root", "user.disable", "t-somebody", "{}")
    client = sign_in(app.test_client(), kunming, "admin")
    response = client.get("/admin/audit?actor=cli:root")
    parser = VisibleText()
    parser.feed(response.get_data(as_text=True))
    shown = " ".join(parser.parts)
    assert "命令行（服务器账户 root）" in shown and "停用用户" in shown
    assert english(shown) == []
    # but a failed sign-in's actor is what somebody typed, shown as typed
    from geo.audit import AuditQuery, entries
    with kunming.connect() as conn, conn.begin() as written:
        store.record_audit(conn, "cli:root", "login.failed", "", "{}")
        failed = entries(conn, AuditQuery(action="login.failed", actor="cli:root"))[0]
        written.rollback()  # the other pages' crawl must not find it
    assert failed[0]["actor_zh"] == "cli:root"
