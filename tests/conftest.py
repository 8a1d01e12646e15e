"""Fixtures: fresh, migrated databases on a real PostgreSQL + PostGIS server.

The server is DATABASE_URL's when set (its role must be allowed to create
databases and the postgis extension), otherwise the project's private cluster,
started on demand. Each fixture database is dropped at the end of the session.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from geo import cluster, store
from loaders import demo, demo_load, districts
from webmap import create_app, settings
from webmap.db import private_cluster


def _server_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    config = {**settings.defaults(), **settings.from_environment()}
    return cluster.up(private_cluster(config))


@pytest.fixture(scope="session")
def make_database() -> Iterator[Callable[[], Engine]]:
    """Factory of fresh databases migrated to the latest schema."""
    admin = store.make_engine(_server_url(), isolation_level="AUTOCOMMIT")
    made: list[tuple[str, Engine]] = []

    def make() -> Engine:
        name = f"riskmap_test_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = store.make_engine(admin.url.set(database=name))
        made.append((name, engine))
        store.upgrade(engine)
        return engine

    yield make
    for name, engine in made:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def kunming(make_database) -> Engine:
    """A store with Kunming's 14 districts and the default demo programme (seed, 300 projects).

    Shared by many tests: use it read-only, or through ``rollback``.
    """
    engine = make_database()
    with engine.begin() as conn:
        districts.load_districts(conn, districts.district_records(city="530100"))
        demo_load.run_demo(conn, demo.DemoOptions(city="530100"))
    return engine


@pytest.fixture()
def rollback(kunming) -> Iterator[Connection]:
    """A connection to the Kunming store whose changes are rolled back after the test."""
    with kunming.connect() as conn:
        transaction = conn.begin()
        yield conn
        transaction.rollback()


@pytest.fixture(scope="session")
def app(kunming):
    return create_app({
        "TESTING": True,
        "DATABASE_URL": kunming.url.render_as_string(hide_password=False),
    })


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def client_for() -> Callable[[Engine], object]:
    """A test client of the service on another fixture database."""
    def make(engine: Engine):
        return create_app({"TESTING": True, "DATABASE_URL": engine.url.render_as_string(
            hide_password=False)}).test_client()
    return make
