"""Tests for geo.coords: published vectors, round trips, Gauss-Krueger zones, CRS parsing.

Pure computation: no database, network or files.
"""

import doctest

import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import geo.coords
from geo.coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    cgcs2000_gk_epsg,
    gauss_kruger_zone,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    parse_crs,
    transform,
    transform_geometry,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = pyproj.Geod(ellps="WGS84")
DEG_TOL = 1e-6  # forward transforms against published values
GCJ_ROUND_TRIP_M = 0.01  # hard requirement is 0.5 m; the iteration reaches ~1e-7 m
BD_ROUND_TRIP_M = 0.5  # the standard closed-form BD-09 inverse is off by up to ~0.25 m

# Grid over China's extent (lon 73.5..135, lat 18..53.5), every ~0.5 degree.
GRID_LON, GRID_LAT = (
    a.ravel() for a in np.meshgrid(np.linspace(73.5, 135.0, 124), np.linspace(18.0, 53.5, 72))
)

CHINA_LON = st.floats(min_value=73.5, max_value=135.0, allow_nan=False)
CHINA_LAT = st.floats(min_value=18.0, max_value=53.5, allow_nan=False)


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance on WGS84, elementwise."""
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


# --- published vectors -------------------------------------------------------

# wandergis/coordtransform, README.md and test/app.js ("//result" comments),
# all computed from the input point (116.404, 39.915) as (lon, lat).
COORDTRANSFORM_IN = (116.404, 39.915)
COORDTRANSFORM_OUT = {
    "wgs84_to_gcj02": (116.41024449916938, 39.91640428150164),
    "gcj02_to_bd09": (116.41036949371029, 39.92133699351021),
    "bd09_to_gcj02": (116.39762729119315, 39.90865673957631),
}
FUNCS = {
    "wgs84_to_gcj02": wgs84_to_gcj02,
    "gcj02_to_bd09": gcj02_to_bd09,
    "bd09_to_gcj02": bd09_to_gcj02,
}

# googollee/eviltransform, python/test.py TESTS: (wgsLat, wgsLng, gcjLat, gcjLng).
# (Its TESTS_bd pairs are not used: they do not match that library's own code.)
EVILTRANSFORM = {
    "shanghai": (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    "shenzhen": (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    "beijing": (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
}


@pytest.mark.parametrize("name", sorted(COORDTRANSFORM_OUT))
def test_coordtransform_published_forward(name):
    lon, lat = FUNCS[name](*COORDTRANSFORM_IN)
    assert lon == pytest.approx(COORDTRANSFORM_OUT[name][0], abs=DEG_TOL)
    assert lat == pytest.approx(COORDTRANSFORM_OUT[name][1], abs=DEG_TOL)


def test_coordtransform_published_one_step_inverse_is_close():
    # wandergis/coordtransform README.md: gcj02towgs84(116.404, 39.915). That library
    # subtracts the offset once (error up to ~metres), so compare in metres, and
    # check that our iterated inverse is the better one.
    published = (116.39775550083061, 39.91359571849836)
    ours = gcj02_to_wgs84(*COORDTRANSFORM_IN)
    assert metres(*ours, *published) < 0.5
    ours_err = metres(*wgs84_to_gcj02(*ours), *COORDTRANSFORM_IN)
    published_err = metres(*wgs84_to_gcj02(*published), *COORDTRANSFORM_IN)
    assert ours_err < GCJ_ROUND_TRIP_M < published_err


@pytest.mark.parametrize("city", sorted(EVILTRANSFORM))
def test_eviltransform_published_wgs_to_gcj(city):
    wgs_lat, wgs_lon, gcj_lat, gcj_lon = EVILTRANSFORM[city]
    lon, lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
    assert lon == pytest.approx(gcj_lon, abs=DEG_TOL)
    assert lat == pytest.approx(gcj_lat, abs=DEG_TOL)


@pytest.mark.parametrize("city", sorted(EVILTRANSFORM))
def test_eviltransform_published_gcj_to_wgs(city):
    # eviltransform's own exact inverse is tested to 0.5 m; ours should do far better.
    wgs_lat, wgs_lon, gcj_lat, gcj_lon = EVILTRANSFORM[city]
    lon, lat = gcj02_to_wgs84(gcj_lon, gcj_lat)
    assert metres(lon, lat, wgs_lon, wgs_lat) < GCJ_ROUND_TRIP_M


# --- round trips --------------------------------------------------------------


def test_gcj_round_trip_grid():
    wlon, wlat = gcj02_to_wgs84(GRID_LON, GRID_LAT)
    glon, glat = wgs84_to_gcj02(wlon, wlat)
    err = metres(GRID_LON, GRID_LAT, glon, glat)
    assert err.max() < GCJ_ROUND_TRIP_M, f"max GCJ-02 round trip error {err.max():.3g} m"


def test_wgs_round_trip_grid():
    glon, glat = wgs84_to_gcj02(GRID_LON, GRID_LAT)
    wlon, wlat = gcj02_to_wgs84(glon, glat)
    err = metres(GRID_LON, GRID_LAT, wlon, wlat)
    assert err.max() < GCJ_ROUND_TRIP_M, f"max WGS84 round trip error {err.max():.3g} m"


def test_bd_round_trip_grid():
    blon, blat = gcj02_to_bd09(GRID_LON, GRID_LAT)
    glon, glat = bd09_to_gcj02(blon, blat)
    err = metres(GRID_LON, GRID_LAT, glon, glat)
    assert err.max() < BD_ROUND_TRIP_M, f"max BD-09 round trip error {err.max():.3g} m"


def test_bd_wgs_round_trip_grid():
    blon, blat = wgs84_to_bd09(GRID_LON, GRID_LAT)
    wlon, wlat = bd09_to_wgs84(blon, blat)
    err = metres(GRID_LON, GRID_LAT, wlon, wlat)
    assert err.max() < BD_ROUND_TRIP_M, f"max BD-09/WGS84 round trip error {err.max():.3g} m"


@settings(max_examples=200, deadline=None, database=None)
@given(lon=CHINA_LON, lat=CHINA_LAT)
def test_gcj_round_trip_property(lon, lat):
    back = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert metres(lon, lat, *back) < GCJ_ROUND_TRIP_M


@settings(max_examples=200, deadline=None, database=None)
@given(lon=CHINA_LON, lat=CHINA_LAT)
def test_bd_round_trip_property(lon, lat):
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert metres(lon, lat, *back) < BD_ROUND_TRIP_M


def test_gcj_offset_is_hundreds_of_metres():
    # Guards against a silent no-op (e.g. a broken out_of_china mask).
    # The offset passes near zero in a few western spots, so check the bulk and the cities.
    shift = metres(GRID_LON, GRID_LAT, *wgs84_to_gcj02(GRID_LON, GRID_LAT))
    assert np.median(shift) > 200 and shift.max() < 1000
    for wgs_lat, wgs_lon, _, _ in EVILTRANSFORM.values():
        assert metres(wgs_lon, wgs_lat, *wgs84_to_gcj02(wgs_lon, wgs_lat)) > 300


# --- shapes, scalars, outside China --------------------------------------------


def test_scalars_give_floats_and_arrays_keep_shape():
    lon, lat = gcj02_to_wgs84(116.4, 39.9)
    assert type(lon) is float and type(lat) is float
    grid = np.full((3, 4), 116.4), np.full((3, 4), 39.9)
    for fn in (wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, bd09_to_wgs84):
        lon, lat = fn(*grid)
        assert lon.shape == lat.shape == (3, 4)
        assert lon[0, 0] == pytest.approx(fn(116.4, 39.9)[0], abs=1e-12)


def test_inputs_are_not_modified():
    lon, lat = np.array([116.4, 121.5]), np.array([39.9, 31.2])
    gcj02_to_wgs84(lon, lat)
    assert lon.tolist() == [116.4, 121.5] and lat.tolist() == [39.9, 31.2]


@pytest.mark.parametrize(
    "fn", [wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09]
)
def test_outside_china_unchanged(fn):
    # Paris, Sydney, Honolulu: outside the bounding box -> returned as is.
    lon, lat = np.array([2.35, 151.2, -157.8]), np.array([48.85, -33.9, 21.3])
    assert out_of_china(lon, lat).all()
    out_lon, out_lat = fn(lon, lat)
    assert out_lon.tolist() == lon.tolist() and out_lat.tolist() == lat.tolist()


# --- Gauss-Krueger -------------------------------------------------------------


@pytest.mark.parametrize(
    ("city", "lon", "zone", "epsg", "cm"),
    [("Kunming", 102.71, 34, 4543, "CM 102E"), ("Suizhou", 113.38, 38, 4547, "CM 114E")],
)
def test_gauss_kruger_zone_and_epsg(city, lon, zone, epsg, cm):
    assert gauss_kruger_zone(lon) == zone
    assert cgcs2000_gk_epsg(lon) == epsg
    name = pyproj.CRS.from_epsg(epsg).name
    assert "CGCS2000" in name and cm in name


def test_gk_epsg_covers_china_series():
    assert cgcs2000_gk_epsg(73.5) == 4534
    assert cgcs2000_gk_epsg(136.5) == 4554
    assert "CM 135E" in pyproj.CRS.from_epsg(cgcs2000_gk_epsg(135.0)).name


@pytest.mark.parametrize("lon", [70.0, 73.4, 136.6, 150.0, -102.0, float("nan")])
def test_gk_epsg_rejects_outside_china(lon):
    with pytest.raises(ValueError, match="outside China") as info:
        cgcs2000_gk_epsg(lon)
    assert "超出中国范围" in str(info.value)


def test_wgs84_to_gk_and_back_within_1mm():
    lon, lat = 102.71, 25.04  # Kunming
    x, y = transform(lon, lat, "wgs84", cgcs2000_gk_epsg(lon))
    assert 400_000 < x < 600_000 and 2_700_000 < y < 2_800_000  # CM 102E, no zone prefix
    back = transform(x, y, "EPSG:4543", "WGS84")
    assert metres(lon, lat, *back) < 0.001


def test_transform_chains_bd09_through_projection():
    lon, lat = 102.71, 25.04
    bd = wgs84_to_bd09(lon, lat)
    x, y = transform(*bd, "baidu", 4543)
    expected = transform(lon, lat, "cgcs2000", "EPSG:4543")
    assert np.hypot(x - expected[0], y - expected[1]) < BD_ROUND_TRIP_M
    assert transform(*transform(lon, lat, "wgs84", "gcj02"), "gcj02", "bd09") == pytest.approx(
        bd, abs=1e-12
    )


def test_transform_wgs84_cgcs2000_identity_and_arrays():
    lon, lat = np.array([102.71, 113.38]), np.array([25.04, 31.69])
    out = transform(lon, lat, "EPSG:4326", "EPSG:4490")
    assert out[0].tolist() == lon.tolist() and out[1].tolist() == lat.tolist()
    assert transform(1.5, 2.5, "wgs84", "wgs84") == (1.5, 2.5)


# --- CRS parsing --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("WGS84", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("4326", "wgs84"),
        (4326, "wgs84"),
        ("CGCS2000", "cgcs2000"),
        ("epsg:4490", "cgcs2000"),
        ("GCJ02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("amap", "gcj02"),
        ("Tencent", "gcj02"),
        ("BD09", "bd09"),
        ("BD-09", "bd09"),
        ("baidu", "bd09"),
        ("EPSG:4543", 4543),
        (" epsg:4547 ", 4547),
        (4543, 4543),
    ],
)
def test_parse_crs_aliases(name, expected):
    assert parse_crs(name) == expected


@pytest.mark.parametrize("bad", ["EPSG:99999999", "foo", "", "EPSG:", "gcj03", None, 1.5])
def test_parse_crs_rejects(bad):
    with pytest.raises(ValueError, match="99999999|foo|gcj03|unsupported"):
        parse_crs(bad)


def test_transform_rejects_bad_crs():
    with pytest.raises(ValueError, match="foo"):
        transform(116.4, 39.9, "foo", "wgs84")


# --- geometries ---------------------------------------------------------------


def test_transform_geometry_polygon_matches_pointwise():
    ring = [(114.30, 30.59), (114.32, 30.59), (114.32, 30.61), (114.30, 30.61), (114.30, 30.59)]
    poly = shapely.Polygon(ring)
    out = transform_geometry(poly, "gcj02", "wgs84")
    assert isinstance(out, shapely.Polygon)
    coords = np.asarray(out.exterior.coords)
    for (lon, lat), (olon, olat) in zip(ring, coords, strict=True):
        assert (olon, olat) == pytest.approx(gcj02_to_wgs84(lon, lat), abs=1e-12)
    back = transform_geometry(out, "wgs84", "gcj02")
    assert shapely.hausdorff_distance(back, poly) < 1e-9


def test_transform_geometry_array_and_empty():
    geoms = np.array([shapely.Point(116.4, 39.9), shapely.Point(2.35, 48.85), shapely.Point()])
    out = transform_geometry(geoms, "wgs84", "bd09")
    assert out[0].x == pytest.approx(wgs84_to_bd09(116.4, 39.9)[0], abs=1e-12)
    assert out[1].equals(geoms[1]) and out[2].is_empty


# --- doctests -----------------------------------------------------------------


def test_module_doctests():
    result = doctest.testmod(geo.coords, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
