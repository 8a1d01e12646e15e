"""Accounts: roles tied to organisations of their kind, scrypt hashes, disabling, the demo's."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from webmap import accounts


@pytest.fixture()
def conn(rollback):
    return rollback


def _org(conn, kind: str) -> str:
    return conn.execute(text("SELECT name FROM organisation WHERE kind = :k ORDER BY id LIMIT 1"),
                        {"k": kind}).scalar_one()


def test_a_user_signs_in_with_the_password_and_only_while_active(conn):
    accounts.add_user(conn, "t-insurer", "insurer", "a long secret 1", organisation=_org(conn, "insurer"))
    stored = conn.execute(text("SELECT password_hash FROM app_user WHERE username = 't-insurer'"))
    assert stored.scalar_one().startswith("scrypt:")  # never the password itself
    who = accounts.authenticate(conn, "t-insurer", "a long secret 1")
    assert who is not None and who.role == "insurer" and who.organisation == _org(conn, "insurer")
    assert accounts.authenticate(conn, "t-insurer", "a long secret 2") is None
    accounts.disable_user(conn, "t-insurer")
    assert accounts.authenticate(conn, "t-insurer", "a long secret 1") is None
    actions = conn.execute(text("SELECT action FROM audit_log WHERE target = 't-insurer' "
                                "ORDER BY id")).scalars().all()
    assert actions == ["user.add", "user.disable"]


@pytest.mark.parametrize(("role", "org_kind", "password", "message"), [
    ("insurer", None, "a long secret 1", "needs --org"),
    ("insurer", "tis", "a long secret 1", "not a insurer"),
    ("regulator", None, "short", "at least 10"),
    ("owner", None, "a long secret 1", "role 'owner'"),
])
def test_accounts_that_cannot_be_made_are_refused_with_a_reason(conn, role, org_kind, password,
                                                                  message):
    org = _org(conn, org_kind) if org_kind else None
    with pytest.raises(accounts.AccountError, match=message):
        accounts.add_user(conn, "t-bad", role, password, organisation=org)


def test_the_demo_makes_one_account_per_role(conn):
    made = accounts.demo_accounts(conn)
    assert sorted(role for _, _, role, _ in made) == sorted(accounts.ROLES)
    for username, password, role, org in made:
        who = accounts.authenticate(conn, username, password)
        assert who is not None and who.role == role and who.organisation == org
