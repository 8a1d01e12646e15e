"""Throughput of the public map and its tiles: nginx's shared cache in front or not, one web
process or two.

Run from the project root:  .venv/bin/python bench/bench_scale_out.py [--seconds 8] [--clients 8]

A fresh database (DATABASE_URL's server, else the private cluster) gets Kunming's districts,
the 300-project demo and one approved public layer. Two services run on gunicorn (one
process each, 4 threads, as on two hosts) and Debian's nginx runs privately from a temporary
folder on a free high port (`deploy/nginx/riskmap.conf`'s directives, its cache in the
folder). Each configuration is loaded for --seconds by --clients concurrent keep-alive
clients requesting, in turn, the public layer list, the layer's GeoJSON, its TileJSON and its
vector tiles at zooms 9–12 over the city; the bench prints requests per second, latency
p50 / p95 and how many answers nginx served from its cache. The database is dropped at the
end, also after an error or Ctrl+C.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from bench_map import (
    city_extent,
    covering_tiles,
    free_port,
    fresh_database,
    load_demo,
    machine,
    server_url,
)
from served import NGINX, nginx  # the test harness's private nginx
from sqlalchemy import text

from geo import store
from geo.tenancy import Tenant
from layers import disclosure, publication
from layers.filters import Filters
from webmap import accounts

ROOT = Path(__file__).resolve().parents[1]
CITY = "530100"
SECRET = "0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a"
TILES = 30  # the tiles a crowd opening the map asks for


def approve_public_layer(engine) -> int:
    """The regulator approves the total premium by district for the public: its id."""
    with engine.begin() as conn:
        accounts.add_user(conn, "bench-regulator", "regulator", accounts.new_password(),
                          actor="bench")
        user_id = conn.execute(text("SELECT id FROM app_user WHERE username = 'bench-regulator'"
                                    )).scalar_one()
        regulator = Tenant("regulator", username="bench-regulator", user_id=user_id)
        rules = disclosure.Rules(min_projects=3)
        pub = publication.draft(conn, regulator, "premium_total", Filters())
        publication.move(conn, regulator, pub, "submitted")
        publication.move(conn, regulator, pub, "approved", city=CITY, rules=rules)
    return pub


@contextlib.contextmanager
def web_service(database_url: str, redis_prefix: str) -> Iterator[int]:
    """One service on gunicorn (one process, four threads); yields its port."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "RISKMAP_SECRET_KEY": SECRET,
           "RISKMAP_REDIS_PREFIX": redis_prefix, "RISKMAP_ACCESS_LOG": "",
           "RISKMAP_PUBLIC_MAX_AGE": "300"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--threads", "4", "webmap:create_app()"], env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_up(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(20)


def wait_until_up(port: int, process: subprocess.Popen, path: str = "/healthz") -> None:
    deadline = time.monotonic() + 180
    while True:
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"service on {port} did not start: "
                             f"{process.stderr.read() if process.stderr else ''}")
        time.sleep(0.3)


def paths_of(engine, pub: int) -> list[str]:
    extent = city_extent(engine)
    tiles = [t for z in (9, 10, 11, 12) for t in covering_tiles(extent, z)[1]]
    random.Random(20240501).shuffle(tiles)
    return (["/api/public/layers", f"/api/public/layers/{pub}", f"/tiles/public/{pub}.json"]
            + [f"/tiles/public/{pub}/{z}/{x}/{y}.mvt" for z, x, y in tiles[:TILES]])


def warm(port: int, paths: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for path in paths:
        conn.request("GET", path)
        conn.getresponse().read()


def load(port: int, paths: list[str], clients: int, seconds: float) -> dict:
    """``clients`` keep-alive clients asking for ``paths`` in turn for ``seconds``."""
    millis: list[float] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, seen, i = [], {}, n * 7
        while time.monotonic() < stop:
            path = paths[i % len(paths)]
            i += 1
            started = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            key = f"{response.status} {response.getheader('X-Cache-Status', '-')}"
            seen[key] = seen.get(key, 0) + 1
        with lock:
            millis.extend(mine)
            for key, count in seen.items():
                statuses[key] = statuses.get(key, 0) + count

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    millis.sort()
    return {"rps": len(millis) / seconds, "p50": statistics.median(millis),
            "p95": millis[int(len(millis) * 0.95) - 1], "count": len(millis),
            "statuses": statuses}


def row(label: str, result: dict) -> str:
    hits = sum(c for k, c in result["statuses"].items() if k.endswith(" HIT"))
    bad = sum(c for k, c in result["statuses"].items() if not k.startswith(("200", "304")))
    return (f"| {label} | {result['rps']:,.0f} | {result['p50']:.1f} | {result['p95']:.1f} | "
            f"{result['count']:,} | {hits / result['count']:.0%} | {bad} |")


def run(seconds: float, clients: int) -> None:
    admin = store.make_engine(server_url(), isolation_level="AUTOCOMMIT")
    with fresh_database(admin, 1) as engine:
        load_demo(engine, 1)
        pub = approve_public_layer(engine)
        paths = paths_of(engine, pub)
        url = engine.url.render_as_string(hide_password=False)
        prefix = f"bench-scale-{os.getpid()}"
        print(f"machine: {machine()}; {len(paths)} paths; {clients} clients, {seconds:.0f} s "
              "each\n")
        print("| configuration | req/s | p50 ms | p95 ms | requests | nginx cache hits | "
              "not 200 |\n|---|---|---|---|---|---|---|")
        with web_service(url, prefix) as first, web_service(url, prefix) as second:
            warm(first, paths)  # both processes warm (imports, pools, plans, pages in memory)
            warm(second, paths)
            print(row("gunicorn ×1, no nginx", load(first, paths, clients, seconds)), flush=True)
            for cache in (False, True):
                for backends in ([first], [first, second]):
                    with nginx(backends, cache) as port:
                        warm(port, paths)  # every path asked once: a crowd follows a first
                        label = (f"nginx {'cache' if cache else 'no cache'} → "
                                 f"gunicorn ×{len(backends)}")
                        print(row(label, load(port, paths, clients, seconds)), flush=True)
    admin.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args(argv)
    if not Path(NGINX).exists():
        raise SystemExit("nginx not found: apt-get install nginx-light")
    run(args.seconds, args.clients)


if __name__ == "__main__":
    main()
