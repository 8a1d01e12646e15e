"""Memory of an import job: peak resident memory per MB of XLSX and CSV imported.

    .venv/bin/python bench/bench_upload_memory.py [--rows 20000,100000,200000]

For each size it writes the same projects (inside Kunming's districts, as bench_import.py
does) as CSV and as XLSX, and checks and writes each in a fresh process, as an import job
does (a dry run: everything but the commit). It prints the process's resident memory after
loading the libraries (baseline), its peak, the file's size, and the peak above the baseline
per MB of file and per 10,000 rows. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_import import HEADERS, fresh_database, write_file  # noqa: E402
from bigfiles import write_xlsx  # noqa: E402

from loaders import districts  # noqa: E402

# run in a child process: its peak memory is the import's alone
CHILD = """
import json, resource, sys
from pathlib import Path
from geo import store
from loaders.imports.run import import_file
import loaders.imports.readers_gis, loaders.imports.readers_xlsx  # the job's libraries
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
engine = store.make_engine(sys.argv[1])
with engine.connect() as conn:
    conn.exec_driver_sql("SELECT 1")
base = rss()
with engine.begin() as conn:
    result = import_file(conn, "projects", Path(sys.argv[2]), city="530100", actor="bench",
                         dry_run=True)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"base": base, "peak": peak, "rows": result.rows_read,
                  "errors": len(result.errors)}))
"""


def measure(url: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, url, str(path)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="20000,100000,200000")
    args = parser.parse_args()
    admin, engine, name = fresh_database()
    try:
        with engine.begin() as conn:
            districts.load_districts(conn, districts.district_records(city="530100"))
        url = engine.url.render_as_string(hide_password=False)
        print(f"{'format':<6} {'rows':>8} {'file MB':>8} {'base MB':>8} {'peak MB':>8} "
              f"{'MB per file MB':>15} {'MB per 10k rows':>16}")
        with tempfile.TemporaryDirectory() as folder:
            for rows in (int(r) for r in args.rows.split(",")):
                csv_path = Path(folder) / f"projects-{rows}.csv"
                write_file(engine, csv_path, rows)
                xlsx_path = write_xlsx(Path(folder) / f"projects-{rows}.xlsx", HEADERS,
                                       _csv_rows(csv_path))
                for label, path in (("CSV", csv_path), ("XLSX", xlsx_path)):
                    found = measure(url, path)
                    assert found["rows"] == rows and not found["errors"], found
                    size = path.stat().st_size / 2**20
                    extra = found["peak"] - found["base"]
                    print(f"{label:<6} {rows:>8} {size:>8.1f} {found['base']:>8.0f} "
                          f"{found['peak']:>8.0f} {extra / size:>15.1f} "
                          f"{extra / rows * 10_000:>16.1f}", flush=True)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _csv_rows(path: Path):
    import csv

    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for row in reader:
            yield [_number(v) for v in row]


def _number(value: str):
    try:
        return float(value) if "." in value else int(value)
    except ValueError:
        return value


if __name__ == "__main__":
    main()
