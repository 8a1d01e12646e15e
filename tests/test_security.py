"""Secrets, sessions and headers as an attacker would try them: forged and replayed cookies,
a session that outlives its sign-out, missing headers."""

from __future__ import annotations

import re
import stat
import time
import uuid

import pytest
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import text

from conftest import TEST_PASSWORD, account
from webmap import accounts, create_app, keystore
from webmap.cli import users as cli_users
from webmap.security import KNOWN_KEYS, RefusedToStart

COMPOSE_KEY = "change-me-to-a-long-random-value"  # the key our compose file once shipped
STRONG = "k" * 16 + "3f9a0c1d7e2b4a6f8c0d"


def _app(kunming, **config):
    return create_app({"DATABASE_URL": kunming.url.render_as_string(hide_password=False),
                       "LOGIN_RATE_LIMIT": "1000 per minute", **config})


def _login(client, username: str, password: str = TEST_PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    return client.post("/login", data={"csrf_token": token, "username": username,
                                       "password": password})


def _csrf(client, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]


@pytest.mark.parametrize("key", [COMPOSE_KEY, "dev", "secret", "too-short-but-random-x7"])
def test_the_service_will_not_start_with_a_known_or_short_key(kunming, key, capsys):
    with pytest.raises(RefusedToStart) as refused:
        _app(kunming, SECRET_KEY=key)
    assert refused.value.code == 3  # gunicorn's arbiter stops instead of respawning workers
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "refusing to start" in line and "SECRET_KEY" in line
    assert COMPOSE_KEY in KNOWN_KEYS


def test_a_cookie_forged_with_the_old_default_key_opens_nothing(kunming):
    """Even signed with a key an attacker knows, a cookie that claims to be the admin is
    worth nothing: the service keeps sessions on the server and the cookie is only an id."""
    admin_id = _user_id(kunming, account(kunming, "admin"))
    app = _app(kunming)
    forger = app.test_client()
    signer = SecureCookieSessionInterface().get_signing_serializer(
        type("Fake", (), {"secret_key": COMPOSE_KEY, "config": app.config})())
    forged = signer.dumps({"_user_id": str(admin_id), "_fresh": True})
    forger.set_cookie("session", forged)
    assert forger.get("/api/layers").status_code == 401
    page = forger.get("/admin/audit")
    assert page.status_code == 302 and "/login" in page.location


def test_without_a_key_one_is_made_once_and_every_process_reads_it(kunming, tmp_path):
    path = tmp_path / "instance" / "secret_key"
    first = _app(kunming, SECRET_KEY_FILE=str(path)).config["SECRET_KEY"]
    second = _app(kunming, SECRET_KEY_FILE=str(path)).config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def _user_id(kunming, username: str) -> int:
    with kunming.connect() as conn:
        return conn.execute(text("SELECT id FROM app_user WHERE username = :u"),
                            {"u": username}).scalar_one()


def test_a_cookie_replayed_after_logout_gets_401(kunming):
    app = _app(kunming)
    user = account(kunming, "planner")
    browser, other_browser = app.test_client(), app.test_client()
    assert _login(browser, user).status_code == 302
    assert _login(other_browser, user).status_code == 302
    cookie = browser.get_cookie("session").value
    assert browser.get("/api/layers").status_code == 200
    assert browser.post("/logout", data={"csrf_token": _csrf(browser, "/districts")}
                        ).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/api/layers").status_code == 401
    # signing out ends every session of the account, in the other browser too
    assert other_browser.get("/api/layers").status_code == 401


def test_a_new_password_and_a_disabled_account_end_every_session(kunming):
    app = _app(kunming)
    user = f"own-tis-{uuid.uuid4().hex[:6]}"  # its own: this test disables it
    with kunming.begin() as conn:
        accounts.add_user(conn, user, "tis", TEST_PASSWORD,
                          organisation=str(_organisation(kunming, "tis")), actor="test")
    browser, other = app.test_client(), app.test_client()
    _login(browser, user), _login(other, user)
    token = _csrf(browser, "/account/password")
    changed = browser.post("/account/password", data={
        "csrf_token": token, "current": TEST_PASSWORD, "new": "another long secret",
        "repeat": "another long secret"})
    assert changed.status_code == 303 and changed.location.endswith("/login")
    assert other.get("/api/layers").status_code == 401
    assert _login(browser, user, "another long secret").status_code == 302
    assert browser.get("/api/layers").status_code == 200
    result = app.test_cli_runner().invoke(cli_users.disable, [user])
    assert result.exit_code == 0 and "sessions ended" in result.output
    assert browser.get("/api/layers").status_code == 401


def _organisation(kunming, kind: str) -> int:
    with kunming.connect() as conn:
        return conn.execute(text("SELECT min(id) FROM organisation WHERE kind = :k"),
                            {"k": kind}).scalar_one()


def test_sessions_end_when_idle_and_after_their_maximum_age(kunming):
    app = _app(kunming, SESSION_IDLE_MINUTES=20, SESSION_MAX_HOURS=8)
    browser = app.test_client()
    _login(browser, account(kunming, "planner"))
    sid = browser.get_cookie("session").value
    store = keystore.client(app)
    ttl = store.ttl(keystore.key("session:", app) + sid)
    assert 19 * 60 < ttl <= 20 * 60  # Redis forgets it after 20 idle minutes
    assert browser.get("/api/layers").status_code == 200
    with browser.session_transaction() as session:
        session["_signed_in_at"] = time.time() - 8 * 3600 - 1
    assert browser.get("/api/layers").status_code == 401


def test_cookie_flags_and_security_headers_on_real_answers(kunming):
    app = _app(kunming)
    user = account(kunming, "planner")
    plain = app.test_client()
    signed_in = _login(plain, user)
    cookie = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = app.test_client()
    over_https = secure.get("/login", base_url="https://riskmap.example")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      over_https.get_data(as_text=True))[1]
    answer = secure.post("/login", base_url="https://riskmap.example",
                         headers={"Referer": "https://riskmap.example/login"},
                         data={"csrf_token": token, "username": user, "password": TEST_PASSWORD})
    assert answer.status_code == 302
    assert "; Secure" in answer.headers["Set-Cookie"]
    assert "SameSite=Lax" in answer.headers["Set-Cookie"]
    for url in ("/", "/districts", "/statistics", "/search?q=滇池", "/api/layers"):
        response = plain.get(url)
        assert response.status_code == 200, url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
        if response.mimetype == "text/html":
            _inline_scripts_carry_the_nonce(response)


def _inline_scripts_carry_the_nonce(response) -> None:
    policy = response.headers["Content-Security-Policy"]
    script_src = next(p for p in policy.split("; ") if p.startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    nonce = re.search(r"'nonce-([^']+)'", script_src)[1]
    page = response.get_data(as_text=True)
    for tag in re.findall(r"<script\b[^>]*>", page):
        executable = 'type="application/json"' not in tag and "src=" not in tag
        assert not executable or f'nonce="{nonce}"' in tag, tag
    assert not re.search(r"\son(click|load|submit|change)=", page)


def test_the_public_map_and_an_error_page_carry_the_headers_too(kunming):
    public = _app(kunming).test_client()
    for url, status in (("/", 200), ("/no-such-page", 404)):
        response = public.get(url)
        assert response.status_code == status
        assert response.headers["X-Frame-Options"] == "DENY"
        _inline_scripts_carry_the_nonce(response)
