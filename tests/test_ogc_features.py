"""OGC API Features data functions (layers/ogc_*), without Flask: each collection read as a
tenant through row security, paging, bbox in three CRSs, sortby, datetime and CQL2 filters."""

from __future__ import annotations

import json

import pytest
from pyproj import Transformer
from sqlalchemy import text

from conftest import as_web
from geo.tenancy import Tenant
from layers import exposure, ogc_collections, ogc_features, ogc_query
from layers.filters import Filters

ZONE = 4543
CITY = "530100"
# central Kunming (lon, lat)
BBOX = (102.6, 24.9, 102.9, 25.2)


@pytest.fixture()
def rollback(kunming_published):
    """The store with a public layer; each test's changes rolled back."""
    with kunming_published.connect() as conn:
        transaction = conn.begin()
        yield conn
        transaction.rollback()


def _read(conn, tenant, collection_id, **args):
    with as_web(conn, tenant):
        collection = ogc_collections.find(conn, tenant, collection_id, Filters(), CITY, ZONE)
        assert collection is not None
        query = ogc_query.parse({k.replace("_", "-"): str(v) for k, v in args.items()},
                                collection, ZONE)
        return ogc_features.items(conn, collection, query)


def _insurer(conn) -> int:
    return conn.execute(text("SELECT ps.insurer_id FROM policy_share ps GROUP BY 1 "
                             "ORDER BY count(*) DESC LIMIT 1")).scalar_one()


def test_the_regulator_reads_every_project_and_an_insurer_only_its_own(rollback):
    total = rollback.execute(text("SELECT count(*) FROM project")).scalar_one()
    everything = _read(rollback, Tenant("regulator"), "projects", limit=10000)
    assert everything["numberMatched"] == total == len(everything["features"])
    insurer = _insurer(rollback)
    own = rollback.execute(text(
        "SELECT count(DISTINCT po.project_id) FROM policy po JOIN policy_share ps "
        "ON ps.policy_id = po.id WHERE ps.insurer_id = :i"), {"i": insurer}).scalar_one()
    theirs = _read(rollback, Tenant("insurer", insurer), "projects", limit=10000)
    assert 0 < theirs["numberMatched"] == own < total
    assert len(theirs["features"]) == own


def test_pages_join_up_without_gaps_or_repeats(rollback):
    pages = [_read(rollback, Tenant("regulator"), "risk_events", limit=50, offset=o)
             for o in range(0, 200, 50)]
    ids = [f["id"] for page in pages for f in page["features"]]
    assert len(ids) == len(set(ids)) == 200
    assert pages[0]["numberReturned"] == 50


def test_bbox_is_the_same_in_wgs84_cgcs2000_and_the_gauss_krueger_zone(rollback):
    regulator = Tenant("regulator")
    lonlat = _read(rollback, regulator, "projects", limit=10000, bbox=",".join(map(str, BBOX)))
    assert 0 < lonlat["numberMatched"] < 300
    # EPSG:4490 puts latitude first
    latlon = f"{BBOX[1]},{BBOX[0]},{BBOX[3]},{BBOX[2]}"
    cgcs = _read(rollback, regulator, "projects", limit=10000, bbox=latlon,
                 bbox_crs="http://www.opengis.net/def/crs/EPSG/0/4490")
    assert cgcs["numberMatched"] == lonlat["numberMatched"]
    to_gk = Transformer.from_crs(4326, ZONE, always_xy=True)
    (x0, y0), (x1, y1) = to_gk.transform(BBOX[0], BBOX[1]), to_gk.transform(BBOX[2], BBOX[3])
    gk = _read(rollback, regulator, "projects", limit=10000, bbox=f"{y0},{x0},{y1},{x1}",
               bbox_crs=f"EPSG:{ZONE}", crs=f"http://www.opengis.net/def/crs/EPSG/0/{ZONE}")
    # EPSG:4543 (CM 102°E) has no zone prefix; a rectangle in the zone is not quite one in
    # degrees: nearly the same projects
    assert abs(gk["numberMatched"] - len(lonlat["features"])) <= 3
    northing, easting = gk["features"][0]["geometry"]["coordinates"]
    assert 2_700_000 < northing < 2_900_000 and 400_000 < easting < 700_000


def test_output_crs_flips_axes_where_epsg_puts_latitude_first(rollback):
    regulator = Tenant("regulator")
    crs84 = _read(rollback, regulator, "projects", limit=1)["features"][0]
    epsg = _read(rollback, regulator, "projects", limit=1,
                 crs="http://www.opengis.net/def/crs/EPSG/0/4490")["features"][0]
    lon, lat = crs84["geometry"]["coordinates"]
    assert 100 < lon < 105 and 23 < lat < 27
    assert epsg["geometry"]["coordinates"] == pytest.approx([lat, lon], abs=1e-5)


def test_cql2_text_and_json_filter_with_bound_values(rollback):
    regulator = Tenant("regulator")
    severe = rollback.execute(text("SELECT count(*) FROM risk_event WHERE severity = 'severe' "
                                   "AND found_on >= '2024-01-01'")).scalar_one()
    assert severe > 0
    as_text = _read(rollback, regulator, "risk_events",
                    filter="severity = 'severe' AND found_on >= DATE('2024-01-01')")
    as_json = _read(rollback, regulator, "risk_events", filter_lang="cql2-json", filter=(
        '{"op": "and", "args": [{"op": "=", "args": [{"property": "severity"}, "severe"]},'
        '{"op": ">=", "args": [{"property": "found_on"}, {"date": "2024-01-01"}]}]}'))
    assert as_text["numberMatched"] == as_json["numberMatched"] == severe
    # a value that would be SQL if pasted stays a value
    nothing = _read(rollback, regulator, "projects", filter="name = 'x; DROP TABLE project; --'")
    assert nothing["numberMatched"] == 0


def test_s_intersects_and_or_not(rollback):
    regulator = Tenant("regulator")
    box = "POLYGON((102.6 24.9, 102.9 24.9, 102.9 25.2, 102.6 25.2, 102.6 24.9))"
    inside = _read(rollback, regulator, "projects", filter=f"S_INTERSECTS(geometry, {box})")
    by_bbox = _read(rollback, regulator, "projects", bbox=",".join(map(str, BBOX)))
    assert inside["numberMatched"] == by_bbox["numberMatched"] > 0
    everyone = _read(rollback, regulator, "projects")["numberMatched"]
    outside = _read(rollback, regulator, "projects",
                    filter=f"NOT S_INTERSECTS(geometry, {box}) OR stage = 'none'")
    assert outside["numberMatched"] == everyone - inside["numberMatched"]


def test_a_cql2_bbox_in_text_or_json_is_the_bbox_parameter(rollback):
    regulator = Tenant("regulator")
    by_bbox = _read(rollback, regulator, "projects", bbox=",".join(map(str, BBOX)))
    as_text = _read(rollback, regulator, "projects",
                    filter=f"S_INTERSECTS(geometry, BBOX({', '.join(map(str, BBOX))}))")
    as_json = _read(rollback, regulator, "projects", filter_lang="cql2-json",
                    filter=json.dumps({"op": "s_intersects", "args": [
                        {"property": "geometry"}, {"bbox": list(BBOX)}]}))
    assert as_text["numberMatched"] == as_json["numberMatched"] == by_bbox["numberMatched"] > 0


def test_filter_crs_reads_the_filters_geometry_in_that_crs(rollback):
    """A polygon written in CGCS2000 (latitude first) or in the city's Gauss-Krüger zone
    (northing first) finds what the same polygon in CRS84 finds."""
    regulator = Tenant("regulator")
    west, south, east, north = BBOX
    ring = [(west, south), (east, south), (east, north), (west, north), (west, south)]

    def polygon(points):
        return "POLYGON((" + ", ".join(f"{a} {b}" for a, b in points) + "))"

    crs84 = _read(rollback, regulator, "projects",
                  filter=f"S_INTERSECTS(geometry, {polygon(ring)})")["numberMatched"]
    latlon = _read(rollback, regulator, "projects", filter_crs="EPSG:4490",
                   filter=f"S_INTERSECTS(geometry, {polygon([(y, x) for x, y in ring])})")
    assert latlon["numberMatched"] == crs84 > 0
    to_gk = Transformer.from_crs(4326, ZONE, always_xy=True)
    dense = [(west + (east - west) * i / 20, south) for i in range(21)] + [
        (east, south + (north - south) * i / 20) for i in range(1, 21)] + [
        (east - (east - west) * i / 20, north) for i in range(1, 21)] + [
        (west, north - (north - south) * i / 20) for i in range(1, 21)]
    gk = [to_gk.transform(x, y)[::-1] for x, y in dense]  # northing, easting
    zone = _read(rollback, regulator, "projects", filter_crs=f"EPSG:{ZONE}",
                 filter=f"S_INTERSECTS(geometry, {polygon(gk)})")
    assert abs(zone["numberMatched"] - crs84) <= 3  # straight edges in metres bow a little
    with pytest.raises(ogc_query.QueryError, match="filter-crs"):
        _read(rollback, regulator, "projects", filter_crs="EPSG:3857",
              filter=f"S_INTERSECTS(geometry, {polygon(ring)})")


def test_unknown_names_and_bad_filters_are_refused_before_any_sql(rollback):
    regulator = Tenant("regulator")
    for args in ({"filter": "reporter_phone = '1'"}, {"filter": "name = "},
                 {"filter": "pg_sleep(5) = 1"}, {"sortby": "secret_hash"},
                 {"properties": "reporter_name"}, {"limit": "0"}, {"bbox": "1,2,3"},
                 {"crs": "EPSG:3857"}, {"filter-lang": "sql", "filter": "1=1"}):
        with pytest.raises(ogc_query.QueryError):
            _read(rollback, regulator, "claims", **{k.replace("-", "_"): v
                                                    for k, v in args.items()})


def test_claims_carry_no_personal_data_of_owners():
    names = ogc_collections.CLAIMS.names
    assert not {"reporter_name", "reporter_phone", "unit_no", "secret_hash"} & set(names)


def test_districts_carry_every_indicator_for_the_period(rollback):
    regulator = Tenant("regulator")
    with as_web(rollback, regulator):
        collection = ogc_collections.districts(regulator, Filters.from_args(
            {"period": "2024"}), CITY)
        page = ogc_features.items(rollback, collection, ogc_query.parse(
            {"limit": "100", "sortby": "-premium_total"}, collection, ZONE))
    assert page["numberMatched"] == 14
    first = page["features"][0]["properties"]
    assert first["premium_total"] >= page["features"][1]["properties"]["premium_total"]
    assert {"loss_ratio", "risk_events", "premium_per_m2"} <= set(first)
    assert page["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_the_public_reads_only_the_approved_public_layers(rollback):
    public = Tenant.public()
    with as_web(rollback, public):
        listed = ogc_collections.for_tenant(rollback, public, Filters(), CITY, ZONE)
        assert listed and all(c.id.startswith("public-") for c in listed)
        assert ogc_collections.find(rollback, public, "projects", Filters(), CITY, ZONE) is None
    page = _read(rollback, public, listed[0].id, limit=100)
    assert page["numberMatched"] == 14
    assert {"code", "name", "value", "suppressed"} == set(page["features"][0]["properties"])


@pytest.mark.parametrize("role", ["regulator", "insurer"])
def test_the_concentration_grid_is_the_portfolio_pages_grid(rollback, role):
    """The OGC collection's cells hold what the portfolio page's grid holds: the market's
    exposure for the regulator, an insurer's own (at its share, net of reinsurance) for it."""
    insurer = _insurer(rollback) if role == "insurer" else None
    tenant = Tenant(role, insurer)
    page = _read(rollback, tenant, "concentration", limit=10000)
    with as_web(rollback, tenant):
        policies = exposure.policy_exposures(rollback, CITY, exposure.Choice(insurer=insurer))
    grid = exposure.by_cell(exposure.project_exposures(policies), "net", 1000)
    assert page["numberMatched"] == len(grid) == len(page["features"]) > 10
    served = {f["id"]: f["properties"] for f in page["features"]}
    for cell in grid:
        got = served[f"{cell['i']}_{cell['j']}"]
        assert got["projects"] == cell["projects"]
        for basis in ("gross", "own", "net"):
            assert got[f"{basis}_wan"] == pytest.approx(cell[f"{basis}_wan"], rel=1e-9)
    if role == "insurer":
        market = _read(rollback, Tenant("regulator"), "concentration", limit=10000)
        assert sum(f["own_wan"] for f in served.values()) < sum(
            f["properties"]["own_wan"] for f in market["features"])
