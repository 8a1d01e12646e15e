"""Import speed: 100,000 project rows through `riskmap import`, and the same file via ogr2ogr.

    .venv/bin/python bench/bench_import.py [--rows 100000]

Builds a CSV of projects inside Kunming's districts, imports it into a fresh database on the
private cluster (timing the check and the write separately), imports it again (a no-op), and
loads the same file with GDAL's ogr2ogr into a plain table for comparison. ogr2ogr only copies
text and points; our loader also checks every cell and upserts into the constrained store.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import _server_url  # noqa: E402 - the tests' way to reach the private cluster
from geo import store  # noqa: E402
from loaders import districts  # noqa: E402
from loaders.demo_load import city_districts  # noqa: E402
from loaders.imports.columns import PROJECTS  # noqa: E402
from loaders.imports.run import import_file  # noqa: E402

HEADERS = [c.template_header for c in PROJECTS]


def fresh_database():
    admin = store.make_engine(_server_url(), isolation_level="AUTOCOMMIT")
    name = f"riskmap_bench_import_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = store.make_engine(admin.url.set(database=name))
    store.upgrade(engine)
    return admin, engine, name


def points_inside(boundary, n: int, rng) -> list[tuple[float, float]]:
    minx, miny, maxx, maxy = boundary.bounds
    found: list[tuple[float, float]] = []
    while len(found) < n:
        # rounded first, as written to the file, so that no point slips over an edge
        xs, ys = rng.uniform(minx, maxx, 4096).round(6), rng.uniform(miny, maxy, 4096).round(6)
        inside = shapely.contains_xy(boundary, xs, ys)
        found.extend(zip(xs[inside], ys[inside], strict=True))
    return found[:n]


def write_file(engine, path: Path, rows: int) -> None:
    rng = np.random.default_rng(1)
    with engine.connect() as conn:
        places = city_districts(conn, "530100")
    per = rows // len(places) + 1
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        n = 0
        for district in places:
            for lon, lat in points_inside(district.boundary, per, rng):
                if n == rows:
                    return
                writer.writerow(_row(n, district.name, lon, lat, rng))
                n += 1


def _row(n: int, district: str, lon: float, lat: float, rng) -> list:
    values = {
        "permit_no": f"B-{n:07d}", "project_name": f"基准项目{n}", "community": f"小区{n % 997}",
        "address": f"{district}测试路{n % 500}号", "district": district, "lon": lon, "lat": lat,
        "developer": f"基准置业{n % 1000}有限公司", "contractor": f"基准建设{n % 300}集团有限公司",
        "gross_floor_area": int(rng.integers(20_000, 300_000)), "units": int(rng.integers(100, 3000)),
        "construction_cost": int(rng.integers(10_000, 100_000)), "stage": "已交付",
        "start_date": "2018-03-01", "completion_date": "2020年6月30日", "delivery_date": "2020/12/1",
    }
    return [values.get(c.name, "") for c in PROJECTS]


def timed_import(engine, path: Path) -> tuple[float, object]:
    started = time.perf_counter()
    with engine.begin() as conn:
        result = import_file(conn, "projects", path, city="530100", actor="bench")
    return time.perf_counter() - started, result


def ogr2ogr(engine, path: Path) -> float | None:
    if shutil.which("ogr2ogr") is None:
        return None
    url = engine.url
    pg = (f"PG:dbname={url.database} host={url.query['host']} port={url.query['port']} "
          f"user={url.username}")
    started = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "PostgreSQL", pg, str(path), "-nln", "ogr_projects",
                    "-oo", "X_POSSIBLE_NAMES=经度", "-oo", "Y_POSSIBLE_NAMES=纬度",
                    "-a_srs", "EPSG:4326", "-lco", "SPATIAL_INDEX=GIST", "-gt", "65536",
                    "--config", "PG_USE_COPY", "YES"], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows
    admin, engine, name = fresh_database()
    try:
        with engine.begin() as conn:
            districts.load_districts(conn, districts.district_records(city="530100"))
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "projects-100k.csv"
            write_file(engine, path, rows)
            report(engine, path, rows)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def report(engine, path: Path, rows: int) -> None:
    size = path.stat().st_size / 1e6
    print(f"file: {rows:,} project rows, {size:.1f} MB CSV (UTF-8)")
    seconds, result = timed_import(engine, path)
    assert not result.errors, result.errors[:3]
    print(f"riskmap import (first):  {seconds:6.1f} s  {rows / seconds:9,.0f} rows/s  "
          f"inserted {result.inserted:,}")
    seconds, result = timed_import(engine, path)
    print(f"riskmap import (again):  {seconds:6.1f} s  {rows / seconds:9,.0f} rows/s  "
          f"unchanged {result.unchanged:,} (a no-op)")
    seconds = ogr2ogr(engine, path)
    if seconds is None:
        print("ogr2ogr: not installed (apt-get install gdal-bin)")
    else:
        print(f"ogr2ogr (plain copy):    {seconds:6.1f} s  {rows / seconds:9,.0f} rows/s")


if __name__ == "__main__":
    main()
