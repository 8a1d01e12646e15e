"""Engines, migrations and the data version of the PostGIS store."""

from __future__ import annotations

import datetime as dt
from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

# The one driver the store is reached with. SQLAlchemy's default for a plain postgresql://
# changes between releases (2.1 picks psycopg 3), so the scheme is pinned to it here.
DRIVER = "postgresql+psycopg2"
_SCHEMES = {"postgresql", "postgres", DRIVER}


class StoreUrlError(ValueError):
    """A database URL the store cannot be reached with; the message says why."""


def engine_url(url: str | URL) -> URL:
    """The URL with the store's driver: any ``postgresql://`` (or ``postgres://``) URL works.

    >>> engine_url("postgresql://riskmap:pw@db:5432/riskmap").render_as_string(False)
    'postgresql+psycopg2://riskmap:pw@db:5432/riskmap'
    >>> engine_url("mysql://x/y")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geo.store.StoreUrlError: 应为 PostgreSQL 地址 ... — not a PostgreSQL URL (mysql)
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreUrlError("应为 PostgreSQL 地址 postgresql://用户:密码@主机:端口/数据库 — "
                            "not a database URL") from None
    if parsed.drivername not in _SCHEMES:
        raise StoreUrlError("应为 PostgreSQL 地址 postgresql://用户:密码@主机:端口/数据库 — "
                            f"not a PostgreSQL URL ({parsed.drivername})")
    return parsed.set(drivername=DRIVER)


def make_engine(url: str | URL, **kwargs) -> Engine:
    """An engine for the store; ``pool_pre_ping`` survives a restarted private cluster."""
    # a server that does not answer is an error after 10 s, not a request hung for minutes
    # no JIT: the map's queries are short but costly-looking to the planner, which then
    # spent seconds compiling them (2.8 s of a 9 s district layer at 20,000 projects)
    connect_args = {"connect_timeout": 10, "options": "-c jit=off",
                    **kwargs.pop("connect_args", {})}
    return create_engine(engine_url(url), pool_pre_ping=True, future=True,
                         connect_args=connect_args, **kwargs)


def _alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("geo").joinpath("migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (Alembic)."""
    config = _alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema down to ``revision`` ("base" removes every table)."""
    config = _alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    script = ScriptDirectory.from_config(_alembic_config("postgresql://"))
    return script.get_current_head()


def readiness(engine: Engine) -> dict:
    """Whether the store answers and has the schema this code was written for."""
    expected = head_revision()
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError:
        return {"ready": False, "database": "unreachable", "schema": None,
                "schema_expected": expected}
    return {"ready": current == expected, "database": "ok", "schema": current,
            "schema_expected": expected}


def bump_data_version(conn: Connection) -> int:
    """Mark the data as changed (ETags and caches follow); return the new version.

    Triggers do this for every change to the programme's tables; call it for changes
    they cannot see (a new as-of day, a changed rule).
    """
    return conn.execute(text(
        "UPDATE data_version SET version = version + 1, changed_at = now() RETURNING version"
    )).scalar_one()


def data_version(conn: Connection) -> int:
    return conn.execute(text("SELECT version FROM data_version")).scalar_one()


def data_state(conn: Connection) -> tuple[int, dt.date]:
    """The data version and the day the figures are computed for (as-of, else today)."""
    row = conn.execute(text(
        "SELECT version, COALESCE(as_of, (now() AT TIME ZONE 'Asia/Shanghai')::date) "
        "FROM data_version")).one()
    return row[0], row[1]


def set_as_of(conn: Connection, day: dt.date | None) -> None:
    """Fix the day the data describes (a demo's 'today'); None returns to the real today."""
    conn.execute(text("UPDATE data_version SET as_of = :day"), {"day": day})
    bump_data_version(conn)


def record_audit(conn: Connection, actor: str, action: str, target: str, detail: str,
                 user_id: int | None = None) -> None:
    """Write one line of the audit log (``detail`` is JSON text)."""
    conn.execute(
        text("INSERT INTO audit_log (user_id, actor, action, target, detail) "
             "VALUES (:user_id, :actor, :action, :target, CAST(:detail AS jsonb))"),
        {"user_id": user_id, "actor": actor, "action": action, "target": target,
         "detail": detail},
    )
