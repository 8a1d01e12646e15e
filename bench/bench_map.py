"""Latency of the map's data endpoints over real HTTP, on the demo and on 10x the demo.

Run from the project root:  .venv/bin/python bench/bench_map.py [--repeat N] [--scales 1,10]

Each scale gets its own fresh database (on DATABASE_URL's server, else on the private
cluster), is filled with Kunming's districts and a demo of 300 x scale projects, served by
waitress on 127.0.0.1 and measured with sequential keep-alive requests, once for each of two
tenants signed in with API tokens: a regulator (sees everything) and the busiest insurer (its
own portfolio, row-level security checking every row). Every database made here is dropped at
the end, also after an error or Ctrl+C.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import math
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import waitress
from sqlalchemy import text
from sqlalchemy.engine import Engine

from geo import cluster, store
from layers import catalogue
from loaders import demo, demo_load, districts
from webmap import accounts, create_app, db, settings

ROOT = Path(__file__).resolve().parent.parent
CITY = "530100"  # Kunming
DEMO_PROJECTS = 300
TILE_ZOOMS = (9, 11, 12, 14)
MAX_TILES_PER_ZOOM = 200
TILE_SAMPLE_SEED = 20240501  # fixed, so that every run times the same tiles
REVALIDATED_LAYER = catalogue.DEFAULT_LAYER
TENANTS = ("regulator", "insurer")  # the city's view, then one insurer's under row security


@dataclass
class Row:
    """One measured line of a table: what was requested, and the samples."""

    label: tuple[str, ...]
    millis: list[float]
    sizes: list[int]
    error: str = ""  # set when the URL did not answer 200: reported, not timed


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
    # vacuum and analyse now, as autovacuum soon would after a bulk insert: otherwise it
    # may start halfway through the timing and change both the load and the plans
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    return seconds, counts


def busiest_insurer(engine: Engine) -> int:
    """The insurer with the most policy shares: the heaviest insurer filter, deterministic."""
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT insurer_id FROM policy_share GROUP BY insurer_id "
            "ORDER BY count(*) DESC, insurer_id LIMIT 1")).scalar_one()


def issue_tokens(engine: Engine, insurer: int) -> dict[str, str]:
    """An account for each of TENANTS (the insurer's for ``insurer``), each with an API token."""
    tokens = {}
    with engine.begin() as conn:
        for role in TENANTS:
            username = f"bench-{role}"
            accounts.add_user(conn, username, role, accounts.new_password(), actor="bench",
                              organisation=str(insurer) if role == "insurer" else None)
            tokens[role] = accounts.issue_token(conn, username, "bench_map", actor="bench")
    return tokens


def database_versions(engine: Engine) -> str:
    with engine.connect() as conn:
        pg = conn.execute(text("SHOW server_version")).scalar_one()
        # what CREATE EXTENSION installs: the server's database need not have PostGIS itself
        postgis = conn.execute(text("SELECT default_version FROM pg_available_extensions "
                                    "WHERE name = 'postgis'")).scalar()
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
    socket_map: dict = {}
    server = waitress.create_server(app, map=socket_map, host="127.0.0.1", port=0,
                                    threads=4, ident="riskmap-bench")
    stop = threading.Event()

    def loop() -> None:
        # short polling rounds instead of server.run(): closing the sockets under a running
        # select() fails, so the loop must stop before they are closed
        while not stop.is_set():
            server.asyncore.loop(timeout=0.1, map=socket_map, count=1)

    thread = threading.Thread(target=loop, name="waitress", daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        stop.set()
        thread.join()
        for channel in list(socket_map.values()):
            channel.close()
        server.task_dispatcher.shutdown()
        # the app's pools hold connections to the database that is about to be dropped
        db.get_engine(app).dispose()
        db.get_web_engine(app).dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, path: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on {port} exited: {process.stderr.read()[-2000:]}")
        with contextlib.suppress(OSError):
            client = Client(port, "")
            if client.get(path)[0] == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"server on {port} did not answer {path}")


@contextlib.contextmanager
def process(args: list[str], env: dict, port: int, probe: str) -> Iterator[int]:
    child = subprocess.Popen(args, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        wait_for(port, probe, child)
        yield port
    finally:
        child.terminate()
        child.wait(20)


@contextlib.contextmanager
def gunicorn(database_url: str) -> Iterator[int]:
    """Ours as production serves it: gunicorn with the service's own configuration (its
    default workers and threads), in processes of its own as the rivals are."""
    port = free_port()
    env = {"DATABASE_URL": database_url, "RISKMAP_HOST": "127.0.0.1",
           "RISKMAP_PORT": str(port), "RISKMAP_ACCESS_LOG": ""}
    with process([str(Path(sys.executable).parent / "gunicorn"), "-c",
                  "python:webmap.gunicorn_conf", "webmap:create_app()"], env, port,
                 "/healthz") as ready:
        yield ready


class Client:
    """One keep-alive HTTP/1.1 connection: requests go one after another, like one user's,
    each with the user's API token (so each also pays for the token's lookup)."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.authorization = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, headers: dict[str, str] | None = None
            ) -> tuple[int, bytes, float, http.client.HTTPMessage]:
        """Status, body, milliseconds to the last byte of the body, and headers."""
        started = time.perf_counter()
        self.connection.request("GET", path, headers={**self.authorization, **(headers or {})})
        response = self.connection.getresponse()
        body = response.read()  # read in full: keep-alive needs it, and it is part of the cost
        millis = (time.perf_counter() - started) * 1000
        return response.status, body, millis, response.msg  # case-insensitive headers


def measure(client: Client, path: str, repeat: int, label: tuple[str, ...]) -> Row:
    """One warm-up request (not timed), then `repeat` timed ones. A URL that does not answer
    200 is not timed: its row carries the error, and the other URLs' figures still count."""
    row = Row(label, [], [])
    for attempt in range(repeat + 1):
        status, body, millis, _ = client.get(path)
        if status != 200:
            row.error = f"HTTP {status}: {body[:80].decode(errors='replace').strip()}"
            return row
        if attempt:
            row.millis.append(millis)
            row.sizes.append(len(body))
    return row


# ---------------------------------------------------------------- what is measured
def bench_districts(client: Client, insurer: int, repeat: int, budget: float) -> list[Row]:
    """Every district layer, without a filter and with a period or an insurer filter, in the
    catalogue's order until the budget (seconds) is spent."""
    filters = (("none", ""), ("period=2024", "?period=2024"),
               (f"insurer={insurer}", f"?insurer={insurer}"))
    urls = [(f"/api/layers/{layer.id}/districts{query}", (layer.id, name))
            for layer in catalogue.DISTRICT_LAYERS for name, query in filters]
    deadline = time.perf_counter() + budget
    return [measure(client, path, repeat, label) for path, label in urls
            if time.perf_counter() < deadline]


def bench_tiles(client: Client, extent: tuple[float, ...], repeat: int, budget: float
                ) -> list[Row]:
    """The project tiles over the city's extent: per zoom, all tiles pooled, then only the
    tiles with projects (most of the extent is countryside, whose empty tiles are cheap).
    The zooms take turns, each in a seeded random order, until the budget (seconds) is spent:
    a slow tenant gets a smaller random sample of every zoom, not the first zooms only."""
    covering, queues = {}, []
    for z in TILE_ZOOMS:
        covering[z], tiles = covering_tiles(extent, z)
        random.Random(TILE_SAMPLE_SEED - z).shuffle(tiles)
        queues.append(tiles)
    deadline = time.perf_counter() + budget
    measured = [measure(client, f"/tiles/projects/{z}/{x}/{y}.mvt", repeat,
                        (str(z), f"{z}/{x}/{y}"))
                for turn in itertools.zip_longest(*queues) for z, x, y in filter(None, turn)
                if time.perf_counter() < deadline]
    rows = []
    for z in TILE_ZOOMS:
        ones = [one for one in measured if one.label[0] == str(z)]
        filled = [one for one in ones if any(one.sizes)]  # an empty tile: 200, empty body
        error = next((f"{one.label[1]}: {one.error}" for one in ones if one.error), "")
        for name, group in (("all", ones), ("with projects", filled)):
            rows.append(Row((str(z), f"{len(ones)}/{covering[z]}", name, str(len(group))),
                            [m for one in group for m in one.millis],
                            [b for one in group for b in one.sizes], error * (name == "all")))
    return rows


def bench_revalidation(client: Client, repeat: int) -> Row:
    """A conditional GET with a current ETag: the 304 path, which skips the layer's query."""
    path = f"/api/layers/{REVALIDATED_LAYER}/districts"
    etag = client.get(path)[3]["etag"]
    row = Row((REVALIDATED_LAYER, "If-None-Match"), [], [])
    for attempt in range(repeat + 1):
        status, body, millis, _ = client.get(path, {"If-None-Match": etag})
        if status != 304:
            raise RuntimeError(f"GET {path} with If-None-Match: HTTP {status}, expected 304")
        if attempt:
            row.millis.append(millis)
            row.sizes.append(len(body))
    return row


# ---------------------------------------------------------------- figures and tables
def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def timing(values: list[float]) -> list[str]:
    """p50, p95, max, mean and count of milliseconds, as table cells."""
    if not values:
        return ["-"] * 4 + ["0"]
    figures = (*(percentile(values, q) for q in (50, 95, 100)), statistics.fmean(values))
    return [f"{v:.1f}" for v in figures] + [str(len(values))]


def sizes(values: list[int]) -> list[str]:
    return [f"{percentile(values, q):.0f}" for q in (50, 95, 100)] if values else ["-"] * 3


TIME_HEADERS = ["p50 ms", "p95 ms", "max ms", "mean ms", "n"]


def print_table(title: str, headers: list[str], rows: list[list[str]],
                text_columns: int = 2) -> None:
    """Plain text in columns: the first ``text_columns`` are names (left), the rest figures."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print(f"\n{title}")
    for line in [headers, ["-" * w for w in widths], *rows]:
        cells = [c.ljust(w) if i < text_columns else c.rjust(w)
                 for i, (c, w) in enumerate(zip(line, widths, strict=True))]
        print("  ".join(cells).rstrip())
    sys.stdout.flush()


def report_tenant(result: dict, who: str) -> None:
    """One tenant's tables: district layers, tiles, and the 304 line."""
    rows = result["districts"]
    table = [[*row.label, *timing(row.millis),
              f"{percentile(row.sizes, 50) / 1024:.1f}" if row.sizes else "-"] for row in rows]
    print_table(f"District layers, {who}  GET /api/layers/<id>/districts[?filter]",
                ["layer", "filter", *TIME_HEADERS, "KiB"], table)
    total = 3 * len(catalogue.DISTRICT_LAYERS)
    if len(rows) < total:  # every layer runs the same query: fewer layers still tell its cost
        print(f"  only the first {len(rows)} of {total} URLs: the --budget ran out")
    for row in rows:
        if row.error:
            print(f"  NOT TIMED {row.label[0]} ({row.label[1]}): {row.error}")
    table = [[*row.label, *timing(row.millis), *sizes(row.sizes)] for row in result["tiles"]]
    print_table(f"Project tiles, {who}  GET /tiles/projects/{{z}}/{{x}}/{{y}}.mvt  "
                "(the tiles of a zoom pooled)", ["zoom", "timed/covering", "tiles", "count",
                                                 *TIME_HEADERS, "p50 B", "p95 B", "max B"],
                table, text_columns=3)
    for row in result["tiles"]:
        if row.error:
            print(f"  zoom {row.label[0]}: some tiles NOT TIMED, first: {row.error}")
    reval = result["revalidation"].millis
    print(f"\n304 revalidation of {REVALIDATED_LAYER}, {who}: p50 {percentile(reval, 50):.1f} ms "
          f"(p95 {percentile(reval, 95):.1f} ms, n {len(reval)})", flush=True)


def summary(result: dict) -> dict[str, list[float]]:
    """One tenant's samples pooled by kind: districts by filter, tiles by zoom and all, 304s."""
    pooled: dict[str, list[float]] = {}
    for row in result["districts"]:
        pooled.setdefault(f"districts, filter {row.label[1].split('=')[0]}", []).extend(row.millis)
    for row in result["tiles"]:
        pooled[f"tiles z{row.label[0]}, {row.label[2]}"] = row.millis
    pooled["tiles, all zooms"] = [m for row in result["tiles"] if row.label[2] == "all"
                                  for m in row.millis]
    pooled["districts, 304 revalidation"] = result["revalidation"].millis
    return pooled


def ratio(insurer: list[float], regulator: list[float]) -> str:
    if not (insurer and regulator):
        return "-"
    return f"{percentile(insurer, 50) / percentile(regulator, 50):.2f}x"


def report_comparison(results: dict[int, dict]) -> None:
    """One line per kind of request: each tenant's p50/p95 and their ratio, for each scale."""
    summaries = [[summary(result[t]) for t in TENANTS] for result in results.values()]
    table = []
    for kind in summaries[0][0]:
        cells = [kind]
        for regulator, insurer in summaries:
            pair = (regulator.get(kind, []), insurer.get(kind, []))
            cells += [f"{percentile(millis, q):.1f}" if millis else "-"
                      for millis in pair for q in (50, 95)]
            cells.append(ratio(pair[1], pair[0]))
        table.append(cells)
    headers = ["requests"]
    for scale in results:
        headers += [f"{DEMO_PROJECTS * scale} reg p50", "reg p95", "ins p50", "ins p95",
                    "ins/reg p50"]
    print_table("Summary by scale and tenant, ms (all samples of a kind pooled; the insurer's "
                "'none' and 'period' are narrowed to its own portfolio)", headers, table,
                text_columns=1)


def compare_tenants(scale: int, result: dict) -> str:
    """The short line: insurer vs regulator p50 on the same URLs."""
    regulator, insurer = (summary(result[t]) for t in TENANTS)
    kinds = ("districts, filter insurer", "tiles, all zooms", "districts, 304 revalidation")
    parts = [f"{kind} {ratio(insurer.get(kind, []), regulator[kind])} "
             f"({percentile(insurer.get(kind, []), 50):.1f} vs "
             f"{percentile(regulator[kind], 50):.1f} ms)" for kind in kinds]
    return f"{DEMO_PROJECTS * scale} projects, insurer vs regulator p50: " + "; ".join(parts)


# ---------------------------------------------------------------- the run
def run_scale(admin: Engine, scale: int, repeat: int, budget: float) -> dict:
    """Make, fill, serve and measure one scale's database; it is dropped on the way out."""
    with fresh_database(admin, scale) as engine:
        seconds, counts = load_demo(engine, scale)
        print(f"\n=== scale {scale}x: {counts['project']} projects, {counts['policy']} policies, "
              f"{counts['risk_event']} risk events, {counts['claim']} claims "
              f"(demo load {seconds:.1f} s)", flush=True)
        insurer, extent = busiest_insurer(engine), city_extent(engine)
        tokens = issue_tokens(engine, insurer)
        url = engine.url.render_as_string(hide_password=False)
        result: dict = {"load_s": seconds, "insurer_id": insurer}
        with serving(url) as port:
            for tenant in TENANTS:
                client = Client(port, tokens[tenant])
                try:
                    result[tenant] = {
                        "districts": bench_districts(client, insurer, repeat, budget),
                        "tiles": bench_tiles(client, extent, repeat, budget),
                        "revalidation": bench_revalidation(client, repeat)}
                finally:
                    client.connection.close()
    report_tenant(result["regulator"], "regulator (sees all)")
    report_tenant(result["insurer"], f"insurer {insurer} (own portfolio, under row security)")
    print("\n" + compare_tenants(scale, result), flush=True)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5,
                        help="timed requests per URL, after one warm-up (default 5)")
    parser.add_argument("--scales", default="1,10",
                        help="demo sizes as multiples of 300 projects (default 1,10)")
    parser.add_argument("--budget", type=float, default=60,
                        help="seconds per tenant for the district layers, and again for the "
                             "tiles: URLs not started by then are left out (default 60)")
    args = parser.parse_args(argv)
    args.scales = [int(s) for s in args.scales.split(",") if s.strip()]
    if args.repeat < 1 or not args.scales or min(args.scales) < 1:
        parser.error("--repeat and every scale must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    about = machine()
    admin = store.make_engine(server_url(), isolation_level="AUTOCOMMIT")
    try:
        print(f"machine: nproc {about['nproc']}, {about['cpu']}; Python {about['python']}; "
              f"{database_versions(admin)}")
        print(f"city {CITY}, repeat {args.repeat} timed requests per URL after 1 warm-up, "
              "sequential, one keep-alive connection per tenant with its API token, "
              "no If-None-Match", flush=True)
        results = {scale: run_scale(admin, scale, args.repeat, args.budget)
                   for scale in args.scales}
    finally:
        admin.dispose()
    print("\nDemo load: " + ", ".join(
        f"{DEMO_PROJECTS * s} projects {r['load_s']:.1f} s" for s, r in results.items()))
    report_comparison(results)
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
