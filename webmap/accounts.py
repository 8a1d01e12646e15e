"""User accounts: who may sign in, for which organisation, in which role.

Passwords are kept only as scrypt hashes (werkzeug). Every change is written to the audit log.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection
from werkzeug.security import check_password_hash, generate_password_hash

from geo import store

ROLES_WITH_ORGANISATION = ("insurer", "tis", "developer", "contractor", "supervisor")
ROLES = ("regulator", "planner", "admin", *ROLES_WITH_ORGANISATION)
MIN_PASSWORD = 10


class AccountError(ValueError):
    """A request about an account that cannot be met; the message says why."""


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    display_name: str
    role: str
    organisation_id: int | None
    organisation: str | None
    is_active: bool


def new_password() -> str:
    """A random password that is easy to type: 16 letters and digits."""
    return secrets.token_urlsafe(12)


def _organisation(conn: Connection, role: str, organisation: str | None) -> int | None:
    if role not in ROLES_WITH_ORGANISATION:
        return None
    if not organisation:
        raise AccountError(f"a {role} account needs --org (the organisation's name or id)")
    row = conn.execute(text("SELECT id, kind FROM organisation WHERE name = :o OR id::text = :o"),
                       {"o": organisation}).first()
    if row is None:
        raise AccountError(f"no organisation {organisation!r}")
    if row.kind != role:
        raise AccountError(f"{organisation!r} is a {row.kind}, not a {role}")
    return row.id


def add_user(conn: Connection, username: str, role: str, password: str, *,
             organisation: str | None = None, display_name: str | None = None,
             actor: str = "cli") -> int:
    """Create an account; refuses unknown roles, short passwords and wrong organisations."""
    if role not in ROLES:
        raise AccountError(f"role {role!r}: one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    if conn.execute(text("SELECT 1 FROM app_user WHERE username = :u"), {"u": username}).first():
        raise AccountError(f"user {username!r} exists already")
    org_id = _organisation(conn, role, organisation)
    user_id = conn.execute(text("""INSERT INTO app_user (username, display_name, role,
        organisation_id, password_hash) VALUES (:u, :d, :r, :o, :h) RETURNING id"""),
        {"u": username, "d": display_name or username, "r": role, "o": org_id,
         "h": generate_password_hash(password, method="scrypt")}).scalar_one()
    store.record_audit(conn, actor, "user.add", username, json.dumps({"role": role}))
    return user_id


def list_users(conn: Connection) -> list[Account]:
    rows = conn.execute(text("""SELECT u.id, u.username, u.display_name, u.role,
        u.organisation_id, o.name AS organisation, u.is_active FROM app_user u
        LEFT JOIN organisation o ON o.id = u.organisation_id ORDER BY u.username"""))
    return [Account(**row._mapping) for row in rows]


def disable_user(conn: Connection, username: str, actor: str = "cli") -> None:
    done = conn.execute(text("UPDATE app_user SET is_active = false WHERE username = :u"),
                        {"u": username}).rowcount
    if not done:
        raise AccountError(f"no user {username!r}")
    store.record_audit(conn, actor, "user.disable", username, "{}")


def get_account(conn: Connection, user_id: int) -> Account | None:
    return next((a for a in list_users(conn) if a.id == user_id), None)


def authenticate(conn: Connection, username: str, password: str) -> Account | None:
    """The active account with this name and password, or None (same answer for both faults)."""
    row = conn.execute(text("SELECT id, password_hash, is_active FROM app_user "
                            "WHERE username = :u"), {"u": username}).first()
    if row is None or not row.is_active or not check_password_hash(row.password_hash, password):
        return None
    return next(a for a in list_users(conn) if a.id == row.id)


def demo_accounts(conn: Connection) -> list[tuple[str, str, str, str | None]]:
    """One account per role for the demo, with fresh passwords: (user, password, role, org)."""
    made = []
    for role in ROLES:
        org = None
        if role in ROLES_WITH_ORGANISATION:
            org = conn.execute(text("SELECT name FROM organisation WHERE kind = :k ORDER BY id "
                                    "LIMIT 1"), {"k": role}).scalar()
        username, password = f"demo-{role}", new_password()
        conn.execute(text("DELETE FROM app_user WHERE username = :u"), {"u": username})
        add_user(conn, username, role, password, organisation=org, actor="demo")
        made.append((username, password, role, org))
    return made
