"""Time to first district fill of the risk map, with a basemap on, in real headless Chromium.

Run from the project root:  .venv/bin/python bench/bench_first_fill.py [--projects 300,20000]
                                                                       [--repeat 3] [--keep]

For each size a database gets Kunming's districts and a demo of that many projects (with
--keep, bench_scale.py's riskmap_scale_<N>, kept and reused); the
app is served on 127.0.0.1 with Tianditu (天地图) pointed at a local tile server
(tests/tileserver.py), and a regulator signed in to Chromium opens ``/``. Timed from the start
of the navigation to the moment the first district polygon has its fill colour, and to the
first basemap tile drawn; every request outside 127.0.0.1 is refused. Databases made here are
dropped at the end, also after an error.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT), str(ROOT / "bench")]  # tests/conftest.py

from bench_map import server_url  # noqa: E402
from bench_scale import scale_database  # noqa: E402
from browsing import chromium_page, close_chromium, serving, sign_in  # noqa: E402
from tileserver import tile_server  # noqa: E402

from conftest import account  # noqa: E402
from geo import store  # noqa: E402

FIRST_FILL = "() => document.querySelector(\"path[class*='district-'][fill^='#']\") !== null"
FIRST_TILE = ("() => [...document.querySelectorAll('.basemap-tiles img')]"
              ".some(i => i.complete && i.naturalWidth > 0)")


def measure(url: str, repeat: int) -> tuple[list[float], list[float]]:
    fills, tiles = [], []
    with chromium_page() as (page, problems):
        sign_in(page, url, "t-regulator", timeout=600_000)
        for _ in range(repeat + 1):  # the first is a warm-up (caches, connections)
            started = time.perf_counter()
            page.goto(url + "/", wait_until="commit")
            page.wait_for_function(FIRST_TILE, timeout=600_000, polling=10)
            tile = time.perf_counter() - started
            page.wait_for_function(FIRST_FILL, timeout=600_000, polling=10)
            fills.append(time.perf_counter() - started)
            tiles.append(tile)
            page.wait_for_load_state("networkidle")
        if problems:
            print("  problems:", problems[:3])
    return fills[1:], tiles[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", default="300,20000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true",
                        help="reuse (or make and keep) bench_scale.py's riskmap_scale_<N>")
    args = parser.parse_args()
    admin = store.make_engine(server_url(), isolation_level="AUTOCOMMIT")
    with tile_server() as tiles:
        for projects in (int(p) for p in args.projects.split(",")):
            with scale_database(admin, projects, args.keep) as (engine, seconds):
                account(engine, "regulator")
                with serving(engine, TIANDITU_KEY="bench", TIANDITU_URL=tiles.tianditu_url,
                             ACCESS_LOG="") as url:
                    fills, first_tiles = measure(url, args.repeat)
                loaded = "reused" if seconds is None else f"loaded in {seconds:.0f} s"
                print(f"{projects:>6} projects (demo {loaded}): first district "
                      f"fill median {statistics.median(fills) * 1000:.0f} ms "
                      f"(max {max(fills) * 1000:.0f} ms); first basemap tile median "
                      f"{statistics.median(first_tiles) * 1000:.0f} ms, over {len(fills)} loads")
    admin.dispose()
    close_chromium()


if __name__ == "__main__":
    main()
