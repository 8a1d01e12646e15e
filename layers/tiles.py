"""Vector tiles of the projects in scope, built by PostGIS, and their TileJSON.

Below `POINT_ZOOM` a tile holds grid cells ("project_clusters") rather than points, so that
a tile of the whole city stays small however many projects the programme has; from
`POINT_ZOOM` on it holds one point per project ("projects") with what a popup shows, unless
it would hold more than `MAX_TILE_POINTS` (a dense city core), when it holds cells too.
A caller who sees the whole programme, unfiltered by insurer, TIS or period, is drawn from
map_project (geo/sql/0010_map_project.sql, 0017_map_tile.sql), which the writes keep current
with all a point shows: a tile then reads only its own rows, not every live policy.
"""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo.tile_grid import mercator_box, tile_box
from layers.filters import Filters, whole_programme
from layers.sql import boxed_scope, read_sql

POINT_ZOOM = 12
MAX_ZOOM = 22  # the deepest tile address accepted
TILEJSON_MAXZOOM = 18  # clients overzoom past this: points need no more detail
EXTENT = 4096  # MVT coordinate units across a tile
BUFFER = 256  # points this close outside the tile are drawn by it too
ATTRIBUTION = "住宅工程质量潜在缺陷保险信息平台 IDI Risk Map"
GRID = 16  # cluster cells across a tile: about 16 px each on a 256-px tile
# the most projects a tile shows as points: about 150 bytes each, so a tile of points stays
# under 500 KB; a denser tile holds clusters even past POINT_ZOOM
MAX_TILE_POINTS = 2500
# what map_project can be filtered by (it holds every live policy's project)
MAP_PROJECT_KEYS = frozenset({"district", "stage"})

# (name, type, description) of each layer's attributes, for TileJSON.
PROJECT_FIELDS = (
    ("id", "Number", "project id"),
    ("name", "String", "project name"),
    ("permit_no", "String", "construction permit number (报建号)"),
    ("community", "String", "residential community (小区)"),
    ("stage", "String", "construction stage (Chinese)"),
    ("district", "String", "district name"),
    ("insurers", "String", "insurers, lead first, joined with 、"),
    ("open_risk_events", "Number", "risk events not yet closed"),
    ("claims", "Number", "claims on the project's policies in scope"),
    ("grade", "String", "quality grade A–D (质量评级), empty when not yet graded"),
)
CLUSTER_FIELDS = (
    ("count", "Number", "projects in the cell"),
    ("floor_area_m2", "Number", "their gross floor area in m²"),
    ("open_risk_events", "Number", "their risk events not yet closed"),
)

# (id, description, minzoom, maxzoom, fields) of each layer a tile may hold
VECTOR_LAYERS = (
    ("project_clusters", f"projects aggregated on a grid (below zoom {POINT_ZOOM}, and where "
     f"a tile would hold more than {MAX_TILE_POINTS} projects)", 0, TILEJSON_MAXZOOM,
     CLUSTER_FIELDS),
    ("projects", "one point per project", POINT_ZOOM, TILEJSON_MAXZOOM, PROJECT_FIELDS),
)


def is_tile(z: int, x: int, y: int) -> bool:
    """Whether z/x/y addresses a tile (zoom 0 to MAX_ZOOM)."""
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def project_tile(conn: Connection, z: int, x: int, y: int, filters: Filters) -> bytes:
    """The Mapbox Vector Tile z/x/y of the projects in scope; b"" when it has none.

    Up close one statement counts the tile's projects and draws them as points, unless there
    are more than MAX_TILE_POINTS: then only the count was paid, and the cells are drawn."""
    if z >= POINT_ZOOM:
        sql, params = tile_query(conn, z, x, y, filters, points=True)
        tile, projects = conn.execute(text(sql), params).one()
        if projects <= MAX_TILE_POINTS:
            return bytes(tile or b"")
    sql, params = tile_query(conn, z, x, y, filters, points=False)
    return bytes(conn.execute(text(sql), params).scalar_one() or b"")


def tile_query(conn: Connection, z: int, x: int, y: int, filters: Filters,
               points: bool) -> tuple[str, dict]:
    """The SQL and parameters of tile z/x/y for the connection's tenant, as points (with the
    count that decides whether they may be drawn) or as cells (bench/ explains them)."""
    if not is_tile(z, x, y):
        raise ValueError(f"no tile {z}/{x}/{y}")
    # the buffer as a share of the tile, plus a little for the 4326 round trip
    margin = BUFFER / EXTENT + 0.01
    params = {**filters.params(), "z": z, "x": x, "y": y, "extent": EXTENT,
              "buffer": BUFFER, "grid": GRID, "margin": margin, "max_points": MAX_TILE_POINTS}
    # the box the projects are counted in, in scope or not: the same for every tenant
    params.update({f"count_{side}": value
                   for side, value in tile_box(z, x, y, margin + 0.01).items()})
    if whole_programme(conn, filters, MAP_PROJECT_KEYS):
        params.update(mercator_box(z, x, y, margin))
        if points:
            return _joined("map_project_tile.sql", "tile_count.sql",
                           "map_project_points.sql"), params
        return _joined("map_project_clusters.sql", "cluster_cells.sql"), params
    # up close, the scope itself narrowed to the tile's box: a tile reads its own projects'
    # policies (further out a tile covers much of the city, and the whole scope is as cheap)
    scope = boxed_scope() if z >= POINT_ZOOM else read_sql("scope.sql")
    params.update(tile_box(z, x, y, margin + 0.01))
    if points:
        return scope + _joined("period_project.sql", "project_tile.sql", "tile_count.sql",
                               "project_points.sql"), params
    return scope + _joined("period_project.sql", "project_clusters.sql",
                           "cluster_cells.sql"), params


def _joined(*names: str) -> str:
    return "".join(read_sql(name) for name in names)


def projects_in_box(conn: Connection, box: dict[str, float]) -> int:
    """How many projects, in scope or not, lie in ``box`` (west, south, east, north in
    degrees): what decides whether a tile, the map's or the OGC API's, may hold points."""
    sql = "SELECT count(*) FROM riskmap_projects_in_box(:west, :south, :east, :north)"
    return conn.execute(text(sql), box).scalar_one()


def project_bounds(conn: Connection, filters: Filters) -> list[float] | None:
    """[west, south, east, north] of the projects in scope, None when there are none."""
    sql = read_sql("scope.sql") + read_sql("period_project.sql") + read_sql("project_bounds.sql")
    row = conn.execute(text(sql), filters.params()).one()
    return None if row.west is None else [row.west, row.south, row.east, row.north]


def _vector_layer(layer_id: str, description: str, minzoom: int, maxzoom: int,
                  fields: tuple) -> dict:
    return {"id": layer_id, "description": description, "minzoom": minzoom,
            "maxzoom": maxzoom, "fields": {name: f"{kind}: {what}" for name, kind, what in fields}}


def tilejson(conn: Connection, tiles_url: str, filters: Filters) -> dict:
    """TileJSON 3.0.0 of the project tiles under ``tiles_url`` (…/tiles/projects).

    The tile URLs carry the filters, so the map shows the same scope as the request.
    """
    query = urlencode(filters.query())
    template = f"{tiles_url.rstrip('/')}/{{z}}/{{x}}/{{y}}.mvt" + (f"?{query}" if query else "")
    bounds = project_bounds(conn, filters) or [-180.0, -85.051129, 180.0, 85.051129]
    west, south, east, north = bounds
    return {
        "tilejson": "3.0.0",
        "name": "IDI projects",
        "description": "Insured residential projects (住宅工程质量潜在缺陷保险)",
        "scheme": "xyz",
        "attribution": ATTRIBUTION,
        "tiles": [template],
        "minzoom": 0,
        "maxzoom": TILEJSON_MAXZOOM,
        "bounds": bounds,
        "center": [(west + east) / 2, (south + north) / 2, POINT_ZOOM - 2],
        "vector_layers": [_vector_layer(*layer) for layer in VECTOR_LAYERS],
    }
