"""The app's connections to the store: DATABASE_URL, or the private cluster started on demand.

Two engines: the owner's (`get_engine`), for the command line, migrations and loaders; and
the web role's (`get_web_engine`), which every request uses. The web role owns no table and
cannot bypass row-level security, so a forgotten check in a handler cannot leak a row.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from geo import cluster, store
from webmap import metrics

_ENGINE = "riskmap.engine"
_WEB_ENGINE = "riskmap.web_engine"
WEB_ROLE = "riskmap_web"


def private_cluster(config) -> cluster.Cluster:
    return cluster.Cluster(
        root=cluster.reachable_root(Path(config["DB_DIR"]), config["DB_OS_USER"]),
        port=int(config["DB_PORT"]),
        os_user=config["DB_OS_USER"],
        unsafe_fast=bool(config["DB_UNSAFE_FAST"]),
    )


def database_url(config) -> str:
    """The configured URL, or the private cluster's (started if it is not running)."""
    if config.get("DATABASE_URL"):
        return config["DATABASE_URL"]
    return cluster.up(private_cluster(config))


def _engine(app: Flask | None, key: str, url: Callable[[dict], str], name: str) -> Engine:
    # made on first use, so that nothing connects at import or build time
    app = app or current_app
    engine = app.extensions.get(key)
    if engine is None:
        engine = app.extensions[key] = store.make_engine(url(app.config))
        metrics.watch_pool(engine, name)
    return engine


def get_engine(app: Flask | None = None) -> Engine:
    """The owner's engine (command line, loaders, migrations)."""
    return _engine(app, _ENGINE, database_url, "owner")


def web_database_url(config) -> str:
    """WEB_DATABASE_URL, else the store's URL with the web role as its user (trust or peer
    authentication, as in the private cluster; give WEB_DATABASE_URL where a password is
    needed)."""
    if config.get("WEB_DATABASE_URL"):
        return config["WEB_DATABASE_URL"]
    url = store.engine_url(database_url(config)).set(username=WEB_ROLE, password=None)
    return url.render_as_string(hide_password=False)


def set_web_password(conn: Connection, password: str) -> None:
    """Give the web role ``password`` (where the database asks for one, as in Compose)."""
    from psycopg2.extensions import encrypt_password

    # hashed here, with the server's scheme (scram-sha-256): no clear text reaches its logs
    verifier = encrypt_password(password, WEB_ROLE, conn.connection.dbapi_connection)
    conn.execute(text(f"ALTER ROLE {WEB_ROLE} WITH LOGIN PASSWORD :verifier"),
                 {"verifier": verifier})


def get_web_engine(app: Flask | None = None) -> Engine:
    """The web role's engine, which every request uses."""
    return _engine(app, _WEB_ENGINE, web_database_url, "web")


def init_app(app: Flask) -> None:
    app.extensions.setdefault(_ENGINE, None)
    app.extensions.setdefault(_WEB_ENGINE, None)
