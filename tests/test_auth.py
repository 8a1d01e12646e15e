"""Signing in and out: passwords checked, forms CSRF-protected, attempts limited, all audited."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from webmap import accounts, create_app


@pytest.fixture()
def site(kunming):
    """A fresh app (its own rate-limit counts) with one demo account per role."""
    with kunming.begin() as conn:
        made = {role: (user, password) for user, password, role, _ in
                accounts.demo_accounts(conn)}
    app = create_app({"DATABASE_URL": kunming.url.render_as_string(hide_password=False),
                      "LOGIN_RATE_LIMIT": "3 per minute"})
    return app.test_client(), made


def _token(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]


def _login(client, username: str, password: str):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": _token(client)})


def _audit(kunming, username: str) -> list[str]:
    with kunming.connect() as conn:
        return conn.execute(text("SELECT action FROM audit_log WHERE actor = :u ORDER BY id"),
                            {"u": username}).scalars().all()


def test_sign_in_shows_who_and_sign_out_ends_it(site, kunming):
    client, made = site
    user, password = made["insurer"]
    response = _login(client, user, password)
    assert response.status_code == 302
    page = client.get("/districts").get_data(as_text=True)
    assert user in page and "退出" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    after = client.get("/districts")
    assert after.status_code == 302 and after.location.startswith("/login?next=/districts")
    assert _audit(kunming, user)[-2:] == ["login", "logout"]


def test_a_wrong_password_is_refused_and_written_down(site, kunming):
    client, made = site
    user, _ = made["regulator"]
    response = _login(client, user, "not the password")
    assert response.status_code == 401 and "不正确" in response.get_data(as_text=True)
    assert _audit(kunming, user)[-1] == "login.failed"


def test_a_form_without_its_csrf_token_changes_nothing(site):
    client, made = site
    user, password = made["admin"]
    response = client.post("/login", data={"username": user, "password": password})
    assert response.status_code == 400
    after = client.get("/districts")
    assert after.status_code == 302 and after.location.startswith("/login?next=/districts")


def test_sign_in_attempts_are_limited(site):
    client, made = site
    user, _ = made["planner"]
    codes = [_login(client, user, f"wrong {i}").status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]


def test_a_disabled_account_cannot_sign_in(site, kunming):
    client, made = site
    user, password = made["tis"]
    with kunming.begin() as conn:
        accounts.disable_user(conn, user)
    assert _login(client, user, password).status_code == 401
