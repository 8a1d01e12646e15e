"""Injection and markup in every filter, path segment and form field (issue 5): a 4xx with a
clear message that does not echo the markup, never a 500; a value the app may take as plain
text (a title, a reason, a name to look for) comes back escaped; the store stays whole."""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

import pytest
from importing import demo_store
from sqlalchemy import text

from conftest import TEST_PASSWORD, account, sign_in
from webmap import create_app

PAYLOADS = {
    "sql-or": "1' OR '1'='1",
    "sql-drop": "1; DROP TABLE project;--",
    "script": "<script>alert(1)</script>",
    "img": '"><img src=x onerror=alert(1)>',
    "long-text": "a" * 10_000,
    "long-digits": "1" * 10_000,
    "nul": "2024\x00' OR 1=1 --",
    "fullwidth-digits": "１２３",
    "fullwidth-year": "２０２４",
    "arabic-digit": "٣",
}
NAMES = list(PAYLOADS)
RAW_MARKUP = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
ESCAPED = {"script": "&lt;script&gt;alert(1)&lt;/script&gt;",
           "img": "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"}

FILTERS = ("period", "from", "to", "insurer", "tis", "district", "stage")
# every endpoint and page that reads the filters
FILTERED = {
    "district layer": "/api/layers/premium_total/districts",
    "district summary": "/api/districts/530102",
    "nearest project": "/api/projects/near?lon=102.7&lat=25.0",
    "risk event heat": "/api/heat/risk_events",
    "claim heat": "/api/heat/claims",
    "tilejson": "/tiles/projects.json",
    "tile": "/tiles/projects/12/3262/1711.mvt",
    "district table": "/districts",
    "map page": "/",
}
# path segments: each must name nothing that exists
PATHS = ("/api/layers/{}/districts", "/api/districts/{}", "/api/heat/{}", "/api/projects/{}",
         "/api/public/layers/{}", "/tiles/projects/{}/0/0.mvt", "/projects/{}",
         "/admin/publications/{}")


@pytest.fixture(scope="module")
def site(make_database):
    """A store of its own (forms here write drafts and audit lines), a small demo on it."""
    engine = demo_store(make_database, projects=20)
    with engine.connect() as conn:
        projects = conn.execute(text("SELECT count(*) FROM project")).scalar_one()
    app = create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False,  # a 500 is an answer
                      "LOGIN_RATE_LIMIT": "10000 per minute",
                      "DATABASE_URL": engine.url.render_as_string(hide_password=False)})
    yield app, engine, projects
    assert_store_intact(engine, projects)


@pytest.fixture(scope="module")
def admin(site):
    app, engine, _ = site
    return sign_in(app.test_client(), engine, "admin")


def assert_store_intact(engine, projects: int) -> None:
    with engine.connect() as conn:
        for table in ("project", "policy", "claim", "app_user", "audit_log"):
            assert conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar(), table
        assert conn.execute(text("SELECT count(*) FROM project")).scalar_one() == projects


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]


# how the pages name each parameter in their Chinese messages
CHINESE_NAMES = {
    "period": ("期间",), "from": ("日期",), "to": ("日期",), "district": ("区县",),
    "insurer": ("保险公司", "机构编号"), "tis": ("风险管理机构", "机构编号"),
    "stage": ("阶段",), "q": ("搜索", "关键词"),
    "layer": ("图层",), "z": ("缩放",), "bbox": ("范围",), "page": ("页",), "actor": ("操作人",),
    "action": ("操作",), "since": ("日期",), "until": ("日期",), "size_m": ("大小", "尺寸"),
}


def assert_clear_refusal(response, names: tuple[str, ...] = (), statuses=range(400, 500)):
    """A 4xx with a message (JSON under /api and /tiles, else a page) that names what was
    wrong (one of ``names``, or the NUL character) and does not echo markup raw."""
    path = response.request.path
    assert response.status_code in statuses, (path, response.status_code)
    body = response.get_data(as_text=True)
    for raw in RAW_MARKUP:
        assert raw not in body, path
    if path.startswith(("/api/", "/tiles/")):
        assert response.mimetype == "application/json", path
        message = response.get_json()["error"]
        assert message and len(message) < 500, path
    else:
        assert response.mimetype == "text/html" and "<html" in body, path
        assert "Traceback" not in body
        # the error page's message, or the form's own error lines
        found = re.findall(r'<div class="empty"><p>(.*?)</p>|<p class="error">(.*?)</p>',
                           body, re.S)
        message = " ".join(page + form for page, form in found)
        assert message.strip(), (path, "no message on the page")
    if names:
        # pages name the parameter in Chinese (期间 for period), APIs may name it in English
        chinese = tuple(word for name in names for word in CHINESE_NAMES.get(name.rstrip("="), ()))
        assert any(name in message for name in names + chinese + ("NUL", "字符")), \
            (path, message[:300])


def assert_escaped_if_markup(body: str, name: str) -> None:
    for raw in RAW_MARKUP:
        assert raw not in body
    if name in ESCAPED:
        assert ESCAPED[name] in body.replace("&#x27;", "'").replace("&quot;", "&#34;")


# --------------------------------------------------------------------------------------------
# URL arguments


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("param", FILTERS)
def test_a_bad_filter_is_a_clear_400_on_every_endpoint(admin, param, name):
    for what, url in FILTERED.items():
        joiner = "&" if "?" in url else "?"
        response = admin.get(url + joiner + urlencode({param: PAYLOADS[name]}))
        assert response.status_code == 400, (what, response.status_code)
        assert_clear_refusal(response, (f"{param}=",))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("param", ("lon", "lat", "radius"))
def test_a_point_that_is_not_a_number_is_a_clear_400(admin, param, name):
    args = {"lon": "102.7", "lat": "25.0", "radius": "50", param: PAYLOADS[name]}
    response = admin.get("/api/projects/near?" + urlencode(args))
    assert_clear_refusal(response, (param,), statuses=(400,))


OFF_THE_GLOBE = [(param, value) for param in ("lon", "lat", "radius")
                 for value in ("inf", "-inf", "nan", "1e400")] + [
    ("lon", "180.5"), ("lon", "-181"), ("lat", "90.5"), ("lat", "-91"), ("radius", "-1")]


@pytest.mark.parametrize(("param", "value"), OFF_THE_GLOBE)
def test_a_point_off_the_globe_is_a_clear_400(admin, param, value):
    args = {"lon": "102.7", "lat": "25.0", "radius": "50", param: value}
    response = admin.get("/api/projects/near?" + urlencode(args))
    assert_clear_refusal(response, (param,), statuses=(400,))


def test_a_point_on_the_globe_is_answered(admin):
    for args in ({"lon": "102.7", "lat": "25.0"}, {"lon": "-180", "lat": "-90", "radius": "0"},
                 {"lon": "180", "lat": "90", "radius": "1e6"}):
        response = admin.get("/api/projects/near?" + urlencode(args))
        assert response.status_code == 200 and set(response.get_json()) == {"id"}


@pytest.mark.parametrize("name", NAMES)
def test_an_unknown_layer_on_the_map_page_falls_back_to_the_default(admin, name):
    response = admin.get("/?" + urlencode({"layer": PAYLOADS[name]}))
    if name == "nul":
        assert_clear_refusal(response, statuses=(400,))
    else:
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert '"layer": "premium_total"' in body
        assert_escaped_if_markup(body, "")  # the value is dropped, not echoed


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("path", PATHS)
def test_a_path_segment_names_nothing_and_gets_a_clear_404(admin, path, name):
    response = admin.get(path.format(quote(PAYLOADS[name], safe="")))
    assert_clear_refusal(response, statuses=(400, 404) if name == "nul" else (404,))


@pytest.mark.parametrize(("param", "name"), [
    pytest.param(param, name, id=f"{param}-{name}")
    for param in ("action", "since", "page") for name in NAMES])
def test_a_bad_audit_filter_is_a_clear_400(admin, param, name):
    response = admin.get("/admin/audit?" + urlencode({param: PAYLOADS[name]}))
    assert_clear_refusal(response, (f"{param}=",), statuses=(400,))


@pytest.mark.parametrize("name", NAMES)
def test_the_audit_log_looks_for_any_actor_as_plain_text(admin, name):
    response = admin.get("/admin/audit?" + urlencode({"actor": PAYLOADS[name]}))
    if name == "nul":
        assert_clear_refusal(response, statuses=(400,))
        return
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "审计日志" in body
    assert_escaped_if_markup(body, name)


# --------------------------------------------------------------------------------------------
# Forms


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("field", ("username", "password"))
def test_sign_in_with_a_strange_name_or_password_is_refused_clearly(site, field, name):
    app, engine, _ = site
    client = app.test_client()
    form = {"username": account(engine, "regulator"), "password": "not it", field: PAYLOADS[name]}
    form["csrf_token"] = csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data=form)
    assert_clear_refusal(response, statuses=(400, 401))
    body = response.get_data(as_text=True)
    assert "不正确" in body or 'class="error"' in body or "NUL" in body  # says what is wrong
    assert client.get("/districts").status_code == 302  # and nobody is signed in


def test_sign_in_still_works_after_the_attempts(site):
    app, engine, projects = site
    client = app.test_client()
    form = {"username": account(engine, "planner"), "password": TEST_PASSWORD,
            "csrf_token": csrf(client.get("/login").get_data(as_text=True))}
    assert client.post("/login", data=form).status_code == 302
    assert client.get("/districts").status_code == 200
    assert_store_intact(engine, projects)


def _draft(client, **fields):
    token = csrf(client.get("/admin/publications").get_data(as_text=True))
    form = {"layer": "premium_total", "title": "各区保费", "period": "", "stage": "",
            "csrf_token": token, **fields}
    return client.post("/admin/publications", data=form)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("field", ("layer", "period", "stage"))
def test_a_bad_publication_field_is_a_clear_400(admin, field, name):
    response = _draft(admin, **{field: PAYLOADS[name]})
    assert_clear_refusal(response, statuses=(400,))
    body = response.get_data(as_text=True)
    assert 'class="error"' in body or "NUL" in body  # the page says what to correct


@pytest.mark.parametrize("name", NAMES)
def test_a_publication_title_is_plain_text_and_comes_back_escaped(admin, name):
    response = _draft(admin, title=PAYLOADS[name])
    if name.startswith("long") or name == "nul":  # longer than 200, or a NUL
        assert_clear_refusal(response, statuses=(400,))
        return
    assert response.status_code == 302
    page = admin.get(response.location).get_data(as_text=True)
    assert_escaped_if_markup(page, name)
    listed = admin.get("/admin/publications").get_data(as_text=True)
    assert_escaped_if_markup(listed, name)


@pytest.fixture(scope="module")
def draft(admin) -> str:
    response = _draft(admin)
    assert response.status_code == 302
    return response.location


@pytest.mark.parametrize("name", NAMES)
def test_an_unknown_step_is_refused_and_changes_nothing(admin, draft, name):
    token = csrf(admin.get(draft).get_data(as_text=True))
    response = admin.post(f"{draft}/{quote(PAYLOADS[name], safe='')}",
                          data={"reason": PAYLOADS[name], "csrf_token": token})
    # no such step (or, with a slash, no such page): a clear refusal naming the steps
    assert_clear_refusal(response, statuses=(400, 404))
    if response.status_code == 400 and name != "nul":
        assert "submitted" in response.get_data(as_text=True)
    page = admin.get(draft).get_data(as_text=True)
    assert 'data-status="draft"' in page
    assert_escaped_if_markup(page, "")


@pytest.fixture(scope="module")
def regulator(site):
    app, engine, _ = site
    return sign_in(app.test_client(), engine, "regulator")


def _step(client, url: str, to: str, reason: str = ""):
    token = csrf(client.get(url).get_data(as_text=True))
    return client.post(f"{url}/{to}", data={"reason": reason, "csrf_token": token})


@pytest.mark.parametrize("name", NAMES)
def test_a_rejection_reason_is_plain_text_and_comes_back_escaped(regulator, name):
    made = _draft(regulator).location
    assert _step(regulator, made, "submitted").status_code == 303
    response = _step(regulator, made, "rejected", PAYLOADS[name])
    page = regulator.get(made).get_data(as_text=True)
    if name.startswith("long") or name == "nul":  # longer than 500, or a NUL
        assert_clear_refusal(response, statuses=(400,))
        assert 'data-status="submitted"' in page
        return
    assert response.status_code == 303
    assert 'data-status="rejected"' in page
    assert_escaped_if_markup(page, name)


def test_a_draft_can_be_withdrawn(regulator):
    made = _draft(regulator).location
    response = _step(regulator, made, "withdrawn", "不再需要")
    assert response.status_code == 303
    assert 'data-status="withdrawn"' in regulator.get(made).get_data(as_text=True)


# --------------------------------------------------------------------------------------------
# Afterwards


def test_the_store_is_whole_after_every_attempt(site):
    _, engine, projects = site
    assert_store_intact(engine, projects)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM district")).scalar_one() == 14
