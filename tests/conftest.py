"""Fixtures: fresh, migrated databases on a real PostgreSQL + PostGIS server.

The server is DATABASE_URL's when set (its role must be allowed to create
databases and the postgis extension), otherwise the project's private cluster,
started on demand. Each fixture database is dropped at the end of the session.
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from geo import cluster, store
from geo.tenancy import Tenant, set_tenant
from loaders import demo, demo_load, districts
from webmap import accounts, create_app, keystore, sessions, settings
from webmap.db import private_cluster

TEST_PASSWORD = "correct horse battery"
# this run's keys in the shared Redis, apart from a served demo's and from other runs'
RUN_PREFIX = f"riskmap-test-{uuid.uuid4().hex[:8]}"
# services made by module- and session-wide fixtures (before any test's own prefix is set)
os.environ["RISKMAP_REDIS_PREFIX"] = f"{RUN_PREFIX}-0"
_services = iter(range(1, 1_000_000))


@pytest.fixture(scope="module", autouse=True)
def module_redis_prefix() -> Iterator[None]:
    """Services a module's fixtures make share one prefix of their own: the owner's lookup
    budget spent by one module's pages is never charged to another's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RISKMAP_REDIS_PREFIX", f"{RUN_PREFIX}-m{next(_services)}")
        yield


@pytest.fixture(autouse=True)
def own_redis_prefix(monkeypatch):
    """Each test's services get their own REDIS_PREFIX: one test's sign-in attempts and
    sessions never count in another's, as when each process kept them in memory."""
    monkeypatch.setenv("RISKMAP_REDIS_PREFIX", f"{RUN_PREFIX}-{next(_services)}")


@pytest.fixture(scope="session", autouse=True)
def one_chromium() -> Iterator[None]:
    """The browser tests share one Chromium (a context each); it ends with the run."""
    yield
    browsing = sys.modules.get("browsing")
    if browsing is not None:
        browsing.close_chromium()


@pytest.fixture(scope="session", autouse=True)
def redis_for_tests() -> Iterator[str]:
    """The private Redis (or RISKMAP_REDIS_URL's), started on demand; this run's keys are
    deleted at the end."""
    config = {**settings.defaults(), **settings.from_environment()}
    url = keystore.redis_url(config)
    yield url
    import redis

    client = redis.Redis.from_url(url)
    for name in client.scan_iter(match=f"{RUN_PREFIX}-*", count=1000):
        client.delete(name)
    client.close()


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


def account(engine: Engine, role: str, organisation_id: int | None = None) -> str:
    """The user name of a test account with ``role`` (for ``organisation_id``), made once."""
    username = f"t-{role}" + (f"-{organisation_id}" if organisation_id else "")
    with engine.begin() as conn:
        if conn.execute(text("SELECT 1 FROM app_user WHERE username = :u"),
                        {"u": username}).first() is None:
            accounts.add_user(conn, username, role, TEST_PASSWORD,
                              organisation=None if organisation_id is None
                              else str(organisation_id), actor="test")
    return username


def sign_in(client, engine: Engine, role: str, organisation_id: int | None = None):
    """Sign ``client`` in as a (made-on-demand) account of ``role``; returns the client."""
    username = account(engine, role, organisation_id)
    with engine.connect() as conn:
        user_id = conn.execute(text("SELECT id FROM app_user WHERE username = :u"),
                               {"u": username}).scalar_one()
    with client.session_transaction() as session:
        session.update(sessions.signed_in_fields(user_id, client.application))
    return client


@pytest.fixture()
def client(app, kunming):
    """A client signed in as the regulator, who sees the whole programme."""
    return sign_in(app.test_client(), kunming, "regulator")


@pytest.fixture()
def public_client(app):
    """A client nobody signed in to: the public."""
    return app.test_client()


@pytest.fixture(scope="session")
def client_for() -> Callable[..., object]:
    """A test client of the service on another fixture database (signed in as ``role``,
    the regulator by default; ``role=None`` for the public)."""
    def make(engine: Engine, role: str | None = "regulator", organisation_id: int | None = None):
        client = create_app({"TESTING": True, "DATABASE_URL": engine.url.render_as_string(
            hide_password=False)}).test_client()
        return client if role is None else sign_in(client, engine, role, organisation_id)
    return make


@contextlib.contextmanager
def as_web(conn: Connection, tenant) -> Iterator[None]:
    """The rest of the block runs as the web service acting for ``tenant`` (row security
    applies); the platform's own steps (role "system") run as the store's owner."""
    if tenant.role != "system":
        conn.execute(text("SET LOCAL ROLE riskmap_web"))
        set_tenant(conn, tenant)
    try:
        yield
    finally:
        conn.execute(text("RESET ROLE"))


@pytest.fixture(scope="session")
def kunming_published(make_database) -> Engine:
    """Kunming's districts and the demo programme (300 projects) with one approved public
    layer (total premium), as `riskmap demo` leaves a store: for the OGC API tests."""
    from layers import disclosure, publication
    from layers.filters import Filters

    engine = make_database()
    with engine.begin() as conn:
        districts.load_districts(conn, districts.district_records(city="530100"))
        demo_load.run_demo(conn, demo.DemoOptions(city="530100"))
    username = account(engine, "regulator")
    with engine.begin() as conn:
        user_id = conn.execute(text("SELECT id FROM app_user WHERE username = :u"),
                               {"u": username}).scalar_one()
        regulator = Tenant("regulator", username=username, user_id=user_id)
        pub = publication.draft(conn, regulator, "premium_total", Filters(), "各区总保费")
        publication.move(conn, regulator, pub, "submitted")
        publication.move(conn, regulator, pub, "approved", city="530100",
                         rules=disclosure.Rules())
    return engine


@pytest.fixture(scope="module")
def cities(make_database):
    """Kunming's demo programme (300 projects) with every tenth project moved to Suizhou
    (Hubei) and every tenth but one to Qujing (Yunnan, like Kunming), policies, risk events
    and claims with them: three cities of two provinces in one store."""
    engine = make_database()
    with engine.begin() as conn:
        for city in ("530100", "530300", "421300"):  # Kunming, Qujing, Suizhou
            districts.load_districts(conn, districts.district_records(city=city))
        demo_load.run_demo(conn, demo.DemoOptions(city="530100"))
        for city, remainder in (("421300", 1), ("530300", 2)):
            conn.execute(text("""
                UPDATE project p SET district_code = d.code,
                  location = ST_PointOnSurface(d.boundary), footprint = NULL
                FROM (SELECT code, boundary FROM district WHERE city_code = :city
                      ORDER BY code LIMIT 1) d
                WHERE p.id % 10 = :r"""), {"city": city, "r": remainder})
    return engine
