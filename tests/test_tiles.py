"""The project map's vector tiles: points with popup fields up close, counted cells further out."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from geo import store
from layers.filters import Filters
from layers.tiles import POINT_ZOOM, project_tile, tilejson
from loaders import demo, demo_load, districts

# "in scope" below: a project with a policy in force (the scope drops returned and cancelled)
MAX_TILE_BYTES = 500_000


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The slippy-map tile x, y holding a point."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def centre_tile(z: int) -> str:
    """z/x/y of the tile over Kunming's centre."""
    x, y = tile_of(102.71, 25.04, z)
    return f"{z}/{x}/{y}"


def city_tiles(conn, z: int) -> Iterator[tuple[int, int]]:
    """Every tile at zoom z over Kunming's districts."""
    west, south, east, north = conn.execute(text(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        "(SELECT ST_Extent(boundary) AS e FROM district WHERE city_code = '530100') b")).one()
    x0, y0 = tile_of(west, north, z)
    x1, y1 = tile_of(east, south, z)
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            yield x, y


def decode(tile: bytes) -> dict:
    return mapbox_vector_tile.decode(tile) if tile else {}


def cluster_total(conn, z: int, filters: Filters) -> int:
    total = 0
    for x, y in city_tiles(conn, z):
        layers = decode(project_tile(conn, z, x, y, filters))
        assert set(layers) <= {"project_clusters"}, f"points at zoom {z}"
        total += sum(f["properties"]["count"]
                     for f in layers.get("project_clusters", {}).get("features", []))
    return total


def point_ids(conn, z: int, x: int, y: int, filters: Filters) -> set[int]:
    layers = decode(project_tile(conn, z, x, y, filters))
    assert set(layers) <= {"projects"}
    return {f["properties"]["id"] for f in layers.get("projects", {}).get("features", [])}


def busiest_project(conn):
    """A co-insured project with the most claims, then open risk events: its popup says a lot."""
    return conn.execute(text("""
        SELECT * FROM (SELECT p.id, ST_X(p.location) AS lon, ST_Y(p.location) AS lat,
          (SELECT count(*) FROM claim c JOIN policy po ON po.id = c.policy_id
            WHERE po.project_id = p.id AND po.status NOT IN ('returned', 'cancelled')) AS claims,
          (SELECT count(*) FROM risk_event e
            WHERE e.project_id = p.id AND e.status <> 'closed') AS open_events,
          (SELECT o.name FROM policy po JOIN organisation o ON o.id = po.lead_insurer_id
            WHERE po.project_id = p.id ORDER BY po.id LIMIT 1) AS lead_insurer,
          (SELECT count(*) FROM policy po JOIN policy_share s ON s.policy_id = po.id
            WHERE po.project_id = p.id) AS shares
        FROM project p
        WHERE p.id IN (SELECT project_id FROM policy WHERE status NOT IN ('returned', 'cancelled'))
        ) candidate
        ORDER BY shares > 1 DESC, claims DESC, open_events DESC, id LIMIT 1""")).one()


def test_a_close_tile_shows_the_project_with_its_popup_fields(kunming):
    with kunming.connect() as conn:
        project = busiest_project(conn)
        x, y = tile_of(project.lon, project.lat, 14)
        layers = decode(project_tile(conn, 14, x, y, Filters()))
        expected = conn.execute(text("""
            SELECT p.name, p.permit_no, p.community, st.name_zh AS stage, d.name AS district
            FROM project p JOIN project_stage st ON st.code = p.stage
            JOIN district d ON d.code = p.district_code WHERE p.id = :id"""),
            {"id": project.id}).one()
        insurers = conn.execute(text("""
            SELECT o.name FROM policy po JOIN policy_share s ON s.policy_id = po.id
            JOIN organisation o ON o.id = s.insurer_id
            WHERE po.project_id = :id ORDER BY s.is_lead DESC, s.share DESC, o.name"""),
            {"id": project.id}).scalars().all()
    assert list(layers) == ["projects"]
    features = {f["properties"]["id"]: f for f in layers["projects"]["features"]}
    shown = features[project.id]["properties"]
    assert features[project.id]["id"] == project.id  # feature id, for hover highlighting
    assert shown["name"] == expected.name and shown["permit_no"] == expected.permit_no
    assert shown["community"] == expected.community
    assert shown["stage"] == expected.stage and shown["district"] == expected.district
    assert shown["insurers"] == "、".join(insurers)
    assert len(insurers) > 1 and shown["insurers"].startswith(project.lead_insurer + "、")
    # the demo leaves risk events open only while recent, so the project with the most claims
    # (an old one) may have none open; the popup's count is checked either way
    assert project.claims > 0
    assert shown["claims"] == project.claims
    assert shown["open_risk_events"] == project.open_events


def test_the_point_sits_where_the_project_is(kunming):
    with kunming.connect() as conn:
        project = busiest_project(conn)
        x, y = tile_of(project.lon, project.lat, POINT_ZOOM)
        layers = decode(project_tile(conn, POINT_ZOOM, x, y, Filters()))
    feature = next(f for f in layers["projects"]["features"] if f["id"] == project.id)
    px, py = feature["geometry"]["coordinates"]  # tile units, y up as decoded
    n = 2**POINT_ZOOM
    lon = (x + px / 4096) / n * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 1 - py / 4096) / n))))
    assert abs(lon - project.lon) < 1e-3 and abs(lat - project.lat) < 1e-3


def test_far_out_the_city_is_counted_cells_that_add_up_to_every_project(kunming):
    with kunming.connect() as conn:
        in_scope = conn.execute(text("SELECT count(DISTINCT project_id) FROM policy "
                                     "WHERE status NOT IN ('returned', 'cancelled')")).scalar_one()
        for z in (0, 1, 2, 5, 9, POINT_ZOOM - 1):
            assert cluster_total(conn, z, Filters()) == in_scope


def test_cells_carry_floor_area_and_open_risk_events(kunming):
    with kunming.connect() as conn:
        area, open_events = conn.execute(text("""
            WITH in_scope AS (SELECT project_id AS id FROM policy
                              WHERE status NOT IN ('returned', 'cancelled'))
            SELECT (SELECT sum(gross_floor_area_m2) FROM project
                     WHERE id IN (SELECT id FROM in_scope)),
                   (SELECT count(*) FROM risk_event
                     WHERE status <> 'closed' AND project_id IN (SELECT id FROM in_scope))
            """)).one()
        cells = [f["properties"] for x, y in city_tiles(conn, 9)
                 for f in decode(project_tile(conn, 9, x, y, Filters()))
                 .get("project_clusters", {}).get("features", [])]
    assert len(cells) > 20  # a map of cells, not one blob
    assert sum(c["floor_area_m2"] for c in cells) == pytest.approx(float(area), rel=1e-9)
    assert sum(c["open_risk_events"] for c in cells) == open_events


def insurer_with_part_of_the_programme(conn):
    return conn.execute(text("""
        SELECT s.insurer_id, count(DISTINCT po.project_id) AS projects
        FROM policy_share s JOIN policy po ON po.id = s.policy_id
        WHERE po.status NOT IN ('returned', 'cancelled')
        GROUP BY s.insurer_id ORDER BY projects DESC, s.insurer_id LIMIT 1""")).one()


def busiest_tile_with(conn, projects: set[int]) -> tuple[int, int]:
    """The point tile with the most projects in scope among those holding any of ``projects``."""
    sites = conn.execute(text("""
        SELECT id, ST_X(location), ST_Y(location) FROM project
        WHERE id IN (SELECT project_id FROM policy WHERE status NOT IN ('returned', 'cancelled'))
        """)).all()
    tiles = Counter(tile_of(lon, lat, POINT_ZOOM) for _, lon, lat in sites)
    return max({tile_of(lon, lat, POINT_ZOOM) for id_, lon, lat in sites if id_ in projects},
               key=lambda tile: (tiles[tile], tile))


def test_the_insurer_filter_keeps_only_that_insurers_projects(kunming):
    with kunming.connect() as conn:
        insurer = insurer_with_part_of_the_programme(conn)
        theirs = set(conn.execute(text("""
            SELECT po.project_id FROM policy po JOIN policy_share s ON s.policy_id = po.id
            WHERE s.insurer_id = :insurer AND po.status NOT IN ('returned', 'cancelled')"""),
            {"insurer": insurer.insurer_id}).scalars())
        only = Filters(insurer=insurer.insurer_id)
        assert cluster_total(conn, 9, only) == insurer.projects == len(theirs)
        x, y = busiest_tile_with(conn, theirs)
        everyone = point_ids(conn, POINT_ZOOM, x, y, Filters())
        filtered = point_ids(conn, POINT_ZOOM, x, y, only)
    assert filtered == everyone & theirs
    assert filtered and filtered != everyone  # the tile shows a real difference


def test_a_period_without_policies_empties_the_map(kunming):
    with kunming.connect() as conn:
        assert cluster_total(conn, 9, Filters.from_args({"period": "2001"})) == 0


def test_tiles_far_from_the_city_are_empty(kunming):
    with kunming.connect() as conn:
        for z, lon, lat in ((14, 0.0, 0.0), (9, -150.0, 20.0), (POINT_ZOOM, 116.4, 39.9)):
            x, y = tile_of(lon, lat, z)
            assert not any(layer["features"] for layer in
                           decode(project_tile(conn, z, x, y, Filters())).values())


@pytest.fixture(scope="module")
def big_programme(make_database):
    """A city with 3,000 projects: ten times the default demo."""
    engine = make_database()
    with engine.begin() as conn:
        districts.load_districts(conn, districts.district_records(city="530100"))
        demo_load.run_demo(conn, demo.DemoOptions(city="530100", projects=3000))
    return engine


def test_tiles_of_the_whole_city_stay_small_with_3000_projects(big_programme):
    with big_programme.connect() as conn:
        for z in range(7, POINT_ZOOM + 1):
            sizes = [len(project_tile(conn, z, x, y, Filters())) for x, y in city_tiles(conn, z)]
            assert max(sizes) < MAX_TILE_BYTES, f"zoom {z}: {max(sizes)} bytes"
        assert cluster_total(conn, 7, Filters()) > 2900  # they are all in there


def test_the_tile_endpoint_serves_mvt(client, kunming):
    with kunming.connect() as conn:
        project = busiest_project(conn)
    x, y = tile_of(project.lon, project.lat, 14)
    response = client.get(f"/tiles/projects/14/{x}/{y}.mvt")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.mapbox-vector-tile"
    ids = [f["id"] for f in decode(response.data)["projects"]["features"]]
    assert project.id in ids


@pytest.mark.parametrize("path", ["23/0/0", "3/8/0", "3/0/8", "2/-1/0", "0/0/-1"])
def test_tiles_that_do_not_exist_are_404(client, path):
    response = client.get(f"/tiles/projects/{path}.mvt")
    assert response.status_code == 404
    assert "no tile" in response.get_json()["error"]


def test_a_bad_filter_on_a_tile_is_400_naming_it(client):
    response = client.get(f"/tiles/projects/{centre_tile(9)}.mvt?stage=roof")
    assert response.status_code == 400
    assert "stage" in response.get_json()["error"]


def test_tiles_are_revalidated_until_the_data_changes(make_database, client_for):
    engine = make_database()
    with engine.begin() as conn:
        districts.load_districts(conn, districts.district_records(city="530100"))
        demo_load.run_demo(conn, demo.DemoOptions(city="530100", projects=20))
    client, url = client_for(engine), f"/tiles/projects/{centre_tile(9)}.mvt"
    first = client.get(url)
    assert first.status_code == 200 and first.headers["ETag"]
    assert decode(first.data)["project_clusters"]["features"]
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    with engine.begin() as conn:
        store.bump_data_version(conn)
    changed = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert changed.data == first.data


def test_tilejson_points_at_tiles_that_keep_the_filters(client, kunming):
    with kunming.connect() as conn:
        insurer = insurer_with_part_of_the_programme(conn).insurer_id
        west, south, east, north = conn.execute(text("""
            SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
              SELECT ST_Extent(location) AS e FROM project WHERE id IN (
                SELECT po.project_id FROM policy po JOIN policy_share s ON s.policy_id = po.id
                WHERE s.insurer_id = :insurer AND po.status NOT IN ('returned', 'cancelled'))
            ) b"""),
            {"insurer": insurer}).one()
    response = client.get(f"/tiles/projects.json?insurer={insurer}")
    assert response.status_code == 200 and response.headers["ETag"]
    doc = response.get_json()
    assert doc["tilejson"] == "3.0.0" and doc["minzoom"] == 0 and doc["maxzoom"] == 18
    assert doc["tiles"] == [
        f"http://localhost/tiles/projects/{{z}}/{{x}}/{{y}}.mvt?insurer={insurer}"]
    assert doc["bounds"] == pytest.approx([west, south, east, north])
    fields = {layer["id"]: set(layer["fields"]) for layer in doc["vector_layers"]}
    assert fields["project_clusters"] == {"count", "floor_area_m2", "open_risk_events"}
    assert {"id", "name", "permit_no", "insurers", "claims"} <= fields["projects"]


def test_tilejson_of_an_empty_scope_still_has_bounds(kunming):
    with kunming.connect() as conn:
        doc = tilejson(conn, "https://map.example/tiles/projects",
                       Filters.from_args({"period": "2001", "stage": "planning"}))
    assert doc["bounds"][0] == -180.0
    assert doc["tiles"][0].startswith("https://map.example/tiles/projects/{z}/{x}/{y}.mvt?")
    assert "stage=planning" in doc["tiles"][0] and "from=2001-01-01" in doc["tiles"][0]


def test_each_project_point_carries_its_current_quality_grade(kunming):
    """The 项目质量评级 layer colours the points by this property."""
    with kunming.connect() as conn:
        project = conn.execute(text("""
            SELECT p.id, ST_X(p.location) AS lon, ST_Y(p.location) AS lat,
                   (SELECT g.grade FROM project_grade g WHERE g.project_id = p.id
                    ORDER BY g.id DESC LIMIT 1) AS grade
            FROM project p WHERE EXISTS (SELECT 1 FROM project_grade g WHERE g.project_id = p.id
              AND g.grade = 'D') ORDER BY p.id LIMIT 1""")).one()
        x, y = tile_of(project.lon, project.lat, POINT_ZOOM)
        features = decode(project_tile(conn, POINT_ZOOM, x, y, Filters()))["projects"]["features"]
    grades = {f["properties"]["id"]: f["properties"].get("grade") for f in features}
    assert grades[project.id] == project.grade == "D"


def test_a_tile_reads_only_its_boxs_projects_and_shows_the_same(kunming, monkeypatch):
    """The scope narrowed to the tile's box (so a tile costs what it shows) draws exactly
    what the whole programme's scope drew, at every zoom, for the city and for an insurer."""
    import layers.tiles
    from layers.sql import read_sql
    with kunming.connect() as conn:
        points = conn.execute(text("SELECT ST_X(location), ST_Y(location) FROM project "
                                   "ORDER BY id LIMIT 40")).all()
        insurer = conn.execute(text("SELECT insurer_id FROM policy_share GROUP BY 1 "
                                    "ORDER BY count(*) DESC LIMIT 1")).scalar_one()
        tiles = {(z, *tile_of(lon, lat, z)) for i, (lon, lat) in enumerate(points)
                 for z in (8 + i % 7,)}
        for filters in (Filters(), Filters(insurer=insurer)):
            boxed = {t: project_tile(conn, *t, filters) for t in tiles}
            monkeypatch.setattr(layers.tiles, "boxed_scope", lambda: read_sql("scope.sql"))
            whole = {t: project_tile(conn, *t, filters) for t in tiles}
            monkeypatch.undo()
            assert {t: _content(b) for t, b in boxed.items()} == {
                t: _content(b) for t, b in whole.items()}
            assert sum(1 for tile in boxed.values() if tile) > len(tiles) / 2


def _content(tile: bytes) -> dict:
    """A tile's features per layer, in an order of their own (rows may come in any order)."""
    decoded = mapbox_vector_tile.decode(tile) if tile else {}
    return {name: sorted(repr((sorted(f["properties"].items()), f["geometry"]))
                         for f in layer["features"]) for name, layer in decoded.items()}
