"""Coordinate systems used for Chinese map data, and conversions between them.

Why this module exists: Chinese web maps do not publish WGS84 coordinates.

* **GCJ-02** ("Mars coordinates", 国测局坐标) is mandated for maps published in
  China; Amap (高德), Tencent (腾讯) and Apple/Google maps inside China use it.
* **BD-09** (百度坐标) is Baidu's extra obfuscation on top of GCJ-02.
* **WGS84 / CGCS2000** (EPSG:4326 / EPSG:4490) is what GPS, OpenStreetMap,
  official boundary data and PostGIS expect. The two datums differ by
  centimetres, so at map accuracy they are treated as one.

The GCJ-02 offset is a smooth non-linear function of position, a few hundred
metres in most of China (up to ~700 m); BD-09 adds roughly another 500 m. A
project address geocoded with Amap or Baidu and dropped unconverted onto WGS84
district polygons lands in the wrong street block, and near a district edge in
the wrong district, so its risk score is attributed to the wrong place. Convert
everything to WGS84/CGCS2000 on the way in.

Conventions:

* Argument order is always ``(lon, lat)`` and results are ``(lon, lat)``.
* Inputs may be scalars (results are Python floats) or array-likes (results are
  float ndarrays of the broadcast shape).
* Points outside China's bounding box (lon 72.004..137.8347,
  lat 0.8293..55.8271, see :func:`out_of_china`) are returned unchanged by the
  GCJ-02/BD-09 transforms, the convention of the published implementations
  (providers only shift coordinates inside China).
* GCJ-02 has no exact closed-form inverse; :func:`gcj02_to_wgs84` iterates the
  forward transform to a residual under 1e-9 degrees (about 0.1 mm).
"""

import functools
import math

import numpy as np
import pyproj
import shapely
from pyproj.exceptions import CRSError

__all__ = [
    "CRS_ALIASES",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "cgcs2000_gk_epsg",
    "gauss_kruger_zone",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "parse_crs",
    "transform",
    "transform_geometry",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

# Constants of the GCJ-02 algorithm as published (Krasovsky 1940 ellipsoid).
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_BD_X_PI = math.pi * 3000.0 / 180.0

_INVERSE_TOL_DEG = 1e-9  # ~0.1 mm on the ground, far below map accuracy
_INVERSE_MAX_ITER = 20

# CGCS2000 3-degree Gauss-Krueger CRSs "with central meridian" (no false-easting
# zone prefix): EPSG:4534 is CM 75E (zone 25) ... EPSG:4554 is CM 135E (zone 45).
_GK_FIRST_EPSG, _GK_FIRST_ZONE, _GK_LAST_ZONE = 4534, 25, 45
_CHINA_LON_MIN, _CHINA_LON_MAX = 73.5, 136.5

Crs = str | int

CRS_ALIASES: dict[str, Crs] = {
    "wgs84": "wgs84",
    "wgs-84": "wgs84",
    "wgs 84": "wgs84",
    "gps": "wgs84",
    "epsg:4326": "wgs84",
    "4326": "wgs84",
    "cgcs2000": "cgcs2000",
    "cgcs-2000": "cgcs2000",
    "epsg:4490": "cgcs2000",
    "4490": "cgcs2000",
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "gcj": "gcj02",
    "mars": "gcj02",
    "amap": "gcj02",
    "gaode": "gcj02",
    "tencent": "gcj02",
    "qq": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "bd09ll": "bd09",
    "baidu": "bd09",
}
"""Lower-case user spellings -> canonical CRS: a name or an EPSG code (int)."""

# pyproj's geographic CRS for each lon/lat name; GCJ-02 and BD-09 pass through WGS84.
_GEOGRAPHIC_EPSG = {"wgs84": 4326, "cgcs2000": 4490}


def _as_arrays(lon, lat) -> tuple[np.ndarray, np.ndarray, bool]:
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    scalar = x.ndim == 0 and y.ndim == 0
    # Copies: broadcast views are read-only and callers' arrays must stay untouched.
    x, y = (np.array(a, dtype=float) for a in np.broadcast_arrays(x, y))
    return x, y, scalar


def _pack(x, y, scalar: bool):
    if scalar:
        return float(x), float(y)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def out_of_china(lon, lat):
    """True where a point is outside China's rough bounding box (no GCJ-02 shift).

    >>> out_of_china(116.404, 39.915), out_of_china(2.35, 48.85)
    (False, True)
    >>> out_of_china([116.4, 151.2], [39.9, -33.9]).tolist()
    [False, True]
    """
    x, y, scalar = _as_arrays(lon, lat)
    outside = _outside(x, y)
    return bool(outside) if scalar else outside


def _outside(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # Written as "not inside" so that NaN counts as outside and passes through.
    return ~((x >= 72.004) & (x <= 137.8347) & (y >= 0.8293) & (y <= 55.8271))


def _gcj_offset(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84 at WGS84 point (x, y), in degrees (published formula)."""
    u, v = x - 105.0, y - 35.0
    common = (20.0 * np.sin(6.0 * u * np.pi) + 20.0 * np.sin(2.0 * u * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * u + 3.0 * v + 0.2 * v * v + 0.1 * u * v + 0.2 * np.sqrt(np.abs(u))
    dlat += common + (20.0 * np.sin(v * np.pi) + 40.0 * np.sin(v / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(v / 12.0 * np.pi) + 320.0 * np.sin(v * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + u + 2.0 * v + 0.1 * u * u + 0.1 * u * v + 0.1 * np.sqrt(np.abs(u))
    dlon += common + (20.0 * np.sin(u * np.pi) + 40.0 * np.sin(u / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(u / 12.0 * np.pi) + 300.0 * np.sin(u / 30.0 * np.pi)) * 2.0 / 3.0
    # The polynomial is in metres-like units; scale by the Krasovsky radii of curvature.
    rad = y / 180.0 * np.pi
    magic = 1.0 - _GCJ_EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (_GCJ_A / sqrt_magic * np.cos(rad) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon, lat):
    """WGS84 -> GCJ-02 (Amap/Tencent). Points outside China are returned unchanged.

    >>> lon, lat = wgs84_to_gcj02(116.404, 39.915)
    >>> round(lon, 6), round(lat, 6)
    (116.410244, 39.916404)
    >>> wgs84_to_gcj02(2.35, 48.85)
    (2.35, 48.85)
    """
    x, y, scalar = _as_arrays(lon, lat)
    dx, dy = _gcj_offset(x, y)
    inside = ~_outside(x, y)
    return _pack(np.where(inside, x + dx, x), np.where(inside, y + dy, y), scalar)


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 (Amap/Tencent) -> WGS84 by fixed-point iteration on the forward transform.

    The published one-step inverse (subtract the offset once) is off by up to a
    couple of metres; iterating until the forward transform reproduces the input
    to 1e-9 degrees brings the round trip error below a millimetre. The offset
    changes slowly (gradient ~1e-3), so this converges in 2-3 iterations.
    Points outside China are returned unchanged.

    >>> lon, lat = gcj02_to_wgs84(116.41024449916938, 39.91640428150164)
    >>> round(lon, 9), round(lat, 9)
    (116.404, 39.915)
    >>> gcj02_to_wgs84(2.35, 48.85)
    (2.35, 48.85)
    """
    gx, gy, scalar = _as_arrays(lon, lat)
    inside = ~_outside(gx, gy)
    wx, wy = gx, gy
    for _ in range(_INVERSE_MAX_ITER):
        dx, dy = _gcj_offset(wx, wy)
        rx, ry = wx + dx - gx, wy + dy - gy
        wx, wy = wx - rx, wy - ry
        # NaN residuals compare False, so NaN input cannot keep the loop going.
        if not np.any(inside & ((np.abs(rx) > _INVERSE_TOL_DEG) | (np.abs(ry) > _INVERSE_TOL_DEG))):
            break
    return _pack(np.where(inside, wx, gx), np.where(inside, wy, gy), scalar)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 -> BD-09 (Baidu). Points outside China are returned unchanged.

    >>> lon, lat = gcj02_to_bd09(116.404, 39.915)
    >>> round(lon, 6), round(lat, 6)
    (116.410369, 39.921337)
    """
    x, y, scalar = _as_arrays(lon, lat)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    inside = ~_outside(x, y)
    bx = np.where(inside, z * np.cos(theta) + 0.0065, x)
    by = np.where(inside, z * np.sin(theta) + 0.006, y)
    return _pack(bx, by, scalar)


def bd09_to_gcj02(lon, lat):
    """BD-09 (Baidu) -> GCJ-02 with the standard closed-form inverse every library uses.

    It is not an exact inverse of :func:`gcj02_to_bd09`: the round trip is off
    by up to ~0.25 m across China, far below the accuracy of geocoded
    addresses. Points outside China are returned unchanged.

    >>> lon, lat = bd09_to_gcj02(116.404, 39.915)
    >>> round(lon, 6), round(lat, 6)
    (116.397627, 39.908657)
    """
    bx, by, scalar = _as_arrays(lon, lat)
    x, y = bx - 0.0065, by - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    inside = ~_outside(bx, by)
    gx = np.where(inside, z * np.cos(theta), bx)
    gy = np.where(inside, z * np.sin(theta), by)
    return _pack(gx, gy, scalar)


def wgs84_to_bd09(lon, lat):
    """WGS84 -> BD-09 (Baidu), via GCJ-02. Points outside China are returned unchanged.

    >>> lon, lat = wgs84_to_bd09(116.404, 39.915)
    >>> round(lon, 6), round(lat, 6)
    (116.416627, 39.9227)
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat):
    """BD-09 (Baidu) -> WGS84, via GCJ-02. Points outside China are returned unchanged.

    >>> lon, lat = bd09_to_wgs84(116.404, 39.915)
    >>> round(lon, 6), round(lat, 6)
    (116.391386, 39.907255)
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def gauss_kruger_zone(lon: float) -> int:
    """3-degree Gauss-Krueger zone number: the zone whose central meridian is 3 * zone E.

    Zone n covers 3n - 1.5 .. 3n + 1.5 degrees; a point exactly on an edge goes
    to the eastern zone (round half up, not Python's round-half-even).

    >>> gauss_kruger_zone(102.71), gauss_kruger_zone(113.38)
    (34, 38)
    """
    lon = float(lon)
    if not math.isfinite(lon):
        raise ValueError(f"longitude must be finite, got {lon!r} / 经度必须是有限数值")
    return math.floor(lon / 3.0 + 0.5)


def cgcs2000_gk_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss-Krueger CRS (with CM, no zone prefix).

    EPSG:4534 (CM 75E) ... EPSG:4554 (CM 135E). Raises ValueError outside
    China's longitudes 73.5..136.5 E. The eastern limit 136.5 E lies on a zone
    edge and is assigned to the last zone in the series (CM 135E).

    >>> cgcs2000_gk_epsg(102.71), cgcs2000_gk_epsg(113.38)
    (4543, 4547)
    """
    lon = float(lon)
    if not _CHINA_LON_MIN <= lon <= _CHINA_LON_MAX:
        raise ValueError(
            f"longitude {lon!r} is outside China ({_CHINA_LON_MIN}..{_CHINA_LON_MAX} E): "
            "no CGCS2000 3-degree Gauss-Kruger CRS / "
            f"经度 {lon!r} 超出中国范围 (东经 {_CHINA_LON_MIN}-{_CHINA_LON_MAX} 度), "
            "没有对应的 CGCS2000 3 度带高斯-克吕格投影"
        )
    zone = min(gauss_kruger_zone(lon), _GK_LAST_ZONE)
    return _GK_FIRST_EPSG + zone - _GK_FIRST_ZONE


# An equal-area conic for all of China (standard parallels 25° and 47° N, central meridian
# 105° E, the GRS80 ellipsoid CGCS2000 uses): points spread over several Gauss-Krüger zones (a
# wide province, the nation) have no one zone. Areas stay exact, so a circle drawn in it covers
# as much ground as on the earth; its radius is off by at most ~3.5 % (2.6 % at 18° N, 3.4 %
# at 53° N, under 2 % in between).
CHINA_ALBERS = ("+proj=aea +lat_0=0 +lat_1=25 +lat_2=47 +lon_0=105 +x_0=0 +y_0=0 "
                "+ellps=GRS80 +units=m +no_defs")
# longitudes one Gauss-Krüger zone serves (its own 3°, and as much again beyond: ~0.5 %)
WIDEST_ZONE_SPAN = 6.0


def metric_crs(lon) -> int | str:
    """The CRS in metres for points at these longitudes: the 3-degree Gauss-Krüger zone of
    their median while they span at most WIDEST_ZONE_SPAN degrees (a city, most provinces),
    else CHINA_ALBERS.

    >>> metric_crs([102.1, 102.7, 103.4])
    4543
    >>> metric_crs([97.5, 102.7, 106.2]) == CHINA_ALBERS
    True
    """
    lon = np.asarray(lon, dtype=float)
    if lon.size and float(lon.max() - lon.min()) > WIDEST_ZONE_SPAN:
        return CHINA_ALBERS
    return cgcs2000_gk_epsg(float(np.median(lon)) if lon.size else 102.0)


@functools.lru_cache(maxsize=256)
def _check_epsg(code: int) -> int:
    try:
        pyproj.CRS.from_epsg(code)
    except CRSError as exc:
        raise ValueError(f"unknown EPSG code: EPSG:{code}") from exc
    return code


def parse_crs(name: Crs) -> Crs:
    """Normalise a user CRS spelling to "wgs84", "cgcs2000", "gcj02", "bd09" or an EPSG int.

    Case-insensitive; see :data:`CRS_ALIASES`. Any other "EPSG:nnnn" or "nnnn"
    must be a code pyproj knows. Raises ValueError naming the bad value.

    >>> parse_crs("GCJ-02"), parse_crs("baidu"), parse_crs("EPSG:4490"), parse_crs("EPSG:4543")
    ('gcj02', 'bd09', 'cgcs2000', 4543)
    """
    if isinstance(name, bool) or not isinstance(name, str | int | np.integer):
        raise ValueError(f"unsupported CRS: {name!r}")
    key = str(name).strip().lower()
    if key in CRS_ALIASES:
        return CRS_ALIASES[key]
    code = key.removeprefix("epsg:").strip()
    if not (code.isascii() and code.isdigit()):
        raise ValueError(
            f"unsupported CRS: {name!r} (use wgs84, cgcs2000, gcj02, bd09 or EPSG:nnnn)"
        )
    epsg = int(code)
    return CRS_ALIASES.get(f"epsg:{epsg}") or _check_epsg(epsg)


@functools.lru_cache(maxsize=64)
def _transformer(src: int, dst: int) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def _to_lonlat(x, y, crs: Crs, pivot: int):
    """Coordinates in ``crs`` -> WGS84/CGCS2000 lon/lat (pivot is pyproj's EPSG for it)."""
    if crs == "gcj02":
        return gcj02_to_wgs84(x, y)
    if crs == "bd09":
        return bd09_to_wgs84(x, y)
    if isinstance(crs, int):
        return _transformer(crs, pivot).transform(x, y)
    return x, y


def _from_lonlat(x, y, crs: Crs, pivot: int):
    """WGS84/CGCS2000 lon/lat -> coordinates in ``crs``."""
    if crs == "gcj02":
        return wgs84_to_gcj02(x, y)
    if crs == "bd09":
        return wgs84_to_bd09(x, y)
    if isinstance(crs, int):
        return _transformer(pivot, crs).transform(x, y)
    return x, y


def transform(lon, lat, src: Crs, dst: Crs):
    """Convert coordinates between any two CRSs accepted by :func:`parse_crs`.

    GCJ-02 and BD-09 go through WGS84; WGS84 and CGCS2000 are the same at map
    accuracy (no shift); EPSG codes go through pyproj with (x, y) = (lon, lat)
    or (easting, northing) order. Projected coordinates are in metres.

    >>> lon, lat = transform(116.404, 39.915, "wgs84", "amap")
    >>> round(lon, 6), round(lat, 6)
    (116.410244, 39.916404)
    >>> x, y = transform(102.71, 25.04, "cgcs2000", "EPSG:4543")
    >>> round(x, 2), round(y, 2)
    (571652.53, 2770673.01)
    """
    s, d = parse_crs(src), parse_crs(dst)
    x, y, scalar = _as_arrays(lon, lat)
    if s == d:
        return _pack(x, y, scalar)
    if isinstance(s, int) and isinstance(d, int):
        return _pack(*_transformer(s, d).transform(x, y), scalar)
    # Keep pyproj on the geographic CRS the caller named, so CGCS2000 -> a
    # CGCS2000 projection needs no (ballpark) datum step.
    pivot = _GEOGRAPHIC_EPSG.get(s if isinstance(d, int) else d, 4326)
    return _pack(*_from_lonlat(*_to_lonlat(x, y, s, pivot), d, pivot), scalar)


def transform_geometry(geom: shapely.Geometry, src: Crs, dst: Crs) -> shapely.Geometry:
    """Convert every vertex of a shapely geometry (or array of them) in one vectorised call.

    Returns 2D geometries (a Z coordinate, if any, is dropped).

    >>> from shapely import Point
    >>> p = transform_geometry(Point(116.404, 39.915), "wgs84", "gcj02")
    >>> round(p.x, 6), round(p.y, 6)
    (116.410244, 39.916404)
    """
    s, d = parse_crs(src), parse_crs(dst)  # fail early, even for empty geometries

    def fn(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(transform(coords[:, 0], coords[:, 1], s, d))

    return shapely.transform(geom, fn)
