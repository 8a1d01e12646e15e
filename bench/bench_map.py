"""Latency of the map's data endpoints over real HTTP, on the demo and on 10x the demo.

Run from the project root:  .venv/bin/python bench/bench_map.py [--repeat N] [--scales 1,10]

Each scale gets its own fresh database (on DATABASE_URL's server, else on the private
cluster), is filled with Kunming's districts and a demo of 300 x scale projects, served by
waitress on 127.0.0.1 and measured with sequential keep-alive requests. Every database made
here is dropped at the end, also after an error or Ctrl+C.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import math
import os
import platform
import random
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import waitress
from sqlalchemy import text
from sqlalchemy.engine import Engine

from geo import cluster, store
from layers import catalogue
from loaders import demo, demo_load, districts
from webmap import create_app, db, settings

CITY = "530100"  # Kunming
DEMO_PROJECTS = 300
TILE_ZOOMS = (9, 11, 12, 14)
MAX_TILES_PER_ZOOM = 200
TILE_SAMPLE_SEED = 20240501  # fixed, so that every run times the same tiles
REVALIDATED_LAYER = catalogue.DEFAULT_LAYER


@dataclass
class Row:
    """One measured line of a table: what was requested, and the samples."""

    label: tuple[str, ...]
    millis: list[float]
    sizes: list[int]


# ---------------------------------------------------------------- machine and database


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info
                    if line.startswith("model name")), cpu)
    # nproc counts the CPUs this process may use, not the host's
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"nproc": str(nproc), "cpu": cpu, "python": platform.python_version()}


def server_url() -> str:
    """Same server as the tests (tests/conftest.py): DATABASE_URL's, or the private cluster."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    config = {**settings.defaults(), **settings.from_environment()}
    return cluster.up(db.private_cluster(config))


@contextlib.contextmanager
def fresh_database(admin: Engine, scale: int) -> Iterator[Engine]:
    """A new migrated database, dropped on the way out whatever happens."""
    name = f"riskmap_bench_{scale}x_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = store.make_engine(admin.url.set(database=name))
    try:
        store.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        # FORCE: the app's pool may still hold connections if we got here by an error
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def load_demo(engine: Engine, scale: int) -> tuple[float, dict[str, int]]:
    """Districts and demo in one transaction, as `riskmap demo` does; seconds and row counts."""
    started = time.perf_counter()
    with engine.begin() as conn:
        districts.load_districts(conn, districts.district_records(city=CITY))
        counts = demo_load.run_demo(
            conn, demo.DemoOptions(city=CITY, projects=DEMO_PROJECTS * scale))
    seconds = time.perf_counter() - started
    # analyse now, so that autovacuum does not change the plans halfway through the timing
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return seconds, counts


def busiest_insurer(engine: Engine) -> int:
    """The insurer with the most policy shares: the heaviest insurer filter, deterministic."""
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT insurer_id FROM policy_share GROUP BY insurer_id "
            "ORDER BY count(*) DESC, insurer_id LIMIT 1")).scalar_one()


def database_versions(engine: Engine) -> str:
    with engine.connect() as conn:
        pg = conn.execute(text("SHOW server_version")).scalar_one()
        postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
    return f"PostgreSQL {pg}, PostGIS {postgis}"


# ---------------------------------------------------------------- tiles to request


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The Web Mercator (XYZ) tile holding a point, clamped to the world."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def city_extent(engine: Engine) -> tuple[float, float, float, float]:
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(boundary) AS e FROM district WHERE city_code = :city) s"),
            {"city": CITY}).one()
    return tuple(row)


def covering_tiles(extent: tuple[float, ...], z: int) -> tuple[int, list[tuple[int, int, int]]]:
    """How many tiles cover the extent at zoom z, and at most MAX_TILES_PER_ZOOM of them."""
    west, south, east, north = extent
    x0, y0 = tile_xy(west, north, z)  # tile rows run south, so north gives the first row
    x1, y1 = tile_xy(east, south, z)
    tiles = [(z, x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]
    if len(tiles) > MAX_TILES_PER_ZOOM:
        # a seeded sample, not every k-th tile: a stride can alias with the row width and
        # leave out whole columns of the city
        tiles = sorted(random.Random(TILE_SAMPLE_SEED + z).sample(tiles, MAX_TILES_PER_ZOOM))
    return (x1 - x0 + 1) * (y1 - y0 + 1), tiles


# ---------------------------------------------------------------- server and client


@contextlib.contextmanager
def serving(database_url: str) -> Iterator[int]:
    """The app under waitress (as `riskmap serve` runs it) on a free port of 127.0.0.1."""
    app = create_app({"DATABASE_URL": database_url})
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4,
                                    ident="riskmap-bench")
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        server.close()
        server.task_dispatcher.shutdown()
        # the app's pool holds connections to the database that is about to be dropped
        db.get_engine(app).dispose()


class Client:
    """One keep-alive HTTP/1.1 connection: requests go one after another, like one user's."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def get(self, path: str, headers: dict[str, str] | None = None
            ) -> tuple[int, bytes, float, dict[str, str]]:
        """Status, body, milliseconds to the last byte of the body, and headers."""
        started = time.perf_counter()
        self.connection.request("GET", path, headers=headers or {})
        response = self.connection.getresponse()
        body = response.read()  # read in full: keep-alive needs it, and it is part of the cost
        millis = (time.perf_counter() - started) * 1000
        return response.status, body, millis, dict(response.getheaders())

    def close(self) -> None:
        self.connection.close()


def measure(client: Client, path: str, repeat: int, label: tuple[str, ...]) -> Row:
    """One warm-up request (not timed), then `repeat` timed ones; all must answer 200."""
    row = Row(label, [], [])
    for attempt in range(repeat + 1):
        status, body, millis, _ = client.get(path)
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status}: {body[:200]!r}")
        if attempt:
            row.millis.append(millis)
            row.sizes.append(len(body))
    return row
