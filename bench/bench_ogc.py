"""Our OGC API (Features items and vector tiles) against pygeoapi and tipg on the same tables.

Run from the project root, after installing the two rivals into a venv of their own (they are
not the project's dependencies):

    python3 -m venv .bench-venv
    .bench-venv/bin/pip install pygeoapi tipg uvicorn waitress psycopg2-binary geoalchemy2
    .venv/bin/python bench/bench_ogc.py [--projects 20000] [--items-repeat 20]

One fresh database (dropped at the end) gets Kunming's districts and a demo of --projects
projects. Then, one server at a time on 127.0.0.1, each measured the same way:

- **items**: GET a page of 1,000 projects in a Kunming bbox (limit=1000), --items-repeat times
  one after another on one keep-alive connection (after one warm-up); mean ms and pages/s.
- **tiles**: a fixed, seeded mix of 400 WebMercatorQuad tiles, z8 to z14, each holding projects,
  fetched by 4 concurrent clients after one warm-up tile each; tiles per second over what was
  served within 60 s (the whole mix, or less for a server whose tiles take minutes), with the
  95th percentile and the largest tile.

Ours runs as production runs it (gunicorn with webmap/gunicorn_conf.py's defaults: 3 workers
of 4 threads) with the regulator's API token, so each request also looks the token up and runs
under row security; pygeoapi (PostgreSQL and MVT-postgresql providers) under waitress with 4
threads and tipg under uvicorn (one process, asyncio; reaching the private cluster's socket
through a socat relay) read the table `project` as its owner. Each server runs in processes of
its own, apart from the clients.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_map  # noqa: E402  (the shared machinery: databases, waitress, a client)

from geo import store  # noqa: E402

os.environ.setdefault("RISKMAP_ACCESS_LOG", "")  # a JSON line per request would bury the figures

ROOT = Path(__file__).resolve().parent.parent
RIVALS = ROOT / ".bench-venv" / "bin"
BBOX = (102.62, 24.95, 102.82, 25.10)  # central Kunming
ZOOMS = range(8, 15)
TILES = 400
SEED = 20261203


def connection_parts(engine: Engine) -> dict:
    url = engine.url
    host = url.host or url.query.get("host") or "/tmp"
    port = int(url.port or url.query.get("port") or 5432)
    return {"host": host, "port": port, "dbname": url.database,
            "user": url.username or os.environ.get("USER", "postgres"),
            "password": url.password or ""}


def pygeoapi_config(parts: dict, port: int, folder: Path) -> Path:
    data = {k: parts[k] for k in ("host", "port", "dbname", "user", "password")}
    data["search_path"] = ["public"]
    provider = {"data": data, "id_field": "id", "table": "project", "geom_field": "location"}
    config = {
        "server": {"bind": {"host": "127.0.0.1", "port": port},
                   "url": f"http://127.0.0.1:{port}", "mimetype": "application/json; charset=UTF-8",
                   "encoding": "utf-8", "languages": ["en-US"], "pretty_print": False,
                   "limits": {"default_items": 10, "max_items": 10000},
                   "map": {"url": "http://127.0.0.1/{z}/{x}/{y}.png", "attribution": "none"}},
        "logging": {"level": "ERROR"},
        "metadata": {"identification": {"title": "bench", "description": "bench",
                                        "keywords": ["bench"], "keywords_type": "theme",
                                        "terms_of_service": "none", "url": "http://127.0.0.1"},
                     "license": {"name": "none", "url": "http://127.0.0.1"},
                     "provider": {"name": "bench", "url": "http://127.0.0.1"},
                     "contact": {k: "bench" for k in (
                         "name", "position", "address", "city", "stateorprovince", "postalcode",
                         "country", "phone", "fax", "email", "url", "hours", "instructions",
                         "role")}},
        "resources": {"projects": {
            "type": "collection", "title": "projects", "description": "projects",
            "keywords": ["projects"],
            "extents": {"spatial": {"bbox": [73, 3, 136, 54],
                                    "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
            "providers": [
                {"type": "feature", "name": "PostgreSQL", **provider},
                {"type": "tile", "name": "MVT-postgresql", **provider,
                 "options": {"zoom": {"min": 0, "max": 16}},
                 "format": {"name": "pbf", "mimetype": "application/vnd.mapbox-vector-tile"}},
            ]}},
    }
    path = folder / "pygeoapi.yml"
    path.write_text(json.dumps(config))  # YAML is a superset of JSON
    return path


@contextlib.contextmanager
def pygeoapi(parts: dict) -> Iterator[int]:
    port = bench_map.free_port()
    with tempfile.TemporaryDirectory() as folder:
        config = pygeoapi_config(parts, port, Path(folder))
        openapi = Path(folder) / "openapi.yml"
        env = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
        made = subprocess.run([str(RIVALS / "pygeoapi"), "openapi", "generate", str(config),
                               "--output-file", str(openapi)], capture_output=True, text=True,
                              env={**os.environ, **env})
        if made.returncode:
            raise RuntimeError(f"pygeoapi openapi generate: {made.stderr[-3000:]}")
        with bench_map.process([str(RIVALS / "waitress-serve"), f"--port={port}",
                                "--host=127.0.0.1", "--threads=4", "pygeoapi.flask_app:APP"],
                               env, port, "/collections/projects?f=json") as ready:
            yield ready


@contextlib.contextmanager
def tipg(parts: dict) -> Iterator[int]:
    port = bench_map.free_port()
    relay = None
    host, db_port = parts["host"], parts["port"]
    if host.startswith("/"):
        # tipg's settings take host:port only (a socket folder in the query is dropped, and it
        # reaches another server): relay TCP to the private cluster's Unix socket
        db_port = bench_map.free_port()
        relay = subprocess.Popen(["socat", f"TCP-LISTEN:{db_port},bind=127.0.0.1,fork,reuseaddr",
                                  f"UNIX-CONNECT:{host}/.s.PGSQL.{parts['port']}"])
        host = "127.0.0.1"
    url = (f"postgresql://{parts['user']}:{parts['password'] or 'x'}@{host}:{db_port}/"
           f"{parts['dbname']}")
    # as many features per tile as ours puts in (its default, 10,000, would cut tiles short)
    env = {"DATABASE_URL": url, "TIPG_DB_TABLES": '["public.project"]',
           "TIPG_MAX_FEATURES_PER_QUERY": "10000",
           "TIPG_MAX_FEATURES_PER_TILE": "1000000"}
    try:
        with bench_map.process([str(RIVALS / "uvicorn"), "tipg.main:app", "--host", "127.0.0.1",
                      "--port", str(port), "--log-level", "warning"], env, port,
                     "/collections") as ready:
            yield ready
    finally:
        if relay is not None:
            relay.terminate()
            relay.wait(10)


def tile_mix(engine: Engine) -> list[tuple[int, int, int]]:
    """400 tiles z8–z14 that hold projects: a seeded sample, the same every run."""
    with engine.connect() as conn:
        points = conn.execute(text("SELECT ST_X(location), ST_Y(location) FROM project")).all()
    per_zoom = TILES // len(ZOOMS) + 1
    mix = []
    for z in ZOOMS:
        held = sorted({bench_map.tile_xy(lon, lat, z) for lon, lat in points})
        chosen = random.Random(SEED + z).sample(held, min(per_zoom, len(held)))
        mix += [(z, x, y) for x, y in chosen]
    return random.Random(SEED).sample(mix, min(TILES, len(mix)))


def time_items(port: int, token: str, path: str, repeat: int) -> dict:
    client = bench_map.Client(port, token)
    status, body, _, _ = client.get(path)
    assert status == 200, (path, status, body[:300])
    returned = len(json.loads(body)["features"])
    millis = [client.get(path)[2] for _ in range(repeat)]
    mean = sum(millis) / len(millis)
    return {"features": returned, "mean_ms": mean, "per_s": 1000 / mean}


def time_tiles(port: int, token: str, template: str, mix: list, clients: int = 4,
               seconds: float = 60.0) -> dict:
    """Tiles per second over the mix by ``clients`` at once, after one warm-up tile each; each
    client stops once ``seconds`` have passed (a rival whose tiles take minutes is measured on
    the tiles it served in that time, not waited for)."""
    def run(share: list, deadline: float) -> tuple[list[float], list[int], int]:
        client = bench_map.Client(port, token)
        millis, sizes, failed = [], [], 0
        for z, x, y in share:
            if time.perf_counter() > deadline:
                break
            status, body, ms, _ = client.get(template.format(z=z, x=x, y=y))
            millis.append(ms)
            sizes.append(len(body))
            failed += status not in (200, 204)
        return millis, sizes, failed

    shares = [mix[i::clients] for i in range(clients)]
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, [s[:1] for s in shares], [math.inf] * clients))  # warm-up
        started = time.perf_counter()
        results = list(pool.map(run, shares, [started + seconds] * clients))
        elapsed = time.perf_counter() - started
    millis = sorted(m for r in results for m in r[0])
    sizes = [b for r in results for b in r[1]]
    return {"tiles": len(millis), "tiles_per_s": len(millis) / elapsed, "bytes": sum(sizes),
            "largest": max(sizes, default=0),
            "p95_ms": millis[int(0.95 * (len(millis) - 1))] if millis else math.nan,
            "failed": sum(r[2] for r in results)}


def ours(engine: Engine, token: str, mix: list, repeat: int, items: str) -> dict:
    url = engine.url.render_as_string(hide_password=False)
    with bench_map.gunicorn(url) as port:
        return {"items": time_items(port, token, f"/collections/projects/items?{items}", repeat),
                "tiles": time_tiles(port, token, "/collections/projects/tiles/WebMercatorQuad/"
                                    "{z}/{y}/{x}", mix)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=20_000)
    parser.add_argument("--items-repeat", type=int, default=20)
    args = parser.parse_args(argv)
    admin = store.make_engine(bench_map.server_url(), isolation_level="AUTOCOMMIT")
    print(f"machine: {bench_map.machine()}")
    scale = max(1, args.projects // bench_map.DEMO_PROJECTS)
    with bench_map.fresh_database(admin, scale) as engine:
        seconds, _ = bench_map.load_demo(engine, scale)
        with engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM project")).scalar_one()
        print(f"{bench_map.database_versions(engine)}; demo of {count} projects in {seconds:.0f} s")
        tokens = bench_map.issue_tokens(engine, bench_map.busiest_insurer(engine))
        mix = tile_mix(engine)
        items = "bbox=" + ",".join(map(str, BBOX)) + "&limit=1000"
        parts = connection_parts(engine)
        results = {"ours": ours(engine, tokens["regulator"], mix, args.items_repeat, items)}
        print("ours:", results["ours"], flush=True)
        with pygeoapi(parts) as port:
            results["pygeoapi"] = {
                "items": time_items(port, "", f"/collections/projects/items?f=json&{items}",
                                    args.items_repeat),
                "tiles": time_tiles(port, "", "/collections/projects/tiles/WebMercatorQuad/"
                                    "{z}/{y}/{x}?f=mvt", mix)}
        print("pygeoapi:", results["pygeoapi"], flush=True)
        with tipg(parts) as port:
            # its default geometry column is footprint (mostly empty): the points are location
            results["tipg"] = {
                "items": time_items(port, "", "/collections/public.project/items?"
                                    f"geom-column=location&{items}",
                                    args.items_repeat),
                "tiles": time_tiles(port, "", "/collections/public.project/tiles/"
                                    "WebMercatorQuad/{z}/{x}/{y}?geom-column=location", mix)}
    report(results, len(mix))


def report(results: dict, tiles: int) -> None:
    print(f"\n{'server':<10} {'items ms':>9} {'pages/s':>8} {'features':>8} "
          f"{'tiles':>6} {'tiles/s':>8} {'p95 ms':>8} {'largest KB':>10} {'failed':>6}"
          f"   (mix of {tiles} tiles z8–14, 4 clients, at most 60 s)")
    for name, r in results.items():
        i, t = r["items"], r["tiles"]
        print(f"{name:<10} {i['mean_ms']:>9.1f} {i['per_s']:>8.2f} {i['features']:>8} "
              f"{t['tiles']:>6} {t['tiles_per_s']:>8.2f} {t['p95_ms']:>8.0f} "
              f"{t['largest'] / 1024:>10.1f} {t['failed']:>6}")
    ours_ = results["ours"]
    for rival in ("pygeoapi", "tipg"):
        other = results[rival]
        print(f"ours ÷ {rival}: items {ours_['items']['per_s'] / other['items']['per_s']:.2f}×, "
              f"tiles {ours_['tiles']['tiles_per_s'] / other['tiles']['tiles_per_s']:.2f}×")


if __name__ == "__main__":
    main()
