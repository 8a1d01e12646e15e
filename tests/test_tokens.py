"""API tokens: issued, listed and revoked on the command line; only their hash is kept."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import text

from conftest import account
from webmap import accounts, create_app
from webmap.cli import main


@pytest.fixture(scope="module")
def store(make_database):
    """A store of its own: tokens and their audit lines stay out of the shared one."""
    return make_database()


@pytest.fixture(scope="module")
def app(store):
    return create_app({"TESTING": True,
                       "DATABASE_URL": store.url.render_as_string(hide_password=False)})


def _cli(app, *args):
    return app.test_cli_runner().invoke(main, ["users", "token", *args])


def _get(app, token: str):
    return app.test_client().get("/api/layers", headers={"Authorization": f"Bearer {token}"})


def _issue(store, username: str, name: str = "core system") -> str:
    with store.begin() as conn:
        return accounts.issue_token(conn, username, name, actor="test")


def test_a_token_is_printed_once_listed_and_revoked(app, store):
    username = account(store, "regulator")
    issued = _cli(app, "add", username, "--name", "承保系统 nightly")
    assert issued.exit_code == 0, issued.output
    token = re.search(r"rmk_[A-Za-z0-9_-]{40,}", issued.stdout)[0]
    assert "not stored" in issued.stderr and "只保存其散列值" in issued.stderr
    assert _get(app, token).status_code == 200
    listed = _cli(app, "list", username)
    assert listed.exit_code == 0 and "承保系统 nightly" in listed.output
    assert token not in listed.output and "live" in listed.output
    token_id = re.search(r"^\s*(\d+) +" + re.escape(username), listed.output, re.M)[1]
    revoked = _cli(app, "revoke", token_id)
    assert revoked.exit_code == 0 and f"token {token_id} revoked" in revoked.output
    assert "revoked" in _cli(app, "list").output
    assert _get(app, token).status_code == 401
    again = _cli(app, "revoke", token_id)
    assert again.exit_code == 1 and "no live token" in again.output


def test_a_token_for_nobody_is_refused_with_one_clear_line(app):
    result = _cli(app, "add", "no-such-user", "--name", "x")
    assert result.exit_code == 1 and "no active user" in result.output
    assert "Traceback" not in result.output


def test_a_disabled_users_token_no_longer_works(app, store):
    username = account(store, "admin")
    token = _issue(store, username)
    assert _get(app, token).status_code == 200
    with store.begin() as conn:
        accounts.disable_user(conn, username, actor="test")
    assert _get(app, token).status_code == 401


def test_a_made_up_or_mangled_token_is_refused(app, store):
    token = _issue(store, account(store, "planner"))
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), "rmk_" + "x" * 43, "x" * 20):
        assert _get(app, bad).status_code == 401


def test_the_token_is_never_stored_in_clear(app, store):
    token = _issue(store, account(store, "regulator"), "check storage")
    with store.connect() as conn:
        rows = conn.execute(text("SELECT t::text AS row, token_hash FROM api_token t")).all()
        audit = conn.execute(text("SELECT string_agg(t::text, ' ') FROM audit_log t")).scalar()
    assert rows and all(token not in row.row and token[4:] not in row.row for row in rows)
    assert hashlib.sha256(token.encode()).hexdigest() in {row.token_hash for row in rows}
    assert token not in audit
