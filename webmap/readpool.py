"""Where a request reads: a streaming replica (REPLICA_URLS) when one is healthy and close
enough behind the primary, else the primary.

Only GET and HEAD requests read from a replica, and only when the client has not written in
the last READ_OWN_WRITES_SECONDS (a cookie set after its write says so, so that any web
process, on any host, honours it): an owner who has just filed a claim, an insurer whose
upload has just been taken, see their own write at once. Everything else — writes, POSTs,
the command line, job workers — uses the primary.

Each web process asks a replica how far behind it is at most every REPLICA_CHECK_SECONDS
(the answer is a cache of the replica's health, not state of the service). A replica that
lags more than REPLICA_MAX_LAG_SECONDS, or does not answer, leaves the read pool until a
later check finds it well again; the primary answers meanwhile, without an error.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from geo import store
from webmap import metrics
from webmap.db import get_web_engine
from webmap.setting_checks import url_list

FRESH_COOKIE = "riskmap_fresh"
_POOL = "riskmap.readpool"
SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
# Lag: a replica that has replayed the primary's WAL up to where the primary was just before
# is current; otherwise the age of the last transaction it replayed (an upper bound: the
# primary may have been idle before its next write). Without the primary's position (it did
# not answer), nothing received left to replay counts as current: a replica cut off from its
# primary cannot tell more to the web role (pg_stat_wal_receiver is for pg_read_all_stats).
_PRIMARY_LSN_SQL = text("SELECT pg_current_wal_lsn()::text")
_LAG_SQL = text("""
    SELECT pg_is_in_recovery() AS standby,
           coalesce(CASE WHEN CAST(:primary AS pg_lsn) IS NULL
                         THEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
                         ELSE pg_last_wal_replay_lsn() >= CAST(:primary AS pg_lsn) END,
                    false) AS caught_up,
           pg_last_xact_replay_timestamp() AS replayed_at, now() AS now""")


@dataclass(frozen=True)
class Health:
    ok: bool
    lag: float | None = None          # seconds behind the primary
    as_of: dt.datetime | None = None  # when the replica's data is from
    reason: str = ""


@dataclass
class Replica:
    name: str  # replica0, replica1 … in the order of REPLICA_URLS (metrics, /readyz)
    engine: Engine
    health: Health = Health(False, reason="not checked")
    checked: float = float("-inf")


def measure(conn: Connection, max_lag: float, primary_lsn: str | None = None) -> Health:
    """How far behind the replica on ``conn`` is (the primary having been at WAL position
    ``primary_lsn`` just before), and whether it may answer reads."""
    row = conn.execute(_LAG_SQL, {"primary": primary_lsn}).one()
    if not row.standby:
        return Health(False, reason="not a standby (promoted?)")
    if row.caught_up:
        return Health(True, 0.0, row.now)
    if row.replayed_at is None:
        return Health(False, reason="nothing replayed yet")
    lag = max((row.now - row.replayed_at).total_seconds(), 0.0)
    return Health(lag <= max_lag, lag, row.replayed_at,
                  "" if lag <= max_lag else f"{lag:.0f} s behind")


class ReadPool:
    """The replicas of one app, each checked at most every ``check_seconds``."""

    def __init__(self, urls: list[str], max_lag: float, check_seconds: float,
                 primary: Engine | None = None):
        self.primary = primary
        self.replicas = [Replica(f"replica{n}", _make_engine(url, n))
                         for n, url in enumerate(urls)]
        self.max_lag, self.check_seconds = max_lag, check_seconds
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def choose(self) -> Replica | None:
        """A well replica (taking turns between them), or None: read from the primary."""
        if not self.replicas:
            return None
        start = next(self._turn)
        for n in range(len(self.replicas)):
            replica = self.replicas[(start + n) % len(self.replicas)]
            if self._health(replica).ok:
                return replica
        return None

    def _health(self, replica: Replica) -> Health:
        if time.monotonic() - replica.checked < self.check_seconds:
            return replica.health
        with self._lock:
            if time.monotonic() - replica.checked >= self.check_seconds:
                try:
                    primary_lsn = self._primary_lsn()
                    with replica.engine.connect() as conn:
                        health = measure(conn, self.max_lag, primary_lsn)
                except DBAPIError as exc:
                    health = self.down(replica, exc)
                replica.health, replica.checked = health, time.monotonic()
                _observe(replica, health)
        return replica.health

    def _primary_lsn(self) -> str | None:
        if self.primary is None:
            return None
        try:
            with self.primary.connect() as conn:
                return conn.execute(_PRIMARY_LSN_SQL).scalar_one()
        except DBAPIError:
            return None  # the replica alone then says how current it is

    def down(self, replica: Replica, exc: Exception) -> Health:
        """``replica`` failed: out of the pool until the next check."""
        replica.engine.dispose()  # its pooled connections are dead too
        replica.health = Health(False, reason=str(exc).splitlines()[0][:200])
        replica.checked = time.monotonic()
        _observe(replica, replica.health)
        return replica.health


    def status(self) -> list[dict]:
        """Each replica as /readyz shows it (the host only, never a password)."""
        shown = []
        for replica in self.replicas:
            health, url = self._health(replica), replica.engine.url
            shown.append({"replica": replica.name, "host": url.host or url.query.get("host", ""),
                          "in_pool": health.ok, "lag_seconds": health.lag,
                          "reason": health.reason})
        return shown


def _observe(replica: Replica, health: Health) -> None:
    name = replica.name
    metrics.REPLICA_LAG.labels(name).set(-1 if health.lag is None else health.lag)
    metrics.REPLICA_IN_POOL.labels(name).set(1 if health.ok else 0)


def _make_engine(url: str, n: int) -> Engine:
    # a replica that does not answer must not hold a page up for long: the primary is there
    engine = store.make_engine(url, connect_args={"connect_timeout": 3,
                                                  "application_name": f"riskmap-replica-{n}"})
    metrics.watch_pool(engine, f"replica{n}")
    return engine


def pool_of(app: Flask | None = None) -> ReadPool:
    app = app or current_app
    pool = app.extensions.get(_POOL)
    if pool is None:
        config = app.config
        pool = app.extensions[_POOL] = ReadPool(
            url_list(config["REPLICA_URLS"]), float(config["REPLICA_MAX_LAG_SECONDS"]),
            float(config["REPLICA_CHECK_SECONDS"]), get_web_engine(app))
    return pool


def may_use_replica() -> bool:
    """A request that only reads, from a client that has not just written."""
    return (has_request_context() and request.method in ("GET", "HEAD")
            and not g.get("riskmap_wrote") and FRESH_COOKIE not in request.cookies)


def _this_requests_replica() -> Replica | None:
    # one choice per request: its reads (the ETag's data version, then the answer) all come
    # from the same server, never from two replicas at different points of the WAL
    if "riskmap_replica" not in g:
        g.riskmap_replica = pool_of().choose()
    return g.riskmap_replica


@contextmanager
def read_connection(primary: Engine) -> Iterator[Connection]:
    """A connection for a read: a well replica's when this request may use one (noted in
    ``g`` for the page's "data as of" line), else the primary's."""
    replica = _this_requests_replica() if may_use_replica() else None
    if replica is not None:
        try:
            conn = replica.engine.connect()
        except DBAPIError as exc:  # it went away since its last check
            pool_of().down(replica, exc)
            g.riskmap_replica = None
        else:
            g.riskmap_read_from = replica.health
            metrics.READS.labels("replica").inc()
            with conn:
                yield conn
            return
    metrics.READS.labels("primary").inc()
    with primary.connect() as conn:
        yield conn


def wrote() -> None:
    """This request writes: its later reads, and the client's for a while, use the primary."""
    if has_request_context():
        g.riskmap_wrote = True


def as_of_shown() -> str | None:
    """When the data this request read is from, in Beijing time, if a replica served it."""
    health = g.get("riskmap_read_from") if has_request_context() else None
    if health is None or health.as_of is None:
        return None
    return health.as_of.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _after(response):
    shown = as_of_shown()
    if shown:
        response.headers["X-Data-As-Of"] = g.riskmap_read_from.as_of.isoformat()
        response.headers["X-Read-From"] = "replica"
    if g.get("riskmap_wrote"):
        # the client reads its own write from the primary for a while (any process, any host)
        seconds = int(current_app.config["READ_OWN_WRITES_SECONDS"])
        if seconds:
            response.set_cookie(FRESH_COOKIE, "1", max_age=seconds, httponly=True,
                                samesite="Lax", secure=request.is_secure)
    return response


def init_app(app: Flask) -> None:
    if not url_list(app.config["REPLICA_URLS"]):
        return  # one database: nothing to route, no cookie to set
    app.after_request(_after)
    app.context_processor(lambda: {"data_as_of": as_of_shown()})
