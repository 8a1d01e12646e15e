"""The app's connection to the store: DATABASE_URL, or the private cluster started on demand."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app
from sqlalchemy.engine import Engine

from geo import cluster, store

_ENGINE = "riskmap.engine"


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


def get_engine(app: Flask | None = None) -> Engine:
    """The app's engine, made on first use so that nothing connects at import or build time."""
    app = app or current_app
    engine = app.extensions.get(_ENGINE)
    if engine is None:
        engine = store.make_engine(database_url(app.config))
        app.extensions[_ENGINE] = engine
    return engine


def init_app(app: Flask) -> None:
    app.extensions.setdefault(_ENGINE, None)
