"""Fast at a real city's scale: the map, tiles, statistics, heat, portfolio and reports at
300, 20,000 and 200,000 projects, side by side with each query's plain-SQL floor and with tipg.

Run from the project root:
    .venv/bin/python bench/bench_scale.py [--projects 300,20000,200000] [--keep]

Each size gets a database on the same server as the tests (bench_map.server_url), filled
with `riskmap demo --projects N`'s programme (timed) and VACUUM (ANALYZE)d; with --keep it is
kept as riskmap_scale_<N> and reused by the next run (no reload). The app is served as
production serves it (gunicorn with webmap/gunicorn_conf.py's defaults, bench_map.gunicorn) on
127.0.0.1 and measured over real HTTP with the regulator's API token; tipg (in
the separate .bench-venv, never in the project's lock) serves the same project table beside
it when installed. The plans of the hot queries, EXPLAIN (ANALYZE, BUFFERS), go to
bench/out/plans_<N>.txt (git-ignored). Figures are medians; targets are issue 16's.
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import contextlib
import logging
import os
import random
import re
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_map as bm  # noqa: E402 - the shared machinery of the map benchmark

from geo import store  # noqa: E402
from geo.tenancy import Tenant  # noqa: E402
from layers import catalogue  # noqa: E402
from layers.filters import Filters  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DISTRICT_URL = "/api/layers/premium_total/districts"
REPORT_DISTRICT = "530102"  # 五华区
TILE_ZOOMS = range(8, 15)
TIPG_PORT = 8917
# the same aggregate the district layer shows (policies, their projects, premium per
# district), written plainly, as the owner: what the layer's query cannot beat
FLOOR_DISTRICTS = """
SELECT d.code, count(DISTINCT p.id), sum(po.premium_yuan), sum(po.sum_insured_yuan)
FROM district d LEFT JOIN project p ON p.district_code = d.code
LEFT JOIN policy po ON po.project_id = p.id AND po.status NOT IN ('returned', 'cancelled')
WHERE d.city_code = '530100' GROUP BY d.code"""
FLOOR_TILE = """
SELECT ST_AsMVT(t, 'projects') FROM (
  SELECT p.id, p.name, ST_AsMVTGeom(ST_Transform(p.location, 3857), ST_TileEnvelope(:z, :x, :y))
         AS geom
  FROM project p WHERE p.location && ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326)) t"""


def make_client(port: int, token: str) -> bm.Client:
    """bench_map's client, patient: on a busy machine a computed answer may take minutes."""
    made = bm.Client(port, token)
    made.connection.timeout = 900
    return made


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# ---------------------------------------------------------------- databases
@contextlib.contextmanager
def scale_database(admin: Engine, projects: int, keep: bool):
    """A database with the demo of ``projects`` projects: kept and reused with ``keep``."""
    if not keep:
        with bm.fresh_database(admin, projects) as engine:
            yield engine, load(engine, projects)
        return
    name = f"riskmap_scale_{projects}"
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": name}).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = store.make_engine(admin.url.set(database=name))
    try:
        store.upgrade(engine)
        with engine.connect() as conn:
            loaded = conn.execute(text("SELECT count(*) FROM project")).scalar_one()
        yield engine, (load(engine, projects) if loaded != projects else None)
    finally:
        engine.dispose()


def load(engine: Engine, projects: int) -> float:
    """Seconds of districts + demo, as `riskmap demo --projects N` loads them."""
    from loaders import demo, demo_load, districts
    started = time.perf_counter()
    with engine.begin() as conn:
        if not demo_load.city_districts(conn, bm.CITY):
            districts.load_districts(conn, districts.district_records(city=bm.CITY))
        demo_load.run_demo(conn, demo.DemoOptions(city=bm.CITY, projects=projects))
    seconds = time.perf_counter() - started
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    return seconds


def regulator_token(engine: Engine) -> str:
    from webmap import accounts
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM api_token WHERE user_id IN "
                          "(SELECT id FROM app_user WHERE username = 'bench-scale')"))
        conn.execute(text("DELETE FROM app_user WHERE username = 'bench-scale'"))
        accounts.add_user(conn, "bench-scale", "regulator", accounts.new_password(),
                          actor="bench")
        return accounts.issue_token(conn, "bench-scale", "bench_scale", actor="bench")


def timed_sql(engine: Engine, sql: str, params: dict | None = None, repeat: int = 3) -> float:
    """Median milliseconds of a query run as the owner (one warm-up)."""
    millis = []
    with engine.connect() as conn:
        for attempt in range(repeat + 1):
            started = time.perf_counter()
            conn.execute(text(sql), params or {}).all()
            if attempt:
                millis.append((time.perf_counter() - started) * 1000)
    return median(millis)


# ---------------------------------------------------------------- HTTP
def fetch(port: int, token: str, path: str, repeat: int) -> tuple[float, float, int]:
    """Milliseconds of the first request, median ms of ``repeat`` more, bytes (a connection
    of its own: the server drops one left idle through a long concurrent round)."""
    client = make_client(port, token)
    try:
        status, body, first, _ = client.get(path)
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status} {body[:120]!r}")
        again = [client.get(path)[2] for _ in range(repeat)]
    finally:
        client.connection.close()
    return first, median(again), len(body)


def concurrent_rate(port: int, token: str, paths: list[str], clients: int
                    ) -> tuple[float, float, int]:
    """Requests per second of ``clients`` keep-alive clients sharing ``paths``; p95 ms and the
    largest body."""
    chunks = [paths[i::clients] for i in range(clients)]

    def run(chunk: list[str]) -> list[tuple[float, int]]:
        client = make_client(port, token)
        try:
            return [(millis, len(body)) for _, body, millis, _ in map(client.get, chunk)]
        finally:
            client.connection.close()

    started = time.perf_counter()
    with futures.ThreadPoolExecutor(clients) as pool:
        results = [r for chunk in pool.map(run, chunks) for r in chunk]
    seconds = time.perf_counter() - started
    millis = sorted(m for m, _ in results)
    return len(paths) / seconds, millis[int(0.95 * (len(millis) - 1))], max(b for _, b in results)


def tile_mix(engine: Engine, count: int) -> list[tuple[int, int, int]]:
    """``count`` tiles z8-14 where the projects are (a seeded sample: what users look at)."""
    with engine.connect() as conn:
        points = conn.execute(text("SELECT ST_X(location), ST_Y(location) FROM project "
                                   "ORDER BY id")).all()
    rng = random.Random(bm.TILE_SAMPLE_SEED)
    mix = []
    for _ in range(count):
        lon, lat = points[rng.randrange(len(points))]
        z = rng.choice(TILE_ZOOMS)
        mix.append((z, *bm.tile_xy(lon, lat, z)))
    return mix


# ---------------------------------------------------------------- tipg
@contextlib.contextmanager
def tipg(engine: Engine):
    """tipg serving the same database, or None when .bench-venv has no tipg."""
    uvicorn = ROOT / ".bench-venv" / "bin" / "uvicorn"
    if not uvicorn.exists():
        yield None
        return
    url, relay = engine.url, None
    socket_dir, port = url.query.get("host"), url.query.get("port") or url.port or 5432
    if socket_dir:  # tipg's settings want host:port: relay TCP to the server's Unix socket
        relay = subprocess.Popen(["socat", f"TCP-LISTEN:{TIPG_PORT + 1},bind=127.0.0.1,fork,"
                                  "reuseaddr", f"UNIX-CONNECT:{socket_dir}/.s.PGSQL.{port}"])
        host, port = "127.0.0.1", TIPG_PORT + 1
    else:
        host = url.host
    dsn = f"postgresql://{url.username}:{url.password or 'x'}@{host}:{port}/{url.database}"
    env = {**os.environ, "DATABASE_URL": dsn, "TIPG_DB_TABLES": '["public.project"]',
           "TIPG_MAX_FEATURES_PER_TILE": "100000"}
    OUT.mkdir(exist_ok=True)
    log = open(OUT / "tipg.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen([str(uvicorn), "tipg.main:app", "--port", str(TIPG_PORT),
                                "--log-level", "warning"], env=env, stdout=log, stderr=log)
    try:
        for _ in range(120):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{TIPG_PORT}/collections", timeout=2)
                break
            time.sleep(0.5)
        yield TIPG_PORT
    finally:
        process.terminate()
        process.wait(10)
        log.close()
        if relay is not None:
            relay.terminate()
            relay.wait(10)


def tipg_rate(port: int, mix: list[tuple[int, int, int]], clients: int
              ) -> tuple[float, float, int]:
    paths = [f"/collections/public.project/tiles/WebMercatorQuad/{z}/{x}/{y}"
             "?geom-column=location"
             for z, x, y in mix]
    return concurrent_rate(port, "none", paths, clients)


# ---------------------------------------------------------------- reports and plans
def district_pdf(database_url: str) -> tuple[float, int, int]:
    """Seconds, pages and bytes of 五华区's report as the regulator sees it (as the report
    job makes it, without the queue)."""
    from layers import reports
    from webmap import create_app
    from webmap.reports.formats import FORMATS
    from webmap.scope import connection
    app = create_app({"DATABASE_URL": database_url})
    started = time.perf_counter()
    with app.app_context():
        with connection(tenant=Tenant("regulator", username="bench-scale")) as conn:
            report = reports.district_report(conn, bm.CITY, REPORT_DISTRICT, Filters(),
                                             Tenant("regulator", username="bench-scale"))
        pdf = FORMATS["pdf"].render(report)
    seconds = time.perf_counter() - started
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout
    pages = int(re.search(rb"Pages:\s+(\d+)", info)[1])  # poppler-utils, as the tests use
    return seconds, pages, len(pdf)


def write_plans(engine: Engine, database_url: str, projects: int, z14: tuple) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the district layer's, a z14 tile's and the statistics'
    queries as the web role acting for the regulator, and of their plain floors."""
    from layers import districts, tiles
    from layers import statistics as stats_layer
    from webmap import create_app
    from webmap.scope import connection
    app = create_app({"DATABASE_URL": database_url})
    z, x, y = z14
    filters = Filters()
    lines = []
    with app.app_context(), connection(tenant=Tenant("regulator", username="bench-scale")) as c:
        layer = catalogue.get(DISTRICT_URL.split("/")[3])
        queries = [("district layer", *districts.metrics_query(
            c, bm.CITY, filters, True, districts.parts_of(layer)))]
        queries.append((f"tile {z}/{x}/{y}", *tiles.tile_query(c, z, x, y, filters, points=True)))
        queries.append(("statistics, every section in one query",
                        *stats_layer.statistics_query(bm.CITY, filters)))
        for title, sql, params in queries:
            if title.startswith("statistics"):  # as statistics() runs it; the others as they run
                c.execute(text(f"SET LOCAL work_mem = '{stats_layer.WORK_MEM}'"))
            plan = c.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql), params).scalars()
            lines += [f"=== {title} (web role, regulator)", *plan, ""]
    with engine.connect() as conn:
        for title, sql, params in (("district floor", FLOOR_DISTRICTS, {}),
                                   ("tile floor", FLOOR_TILE, {"z": z, "x": x, "y": y})):
            plan = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql), params).scalars()
            lines += [f"=== {title} (owner)", *plan, ""]
    (OUT / f"plans_{projects}.txt").write_text("\n".join(lines), encoding="utf-8")


# ---------------------------------------------------------------- one size
def run_size(admin: Engine, projects: int, args) -> dict:
    with scale_database(admin, projects, args.keep) as (engine, load_s):
        print(f"\n=== {projects} projects: demo load "
              f"{'reused' if load_s is None else f'{load_s:.1f} s'}", flush=True)
        token, url = regulator_token(engine), engine.url.render_as_string(hide_password=False)
        mix = tile_mix(engine, args.tiles)
        z14 = next(t for t in mix if t[0] == 14)
        r: dict = {"load s": load_s}
        with bm.gunicorn(url) as port:
            r["district cold ms"], r["district p50 ms"], _ = fetch(port, token, DISTRICT_URL,
                                                                   args.repeat)
            # each period a URL of its own, so each is computed, not answered from the cache
            cold = [fetch(port, token, f"{DISTRICT_URL}?period={year}", 0)[0]
                    for year in range(2020, 2025)]
            r["district computed p50 ms"] = median(cold)
            r["district SQL floor ms"] = timed_sql(engine, FLOOR_DISTRICTS)
            r["district 8 clients req/s"] = concurrent_rate(
                port, token, [DISTRICT_URL] * (args.clients * args.repeat), args.clients)[0]
            r["district 8 clients computed req/s"] = concurrent_rate(port, token, [
                f"/api/layers/{layer.id}/districts?period={year}"
                for layer in catalogue.DISTRICT_LAYERS[:args.clients]
                for year in range(2023, 2025)], args.clients)[0]
            tile_paths = [f"/tiles/projects/{z}/{x}/{y}.mvt" for z, x, y in mix]
            rate, p95, largest = concurrent_rate(port, token, tile_paths, args.clients)
            r.update({"tiles/s (8 clients)": rate, "tile p95 ms": p95, "largest tile B": largest})
            r["z14 tile p50 ms"] = fetch(port, token,
                                         "/tiles/projects/{}/{}/{}.mvt".format(*z14),
                                         args.repeat)[1]
            r["z14 tile SQL floor ms"] = timed_sql(
                engine, FLOOR_TILE, dict(zip("zxy", z14, strict=True)))
            for name, path in (("statistics", "/api/statistics"),
                               ("heat", "/api/heat/risk_events"),
                               ("portfolio", "/api/portfolio")):
                first, again, size = fetch(port, token, path, args.repeat)
                r.update({f"{name} cold ms": first, f"{name} p50 ms": again,
                          f"{name} KB": size / 1024})
        with tipg(engine) as tipg_port:
            try:
                if tipg_port:
                    r["tipg tiles/s"], _, r["tipg largest B"] = tipg_rate(tipg_port, mix,
                                                                         args.clients)
            except OSError as exc:  # tipg did not start: see bench/out/tipg.log
                print(f"  tipg not measured: {exc}", flush=True)
        if not args.no_pdf:
            r["PDF s"], r["PDF pages"], size = district_pdf(url)
            r["PDF KB"] = size / 1024
        write_plans(engine, url, projects, z14)
    for key, value in r.items():
        print(f"  {key:<28} {'-' if value is None else f'{value:,.1f}'}", flush=True)
    return r


TARGETS = {  # at 200,000 projects on 2 cores (issue 16)
    "district computed p50 ms": "<= 100 and <= 3x floor", "tiles/s (8 clients)": ">= 1.5x tipg",
    "largest tile B": "<= 500 KB", "statistics p50 ms": "<= 1000", "heat KB": "<= 300",
    "portfolio p50 ms": "<= 1000", "PDF s": "<= 30", "PDF pages": "<= 40"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", default="300,20000,200000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--tiles", type=int, default=400)
    parser.add_argument("--keep", action="store_true",
                        help="keep each size's database (riskmap_scale_<N>) for the next run")
    parser.add_argument("--no-pdf", action="store_true", help="skip the district PDF")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.projects.split(",") if s.strip()]
    os.environ.setdefault("RISKMAP_ACCESS_LOG", "")  # the figures, not a line per request
    # a store prefix of this run's own: a kept database's answers from an earlier run (same
    # data version) would otherwise be found in the cache, and nothing measured cold
    os.environ["RISKMAP_REDIS_PREFIX"] = f"bench-scale-{uuid.uuid4().hex[:8]}"
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    OUT.mkdir(exist_ok=True)
    about = bm.machine()
    admin = store.make_engine(bm.server_url(), isolation_level="AUTOCOMMIT")
    try:
        print(f"machine: nproc {about['nproc']}, {about['cpu']}; {bm.database_versions(admin)}")
        results = {n: run_size(admin, n, args) for n in sizes}
    finally:
        admin.dispose()
    keys = list(dict.fromkeys(k for r in results.values() for k in r))
    table = [[k, *(_cell(results[n].get(k)) for n in sizes), TARGETS.get(k, "")] for k in keys]
    bm.print_table("Side by side (medians; regulator; plans in bench/out/plans_<N>.txt)",
                   ["what", *(f"{n:,} projects" for n in sizes), "target at 200,000"], table,
                   text_columns=1)


def _cell(value) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"


if __name__ == "__main__":
    main()
