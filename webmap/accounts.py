"""User accounts: who may sign in, for which organisation, in which role.

Passwords are kept only as scrypt hashes (werkzeug). Every change is written to the audit log.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection
from werkzeug.security import generate_password_hash

from geo import store
from geo.tenancy import CITY_ROLES, NATION, ROLES, Tenant
from geo.tenancy import ORGANISATION_ROLES as ROLES_WITH_ORGANISATION

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
    jurisdiction: str | None = None

    def tenant(self) -> Tenant:
        """Whom this account's requests act for, as row-level security sees it."""
        return Tenant(self.role, self.organisation_id, self.username, self.id,
                      self.jurisdiction)


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


def _jurisdiction(conn: Connection, role: str, code: str | None) -> str | None:
    """The city's staff act within a jurisdiction (NATION when none is given); others not."""
    if role not in CITY_ROLES:
        if code:
            raise AccountError(f"a {role} account has no jurisdiction: it sees its own business")
        return None
    code = (code or NATION).strip()
    if code != NATION and not conn.execute(text("SELECT is_gb2260(:c)"), {"c": code}).scalar():
        raise AccountError(f"jurisdiction {code!r}: a GB/T 2260 code of a district, city or "
                           f"province, or {NATION} for the nation")
    return code


def add_user(conn: Connection, username: str, role: str, password: str, *,
             organisation: str | None = None, display_name: str | None = None,
             actor: str = "cli", jurisdiction: str | None = None) -> int:
    """Create an account; refuses unknown roles, short passwords, wrong organisations and
    jurisdictions."""
    if role not in ROLES:
        raise AccountError(f"role {role!r}: one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    if conn.execute(text("SELECT 1 FROM app_user WHERE username = :u"), {"u": username}).first():
        raise AccountError(f"user {username!r} exists already")
    org_id = _organisation(conn, role, organisation)
    area = _jurisdiction(conn, role, jurisdiction)
    user_id = conn.execute(text("""INSERT INTO app_user (username, display_name, role,
        organisation_id, password_hash, jurisdiction) VALUES (:u, :d, :r, :o, :h, :j)
        RETURNING id"""),
        {"u": username, "d": display_name or username, "r": role, "o": org_id,
         "h": generate_password_hash(password, method="scrypt"), "j": area}).scalar_one()
    store.record_audit(conn, actor, "user.add", username, json.dumps(
        {"role": role, **({"jurisdiction": area} if area else {})}))
    return user_id


def set_jurisdiction(conn: Connection, username: str, code: str, actor: str = "cli") -> int:
    """Move a staff account to another jurisdiction; returns its id (end its sessions)."""
    row = conn.execute(text("SELECT id, role FROM app_user WHERE username = :u"),
                       {"u": username}).first()
    if row is None:
        raise AccountError(f"no user {username!r}")
    area = _jurisdiction(conn, row.role, code)
    if area is None:
        raise AccountError(f"a {row.role} account has no jurisdiction: it sees its own business")
    conn.execute(text("UPDATE app_user SET jurisdiction = :j WHERE id = :id"),
                 {"j": area, "id": row.id})
    store.record_audit(conn, actor, "user.jurisdiction", username,
                       json.dumps({"jurisdiction": area}))
    return row.id


def tenant_of(conn: Connection, username: str) -> Tenant | None:
    """Whom the active account ``username`` acts for (CLI work done in its name), or None."""
    row = conn.execute(text("SELECT id, role, organisation_id, jurisdiction FROM app_user "
                            "WHERE username = :u AND is_active"), {"u": username}).first()
    return None if row is None else Tenant(row.role, row.organisation_id, username, row.id,
                                           row.jurisdiction)


_ACCOUNTS = """SELECT u.id, u.username, u.display_name, u.role, u.organisation_id,
    o.name AS organisation, u.is_active, u.jurisdiction FROM app_user u
    LEFT JOIN organisation o ON o.id = u.organisation_id"""


def list_users(conn: Connection) -> list[Account]:
    rows = conn.execute(text(_ACCOUNTS + " ORDER BY u.username"))
    return [Account(**row._mapping) for row in rows]


def disable_user(conn: Connection, username: str, actor: str = "cli") -> int:
    """Stop the account signing in; returns its id (end its sessions with it)."""
    user_id = conn.execute(text("UPDATE app_user SET is_active = false WHERE username = :u "
                                "RETURNING id"), {"u": username}).scalar()
    if user_id is None:
        raise AccountError(f"no user {username!r}")
    store.record_audit(conn, actor, "user.disable", username, "{}")
    return user_id


def set_password(conn: Connection, username: str, password: str, actor: str = "cli") -> int:
    """Give the account a new password; returns its id (end its sessions with it)."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    user_id = conn.execute(text("UPDATE app_user SET password_hash = :h WHERE username = :u "
                                "RETURNING id"),
                           {"u": username, "h": generate_password_hash(password, method="scrypt")}
                           ).scalar()
    if user_id is None:
        raise AccountError(f"no user {username!r}")
    store.record_audit(conn, actor, "user.password", username, "{}")
    return user_id


def get_account(conn: Connection, user_id: int) -> Account | None:
    """The account with this id (runs on every signed-in request: one indexed lookup)."""
    row = conn.execute(text(_ACCOUNTS + " WHERE u.id = :id"), {"id": user_id}).first()
    return Account(**row._mapping) if row else None


# a salt of the right shape for names with no account, so that a wrong name costs the same
# hashing time as a wrong password
_DECOY_SALT = "scrypt:32768:8:1$riskmapdecoysalt"


def password_digest(salt: str, password: str) -> str:
    """The hex digest werkzeug stores after ``method$salt$`` for ``password``.

    >>> from werkzeug.security import generate_password_hash
    >>> stored = generate_password_hash("correct horse", method="scrypt")
    >>> method_salt, _, digest = stored.rpartition("$")
    >>> password_digest(method_salt, "correct horse") == digest
    True
    """
    method, _, salt = salt.partition("$")
    name, *args = method.split(":")
    if name == "scrypt":
        n, r, p = (int(a) for a in args)
        return hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p,
                              maxmem=132 * n * r * p).hex()
    if name == "pbkdf2":
        return hashlib.pbkdf2_hmac(args[0], password.encode(), salt.encode(),
                                   int(args[1])).hex()
    raise ValueError(f"unknown password hash method {name!r}")


def authenticate(conn: Connection, username: str, password: str) -> Account | None:
    """The active account with this name and password, or None (same answer for both faults).

    The store keeps the hashes from the web role: it hands out the salt, and says whether the
    digest worked out from it matches (migration 0008).
    """
    salt = conn.execute(text("SELECT riskmap_password_salt(:u)"), {"u": username}).scalar()
    digest = password_digest(salt or _DECOY_SALT, password)
    user_id = None if salt is None else conn.execute(
        text("SELECT riskmap_sign_in(:u, :d)"), {"u": username, "d": digest}).scalar()
    return None if user_id is None else get_account(conn, user_id)


_DEMO_ORDER = {"contractor": (
    "(SELECT count(*) FROM risk_event e JOIN project p ON p.id = e.project_id "
    "WHERE p.contractor_id = o.id AND e.status <> 'closed') DESC, ")}


def demo_accounts(conn: Connection, city: str | None = None
                  ) -> list[tuple[str, str, str, str | None]]:
    """One account per role for the demo, with fresh passwords: (user, password, role, org);
    the city's staff act for ``city`` (the nation when None)."""
    made = []
    for role in ROLES:
        org, area = None, (city or NATION) if role in CITY_ROLES else None
        if role in ROLES_WITH_ORGANISATION:
            # the demo's contractor is one with rectification work, so its list is not empty
            busiest = _DEMO_ORDER.get(role, "")
            org = conn.execute(text("SELECT o.name FROM organisation o WHERE o.kind = :k "  # noqa: S608
                                    f"ORDER BY {busiest}o.id LIMIT 1"), {"k": role}).scalar()
        username, password = f"demo-{role}", new_password()
        # an account that has signed in is referred to by the audit log: reset, never delete
        reset = conn.execute(text(
            "UPDATE app_user SET password_hash = :h, is_active = true, organisation_id = "
            "(SELECT id FROM organisation WHERE name = :o), jurisdiction = :j "
            "WHERE username = :u AND role = :r"),
            {"h": generate_password_hash(password, method="scrypt"), "o": org, "u": username,
             "r": role, "j": area}).rowcount
        if reset:
            store.record_audit(conn, "demo", "user.reset", username, "{}")
        else:
            add_user(conn, username, role, password, organisation=org, actor="demo",
                     jurisdiction=area)
        made.append((username, password, role, org))
    return made


TOKEN_PREFIX = "rmk_"


@dataclass(frozen=True)
class ApiToken:
    id: int
    username: str
    name: str
    created_at: object
    last_used_at: object
    revoked_at: object


def _token_hash(token: str) -> str:
    # a 256-bit random token needs no slow hash: guessing it is hopeless anyway
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(conn: Connection, username: str, name: str, actor: str = "cli") -> str:
    """A new API token for an active account; only its hash is kept, so show it now."""
    user_id = conn.execute(text("SELECT id FROM app_user WHERE username = :u AND is_active"),
                           {"u": username}).scalar()
    if user_id is None:
        raise AccountError(f"no active user {username!r}")
    if not name.strip() or len(name) > 100:
        raise AccountError("a token needs a name of 1–100 characters (what system uses it)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(text("INSERT INTO api_token (user_id, name, token_hash) VALUES (:u, :n, :h)"),
                 {"u": user_id, "n": name.strip(), "h": _token_hash(token)})
    store.record_audit(conn, actor, "token.issue", username, json.dumps({"name": name}))
    return token


def list_tokens(conn: Connection, username: str | None = None) -> list[ApiToken]:
    rows = conn.execute(text("""SELECT t.id, u.username, t.name, t.created_at, t.last_used_at,
        t.revoked_at FROM api_token t JOIN app_user u ON u.id = t.user_id
        WHERE CAST(:u AS text) IS NULL OR u.username = :u ORDER BY t.id"""), {"u": username})
    return [ApiToken(**row._mapping) for row in rows]


def revoke_token(conn: Connection, token_id: int, actor: str = "cli") -> None:
    done = conn.execute(text("UPDATE api_token SET revoked_at = now() WHERE id = :i "
                             "AND revoked_at IS NULL"), {"i": token_id}).rowcount
    if not done:
        raise AccountError(f"no live token {token_id}")
    store.record_audit(conn, actor, "token.revoke", str(token_id), "{}")


def account_for_token(conn: Connection, token: str) -> Account | None:
    """The active account a live token belongs to (its use noted by the store), or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    user_id = conn.execute(text("SELECT riskmap_token_account(:h)"),
                           {"h": _token_hash(token)}).scalar()
    return None if user_id is None else get_account(conn, user_id)
