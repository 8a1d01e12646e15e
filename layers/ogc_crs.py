"""The coordinate systems the OGC API speaks (Part 2, CRS by reference): WGS84 as CRS84
(longitude, latitude), EPSG:4326 and CGCS2000 EPSG:4490 (latitude first, as EPSG defines them)
and the city's CGCS2000 3-degree Gauss-Krüger zone (northing first).

Axis order comes from the EPSG definition (pyproj), so a client that trusts the CRS reads
coordinates the right way round; the store keeps EPSG:4326 in longitude, latitude order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import shapely
from pyproj import CRS

from geo.coords import cgcs2000_gk_epsg, transform_geometry

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
STORE_SRID = 4326


class CrsError(ValueError):
    """A CRS the service does not offer (a 400 for the client)."""


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int
    northing_first: bool  # the EPSG axis order is (y, x): flip from the store's (x, y)
    decimals: int  # enough for about 1 cm

    @property
    def geographic(self) -> bool:
        return self.decimals > 3


@cache
def _epsg(code: int) -> Crs:
    axes = CRS.from_epsg(code).axis_info
    northing_first = axes[0].direction.lower() == "north"
    geographic = axes[0].unit_name.startswith("deg")
    return Crs(EPSG_URI.format(code), code, northing_first, 7 if geographic else 2)


def city_zone(city_lon: float) -> int:
    """EPSG code of the CGCS2000 Gauss-Krüger zone of the city's centre (4543 for Kunming)."""
    return cgcs2000_gk_epsg(city_lon)


def offered(zone: int) -> list[Crs]:
    """Every CRS offered, CRS84 first (the default of OGC API Features)."""
    return [Crs(CRS84, STORE_SRID, False, 7), _epsg(4326), _epsg(4490), _epsg(zone)]


def uris(zone: int) -> list[str]:
    return [crs.uri for crs in offered(zone)]


def parse(uri: str | None, zone: int) -> Crs:
    """The offered CRS named by ``uri`` (CRS84 when none is given).

    >>> parse(None, 4543).srid, parse("http://www.opengis.net/def/crs/EPSG/0/4543", 4543).srid
    (4326, 4543)
    >>> parse("http://www.opengis.net/def/crs/EPSG/0/4490", 4543).northing_first
    True
    """
    if not uri:
        return offered(zone)[0]
    # clients write the URI with or without brackets ([EPSG:4490]) or as a short code
    name = uri.strip().strip("[]")
    if name.upper().startswith("EPSG:"):
        name = EPSG_URI.format(name[5:])
    for crs in offered(zone):
        if crs.uri == name:
            return crs
    raise CrsError(f"不支持的坐标参照系 {uri[:80]!r}；可用：{', '.join(uris(zone))}。"
                   f"CRS not offered: {uri[:80]!r}")


def to_store(geometry: dict, crs: Crs) -> dict:
    """A GeoJSON geometry written in ``crs`` (its own axis order), in the store's longitude,
    latitude: what a filter's geometry becomes under ``filter-crs``.

    >>> to_store({"type": "Point", "coordinates": (25.04, 102.71)}, _epsg(4490))["coordinates"]
    (102.71, 25.04)
    >>> x = to_store({"type": "Point", "coordinates": (2770673.0, 571652.5)}, _epsg(4543))
    >>> [round(c, 3) for c in x["coordinates"]]
    [102.71, 25.04]
    """
    shape = shapely.geometry.shape(geometry)
    if crs.northing_first:
        shape = shapely.transform(shape, lambda xy: xy[:, ::-1])
    if crs.srid != STORE_SRID:
        shape = transform_geometry(shape, f"EPSG:{crs.srid}", f"EPSG:{STORE_SRID}")
    return shapely.geometry.mapping(shape)
