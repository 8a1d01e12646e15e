"""Helpers the import tests share: a store to import into, files to import, one import."""

from __future__ import annotations

import csv
from pathlib import Path

from loaders import demo, demo_load, districts
from loaders.imports.run import import_file


def demo_store(make_database, projects: int = 0):
    """A fresh store with Kunming's districts and, if asked, a demo of that many projects."""
    engine = make_database()
    with engine.begin() as conn:
        districts.load_districts(conn, districts.district_records(city="530100"))
        if projects:
            demo_load.run_demo(conn, demo.DemoOptions(city="530100", projects=projects))
    return engine


def write_csv(path: Path, headers: list[str], rows: list[dict],
              encoding: str = "utf-8-sig") -> Path:
    """A CSV as an office would send it (Excel's UTF-8 with BOM unless told otherwise)."""
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=headers)
        writer.writeheader()
        writer.writerows(rows)
    return path


def run_import(engine, kind: str, path: Path, **options):
    """One import in its own transaction, as `riskmap import` does it."""
    with engine.begin() as conn:
        return import_file(conn, kind, path, city="530100", actor="test", **options)
