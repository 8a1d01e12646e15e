"""The OGC API project tiles (layers/ogc_tiles.py) as the web service reads them: a tile too
dense for points holds counts on a grid that add up to exactly the projects the caller may
see in it, in both tile matrix sets, so that no tile grows past 500 KB and an insurer's grid
still counts only its own projects."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from test_tiles import decode

from conftest import as_web
from geo.tenancy import Tenant
from layers import ogc_tiles, tiles

# the caller's projects inside a tile's envelope, in the matrix set's CRS, read plainly
IN_TILE = """
WITH box AS (SELECT ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, :srid) AS env),
inside AS (SELECT p.id, p.gross_floor_area_m2 FROM project p, box WHERE {point} && box.env)
SELECT (SELECT count(*) FROM inside) AS projects,
       (SELECT COALESCE(sum(gross_floor_area_m2), 0) FROM inside) AS area,
       (SELECT count(*) FROM risk_event e
         WHERE e.status <> 'closed' AND e.project_id IN (SELECT id FROM inside)) AS open_events"""


def _tile_over_kunming(tms: ogc_tiles.MatrixSet, z: int) -> tuple[int, int]:
    """(row, col) of the tile over Kunming's centre."""
    x, y = (11433522.0, 2880150.0) if tms.srid == 3857 else (102.71, 25.04)
    size = tms.cell_size(z) * 256
    left, top = (-ogc_tiles.EARTH_HALF, ogc_tiles.EARTH_HALF) if tms.srid == 3857 else (-180, 90)
    return int((top - y) // size), int((x - left) // size)


def _expected(conn, tms: ogc_tiles.MatrixSet, z: int, row: int, col: int):
    xmin, ymin, xmax, ymax = tms.envelope(z, row, col)
    sql = IN_TILE.format(point=tms.to_crs.format(geom="p.location"))
    return conn.execute(text(sql), {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax,
                                    "srid": tms.srid}).one()


@pytest.mark.parametrize("tms", list(ogc_tiles.MATRIX_SETS.values()), ids=lambda t: t.id)
@pytest.mark.parametrize("who", ["regulator", "insurer"])
def test_a_dense_tile_counts_every_project_the_caller_sees(rollback, monkeypatch, tms, who):
    conn = rollback
    insurer = conn.execute(text("SELECT min(insurer_id) FROM policy_share")).scalar_one()
    tenant = Tenant("regulator") if who == "regulator" else Tenant("insurer", insurer)
    z = tms.point_zoom()
    row, col = _tile_over_kunming(tms, z)
    with as_web(conn, tenant):
        expected = _expected(conn, tms, z, row, col)
        assert expected.projects > 1
        monkeypatch.setattr(tiles, "MAX_TILE_POINTS", 10**9)
        points = decode(ogc_tiles.project_tile(conn, tms, z, row, col))
        monkeypatch.setattr(tiles, "MAX_TILE_POINTS", 1)
        cells = decode(ogc_tiles.project_tile(conn, tms, z, row, col))
    assert list(points) == [ogc_tiles.LAYER] and list(cells) == [ogc_tiles.CLUSTER_LAYER]
    inside = [f for f in points[ogc_tiles.LAYER]["features"]
              if all(0 <= c < ogc_tiles.EXTENT for c in f["geometry"]["coordinates"])]
    assert len(inside) == expected.projects
    counted = [f["properties"] for f in cells[ogc_tiles.CLUSTER_LAYER]["features"]]
    assert len(counted) > 1, "one cell for the whole tile: no grid"
    assert sum(c["count"] for c in counted) == expected.projects
    assert sum(c["floor_area_m2"] for c in counted) == pytest.approx(float(expected.area))
    assert sum(c["open_risk_events"] for c in counted) == expected.open_events


@pytest.mark.parametrize("tms", list(ogc_tiles.MATRIX_SETS.values()), ids=lambda t: t.id)
def test_a_tile_further_out_than_the_maps_point_zoom_counts_on_a_grid(rollback, tms):
    """As on the map: a tile wider than a z12 Web Mercator tile holds counts, never points,
    however few projects it holds."""
    z = tms.point_zoom() - 1
    row, col = _tile_over_kunming(tms, z)
    with as_web(rollback, Tenant("regulator")):
        expected = _expected(rollback, tms, z, row, col)
        cells = decode(ogc_tiles.project_tile(rollback, tms, z, row, col))
    assert expected.projects <= tiles.MAX_TILE_POINTS
    assert list(cells) == [ogc_tiles.CLUSTER_LAYER]
    assert sum(f["properties"]["count"] for f in cells[ogc_tiles.CLUSTER_LAYER]["features"]) \
        == expected.projects


def test_the_tileset_names_both_layers_a_tile_may_hold():
    schema = ogc_tiles.properties_schema(fields=ogc_tiles.CLUSTER_FIELDS)
    assert set(schema["properties"]) == {"count", "floor_area_m2", "open_risk_events"}
    assert "grade" in ogc_tiles.properties_schema()["properties"]
