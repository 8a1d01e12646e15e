"""The OGC API read by the clients GIS users have: GDAL's OGC API drivers (ogr2ogr into a
GeoPackage, following every next link) and OWSLib, and the tiles as a map client reads them,
each as the regulator, an insurer (its own only) and the public (public layers only), with an
API token in a header as a system would send it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import urllib.request
from pathlib import Path

import mapbox_vector_tile
import pytest
import shapely
import shapely.geometry
from browsing import serving
from owslib.ogcapi.features import Features
from pyproj import Transformer
from served import get
from sqlalchemy import text

from conftest import account
from layers import exposure, ogc_tiles
from webmap import accounts

GDAL_TIMEOUT = 300


@pytest.fixture(scope="module")
def server(kunming_published):
    with serving(kunming_published) as url:
        yield url


@pytest.fixture(scope="module")
def insurer_id(kunming_published) -> int:
    with kunming_published.connect() as conn:
        return conn.execute(text("SELECT ps.insurer_id FROM policy_share ps GROUP BY 1 "
                                 "ORDER BY count(*) DESC LIMIT 1")).scalar_one()


def _token(engine, role: str, organisation_id: int | None = None) -> str:
    username = account(engine, role, organisation_id)
    with engine.begin() as conn:
        return accounts.issue_token(conn, username, "GIS", actor="test")


@pytest.fixture(scope="module")
def tokens(kunming_published, insurer_id) -> dict[str, str | None]:
    return {"regulator": _token(kunming_published, "regulator"),
            "insurer": _token(kunming_published, "insurer", insurer_id), "public": None}


def _count(conn, sql: str, **params) -> int:
    return conn.execute(text(sql), params).scalar_one()


@pytest.fixture(scope="module")
def expected(kunming_published, insurer_id) -> dict[str, dict[str, int]]:
    """Each tenant's features per collection, counted here as the store's owner."""
    with kunming_published.connect() as conn:
        public = {f"public-{pub}": 14 for pub in conn.execute(text(
            "SELECT id FROM layer_publication WHERE status = 'approved'")).scalars()}
        own = ("SELECT DISTINCT po.project_id FROM policy po JOIN policy_share ps "
               "ON ps.policy_id = po.id WHERE ps.insurer_id = :i")
        own_policies = "SELECT policy_id FROM policy_share WHERE insurer_id = :i"

        def cells(insurer: int | None) -> int:
            policies = exposure.policy_exposures(conn, "530100", exposure.Choice(insurer=insurer))
            return len(exposure.by_cell(exposure.project_exposures(policies), "net", 1000))
        return {
            "regulator": {"projects": _count(conn, "SELECT count(*) FROM project"),
                          "risk_events": _count(conn, "SELECT count(*) FROM risk_event"),
                          "claims": _count(conn, "SELECT count(*) FROM claim"),
                          "districts": 14, "concentration": cells(None), **public},
            "insurer": {
                "projects": _count(conn, f"SELECT count(*) FROM ({own}) x", i=insurer_id),  # noqa: S608
                "risk_events": _count(conn, f"SELECT count(*) FROM risk_event WHERE "  # noqa: S608
                                      f"project_id IN ({own})", i=insurer_id),
                "claims": _count(conn, f"SELECT count(*) FROM claim WHERE policy_id IN "  # noqa: S608
                                 f"({own_policies})", i=insurer_id),
                "districts": 14, "concentration": cells(insurer_id), **public},
            "public": public,
        }


def _gdal(args: list[str], token: str | None, workdir: Path) -> subprocess.CompletedProcess:
    config = ["--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {token}"] if token else []
    done = subprocess.run([*args[:1], *config, *args[1:]], capture_output=True, text=True,
                          timeout=GDAL_TIMEOUT, cwd=workdir)
    assert done.returncode == 0, done.stderr + done.stdout[:300]
    return done


@pytest.mark.parametrize("who", ["regulator", "insurer", "public"])
def test_gdal_copies_every_collection_into_a_geopackage_with_the_right_counts(
        server, tokens, expected, who, tmp_path):
    # a page of 50 makes several pages of every collection, each through a next link
    _gdal(["ogr2ogr", "-f", "GPKG", "out.gpkg", f"OAPIF:{server}/", "-oo", "PAGE_SIZE=50"],
          tokens[who], tmp_path)
    with sqlite3.connect(tmp_path / "out.gpkg") as db:
        tables = {name for (name,) in db.execute(
            "SELECT table_name FROM gpkg_contents WHERE data_type = 'features'")}
        counts = {name: db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]  # noqa: S608
                  for name in tables}
    assert counts == expected[who]
    if who == "insurer":
        assert counts["projects"] < expected["regulator"]["projects"]


def test_gdal_reads_the_districts_with_every_indicator(server, tokens, tmp_path):
    _gdal(["ogr2ogr", "-f", "GPKG", "districts.gpkg", f"OAPIF:{server}/collections/districts"],
          tokens["regulator"], tmp_path)
    info = _gdal(["ogrinfo", "-so", "districts.gpkg", "districts"], None, tmp_path).stdout
    for indicator in ("premium_total", "loss_ratio", "rectification_rate", "complaints"):
        assert indicator in info


def test_items_in_the_gauss_krueger_zone_say_their_crs(server, tokens):
    zone = "http://www.opengis.net/def/crs/EPSG/0/4543"
    answer = get(f"{server}/collections/projects/items?limit=5&crs={zone}",
                 headers={"Authorization": f"Bearer {tokens['regulator']}"})
    assert answer.status == 200 and answer.headers["Content-Crs"] == f"<{zone}>"
    northing, easting = json.loads(answer.body)["features"][0]["geometry"]["coordinates"]
    assert 2_700_000 < northing < 2_900_000 and 400_000 < easting < 700_000


def test_owslib_lists_collections_and_reads_items_with_a_bbox_and_a_cql2_filter(
        server, tokens, kunming_published):
    api = Features(f"{server}/", headers={"Authorization": f"Bearer {tokens['regulator']}"})
    ids = {c["id"] for c in api.collections()["collections"]}
    assert {"projects", "districts", "risk_events", "claims"} <= ids
    bbox = [102.6, 24.9, 102.9, 25.2]
    inside = api.collection_items("projects", bbox=bbox, limit=1000)
    with kunming_published.connect() as conn:
        truth = _count(conn, "SELECT count(*) FROM project WHERE ST_Intersects(location, "
                       "ST_MakeEnvelope(102.6, 24.9, 102.9, 25.2, 4326))")
        severe = _count(conn, "SELECT count(*) FROM risk_event WHERE severity = 'severe'")
    assert inside["numberMatched"] == truth == len(inside["features"]) > 0
    for feature in inside["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert 102.6 <= lon <= 102.9 and 24.9 <= lat <= 25.2
    filtered = api.collection_items("risk_events", filter="severity = 'severe'",
                                    limit=1000)
    assert filtered["numberMatched"] == severe
    assert {f["properties"]["severity_zh"] for f in filtered["features"]} == {"严重"}


def test_owslib_as_the_public_sees_only_the_public_layers(server):
    api = Features(f"{server}/")
    # OWSLib keeps the headers of an earlier instance in a module-wide dict: start clean
    api.headers = {}
    ids = {c["id"] for c in api.collections()["collections"]}
    assert ids and all(i.startswith("public-") for i in ids)


def _tile(server: str, token: str | None, tms: str, z: int, row: int, col: int,
          collection: str = "projects", query: str = "") -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(
        f"{server}/collections/{collection}/tiles/{tms}/{z}/{row}/{col}{query}", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"] == "application/vnd.mapbox-vector-tile"
        return mapbox_vector_tile.decode(response.read())


def _tile_of(tms: str, z: int, lon: float, lat: float) -> tuple[int, int]:
    """(row, col) of the tile holding lon/lat."""
    if tms == "WebMercatorQuad":
        x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
        size = 2 * 20037508.3427892 / 2**z
        return int((20037508.3427892 - y) // size), int((x + 20037508.3427892) // size)
    size = 180 / 2**z
    return int((90 - lat) // size), int((lon + 180) // size)


@pytest.mark.parametrize("tms", ["WebMercatorQuad", "CGCS2000Quad"])
def test_tiles_hold_the_callers_own_projects_in_both_tile_matrix_sets(
        server, tokens, kunming_published, insurer_id, tms):
    with kunming_published.connect() as conn:
        mine = conn.execute(text(
            "SELECT p.id, ST_X(p.location), ST_Y(p.location) FROM project p WHERE p.id IN "
            "(SELECT po.project_id FROM policy po JOIN policy_share ps ON ps.policy_id = po.id "
            "WHERE ps.insurer_id = :i) ORDER BY p.id LIMIT 1"), {"i": insurer_id}).one()
        theirs = set(conn.execute(text(
            "SELECT p.id FROM project p WHERE p.id NOT IN (SELECT po.project_id FROM policy po "
            "JOIN policy_share ps ON ps.policy_id = po.id WHERE ps.insurer_id = :i)"),
            {"i": insurer_id}).scalars())
    # the first zoom of points (further out a tile counts projects on a grid)
    z = ogc_tiles.MATRIX_SETS[tms].point_zoom()
    row, col = _tile_of(tms, z, mine[1], mine[2])
    everything = _tile(server, tokens["regulator"], tms, z, row, col)["projects"]["features"]
    own = _tile(server, tokens["insurer"], tms, z, row, col)["projects"]["features"]
    own_ids = {f["properties"]["id"] for f in own}
    assert mine[0] in own_ids and not own_ids & theirs
    assert len(everything) > len(own)
    assert {"name", "permit_no", "stage", "district", "grade"} <= set(own[0]["properties"])


def test_the_public_gets_no_project_tiles(server):
    answer = get(f"{server}/collections/projects/tiles/WebMercatorQuad/9/215/407")
    assert answer.status == 401 and "请先登录" in json.loads(answer.body)["error"]


def test_tileset_metadata_and_tile_matrix_sets_describe_every_field(server, tokens):
    auth = {"Authorization": f"Bearer {tokens['regulator']}"}
    listed = json.loads(get(f"{server}/collections/projects/tiles", headers=auth).body)
    assert {t["crs"] for t in listed["tilesets"]} == {
        "http://www.opengis.net/def/crs/EPSG/0/3857", "http://www.opengis.net/def/crs/EPSG/0/4490"}
    tileset = json.loads(get(f"{server}/collections/projects/tiles/WebMercatorQuad",
                             headers=auth).body)
    fields = tileset["layers"][0]["propertiesSchema"]["properties"]
    assert {"id", "name", "grade", "open_risk_events"} <= set(fields)
    # a GIS client is told that points begin at the map's point zoom and counts stand before
    layers = {layer["id"]: layer for layer in tileset["layers"]}
    assert layers["projects"]["minTileMatrix"] == "12"
    assert layers["project_clusters"]["minTileMatrix"] == "0"
    assert set(layers["project_clusters"]["propertiesSchema"]["properties"]) == {
        "count", "floor_area_m2", "open_risk_events"}
    quad_set = json.loads(get(f"{server}/collections/projects/tiles/CGCS2000Quad",
                              headers=auth).body)
    assert quad_set["layers"][0]["minTileMatrix"] == "11"
    assert tileset["attribution"]
    template = next(link["href"] for link in tileset["links"] if link["rel"] == "item")
    assert template.endswith("/{tileMatrix}/{tileRow}/{tileCol}")
    quad = json.loads(get(f"{server}/tileMatrixSets/CGCS2000Quad").body)
    assert quad["crs"].endswith("/4490") and quad["tileMatrices"][0]["matrixWidth"] == 2
    tilejson = json.loads(get(f"{server}/tiles/projects.json", headers=auth).body)
    assert "grade" in tilejson["vector_layers"][1]["fields"] and tilejson["attribution"]


@pytest.mark.parametrize("who", ["regulator", "insurer"])
def test_gdal_reads_the_tiles_as_a_gis_client_does(
        server, tokens, kunming_published, insurer_id, who, tmp_path):
    """GDAL's MVT driver over HTTP (what QGIS uses underneath) reads a z12 tile, from the XYZ set
    and from the OGC tileset, with every attribute and each project where the store has it.
    GDAL 3.6's experimental OGCAPI driver gives up on any tileset after reading its tile matrix
    set, without a message, so the tileset is checked here tile by tile."""
    z = 12
    with kunming_published.connect() as conn:
        lon, lat = conn.execute(text(
            "SELECT ST_X(location), ST_Y(location) FROM project GROUP BY location "
            "ORDER BY count(*) OVER (PARTITION BY ST_SnapToGrid(location, 0.05)) DESC "
            "LIMIT 1")).one()
        row, col = _tile_of("WebMercatorQuad", z, lon, lat)
        west, south, east, north = conn.execute(text(
            "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM "
            "(SELECT ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326) AS b) t"),
            {"z": z, "x": col, "y": row}).one()
        # GDAL clips a tile to its edges (the buffer is for drawing). The map's tiles show the
        # projects with a policy in force, the OGC tileset every project the caller may see
        mine = "CAST(:i AS int) IS NULL OR ps.insurer_id = :i"
        rows = conn.execute(text(
            f"SELECT p.id, ST_X(p.location), ST_Y(p.location), COALESCE(bool_or(({mine}) AND "  # noqa: S608
            "po.status NOT IN ('returned', 'cancelled')), false), "
            f"CAST(:i AS int) IS NULL OR COALESCE(bool_or({mine}), false) FROM project p "
            "LEFT JOIN policy po ON po.project_id = p.id "
            "LEFT JOIN policy_share ps ON ps.policy_id = po.id "
            "WHERE p.location && ST_MakeEnvelope(:w, :s, :e, :n, 4326) GROUP BY p.id"),
            {"w": west, "s": south, "e": east, "n": north,
             "i": None if who == "regulator" else insurer_id}).all()
        truth = {i: (x, y) for i, x, y, in_force, _ in rows if in_force}
        visible = {i for i, *_, seen in rows if seen}
    _gdal(["ogr2ogr", "-f", "GeoJSON", "xyz.geojson", "-t_srs", "EPSG:4326",
           f"MVT:/vsicurl/{server}/tiles/projects/{z}/{col}/{row}.mvt"], tokens[who], tmp_path)
    # the OGC address ends in row/col, which GDAL would take for x/y: ?f=mvt says what it is;
    # GDAL leaves such a tile in its own units, of which the tile proper is 0–4096
    _gdal(["ogr2ogr", "-f", "GeoJSON", "ogc.geojson", "-spat", "0", "0", "4096", "4096",
           f"MVT:/vsicurl/{server}/collections/projects/tiles/WebMercatorQuad/{z}/{row}/{col}"
           "?f=mvt"], tokens[who], tmp_path)
    xyz = json.loads((tmp_path / "xyz.geojson").read_text())["features"]
    ogc = json.loads((tmp_path / "ogc.geojson").read_text())["features"]
    read = {int(f["properties"]["id"]): f["geometry"]["coordinates"] for f in xyz}
    assert truth and set(read) == set(truth)
    assert {f["properties"]["id"] for f in ogc} == visible
    for project, (x, y) in read.items():
        # an MVT point sits on the tile's 4096-unit grid: within 10 m of the store's at z12
        assert abs(x - truth[project][0]) < 1e-4 and abs(y - truth[project][1]) < 1e-4
    # a field the tile leaves out of a feature (an ungraded project's grade) GDAL leaves unset
    assert {"name", "permit_no", "stage", "district", "grade", "insurers"} <= {
        key for f in xyz for key in f["properties"]}


def test_concentration_tiles_hold_the_callers_grid_cells(server, tokens):
    """The concentration grid as OGC vector tiles: each cell the insurer's items give, with the
    same sums, in the tile that covers it; the cell size follows cell=; the public is refused."""
    auth = {"Authorization": f"Bearer {tokens['insurer']}"}
    cells = json.loads(get(f"{server}/collections/concentration/items?limit=10000",
                           headers=auth).body)["features"]
    worst = max(cells, key=lambda f: f["properties"]["own_wan"])
    lon, lat = shapely.geometry.shape(worst["geometry"]).centroid.coords[0]
    z = 11
    row, col = _tile_of("WebMercatorQuad", z, lon, lat)
    tile = _tile(server, tokens["insurer"], "WebMercatorQuad", z, row, col, "concentration")
    shown = {f["properties"]["cell"]: f["properties"] for f in tile["concentration"]["features"]}
    by_id = {f["id"]: f for f in cells}
    assert worst["id"] in shown and set(shown) <= set(by_id)
    for cell, values in shown.items():
        assert values["own_wan"] == pytest.approx(by_id[cell]["properties"]["own_wan"])
        assert values["projects"] == by_id[cell]["properties"]["projects"]
    west, south, east, north = _lonlat_of_tile(z, row, col)
    inside = shapely.box(west, south, east, north).buffer(-0.001)
    assert {f["id"] for f in cells if shapely.geometry.shape(f["geometry"]).intersects(
        inside)} <= set(shown)
    coarse = _tile(server, tokens["insurer"], "WebMercatorQuad", z, row, col, "concentration",
                   "?cell=5000")["concentration"]["features"]
    assert {f["properties"]["cell_m"] for f in coarse} == {5000} and len(coarse) < len(shown)
    refused = get(f"{server}/collections/concentration/tiles/WebMercatorQuad/{z}/{row}/{col}")
    assert refused.status == 401
    wrong = get(f"{server}/collections/concentration/items?cell=50", headers=auth)
    assert wrong.status == 400 and "网格大小" in json.loads(wrong.body)["error"]


def _lonlat_of_tile(z: int, row: int, col: int) -> tuple[float, float, float, float]:
    back = Transformer.from_crs(3857, 4326, always_xy=True)
    size = 2 * 20037508.3427892 / 2**z
    west, north = back.transform(-20037508.3427892 + col * size, 20037508.3427892 - row * size)
    east, south = back.transform(-20037508.3427892 + (col + 1) * size,
                                 20037508.3427892 - (row + 1) * size)
    return west, south, east, north
