"""OGC API – Tiles of the project points: two tile matrix sets (WebMercatorQuad, and a
CGCS2000 quad laid out as WorldCRS84Quad on EPSG:4490), their definitions (OGC TMS 2.0 JSON),
the tileset metadata GDAL and QGIS read, and the vector tiles themselves, built by PostGIS
as the caller (row security narrows the points)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers import tiles
from layers.sql import read_sql

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 18
EARTH_HALF = 20037508.3427892  # half the Web Mercator world, metres
METRES_PER_DEGREE = 2 * math.pi * 6378137 / 360
PIXEL = 0.00028  # the OGC standard rendering pixel, metres
LAYER = "projects"
# (name, type, description) of each attribute of the "projects" tile layer
FIELDS = (
    ("id", "integer", "项目编号 project id"),
    ("name", "string", "项目名称 project name"),
    ("permit_no", "string", "报建号 construction permit number"),
    ("community", "string", "小区 residential community"),
    ("stage", "string", "项目阶段 construction stage"),
    ("district", "string", "区县 district"),
    ("grade", "string", "质量评级 quality grade (A–D)"),
    ("open_risk_events", "integer", "未销项风险事件 risk events not yet closed"),
)
# a tile denser than the map's MAX_TILE_POINTS holds this layer instead: counts on a grid
CLUSTER_LAYER = "project_clusters"
CLUSTER_FIELDS = (
    ("count", "integer", "项目数 projects in the cell"),
    ("floor_area_m2", "number", "总建筑面积（平方米）their gross floor area, m²"),
    ("open_risk_events", "integer", "未销项风险事件 their risk events not yet closed"),
)


@dataclass(frozen=True)
class MatrixSet:
    id: str
    title: str
    uri: str
    srid: int
    # SQL of a store geometry ({geom}, EPSG:4326) in this set's CRS, and of the set's envelope
    # back in 4326: the code's own text, never a client's
    to_crs: str
    to_store: str
    axes: tuple[str, str]

    def matrix_size(self, z: int) -> tuple[int, int]:
        """(columns, rows) at zoom ``z``."""
        return (2**z, 2**z) if self.srid == 3857 else (2 ** (z + 1), 2**z)

    def cell_size(self, z: int) -> float:
        world = 2 * EARTH_HALF if self.srid == 3857 else 180.0
        return world / 256 / 2**z

    def envelope(self, z: int, row: int, col: int) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of a tile, x east and y north in the set's CRS units."""
        size = self.cell_size(z) * 256
        left, top = (-EARTH_HALF, EARTH_HALF) if self.srid == 3857 else (-180.0, 90.0)
        return (left + col * size, top - (row + 1) * size, left + (col + 1) * size,
                top - row * size)

    def point_zoom(self) -> int:
        """The first zoom whose tiles may hold points: the map's POINT_ZOOM in Web Mercator, and
        in another set the zoom whose tiles are as wide on the ground (a CGCS2000 quad's tiles
        are twice as wide in degrees at the same zoom).

        >>> WEB_MERCATOR.point_zoom(), CGCS2000.point_zoom()
        (12, 11)
        """
        wide = WEB_MERCATOR.cell_size(tiles.POINT_ZOOM) * 256
        return next(z for z in range(MAX_ZOOM + 1)
                    if self.cell_size(z) * 256 * (1 if self.srid == 3857 else METRES_PER_DEGREE)
                    <= wide * 1.01)

    def is_tile(self, z: int, row: int, col: int) -> bool:
        cols, rows = self.matrix_size(z) if 0 <= z <= MAX_ZOOM else (0, 0)
        return 0 <= col < cols and 0 <= row < rows

    def definition(self) -> dict:
        """The set as OGC Two Dimensional Tile Matrix Set 2.0 JSON."""
        matrices = []
        for z in range(MAX_ZOOM + 1):
            cols, rows = self.matrix_size(z)
            cell = self.cell_size(z)
            metres = cell if self.srid == 3857 else cell * METRES_PER_DEGREE
            origin = [-EARTH_HALF, EARTH_HALF] if self.srid == 3857 else [90.0, -180.0]
            matrices.append({"id": str(z), "scaleDenominator": metres / PIXEL, "cellSize": cell,
                             "cornerOfOrigin": "topLeft", "pointOfOrigin": origin,
                             # TMS 1.0's names too, which GDAL before 3.7 reads
                             "identifier": str(z), "topLeftCorner": origin,
                             "tileWidth": 256, "tileHeight": 256, "matrixWidth": cols,
                             "matrixHeight": rows})
        crs = f"http://www.opengis.net/def/crs/EPSG/0/{self.srid}"
        corners = ([[-EARTH_HALF, -EARTH_HALF], [EARTH_HALF, EARTH_HALF]] if self.srid == 3857
                   else [[-90.0, -180.0], [90.0, 180.0]])
        return {"id": self.id, "title": self.title, **({"uri": self.uri} if self.uri else {}),
                "crs": crs, "orderedAxes": list(self.axes), "tileMatrices": matrices,
                # the TMS 1.0 encoding's members as well, for GDAL before 3.7
                "type": "TileMatrixSetType", "identifier": self.id, "supportedCRS": crs,
                "boundingBox": {"type": "BoundingBoxType", "crs": crs,
                                "lowerCorner": corners[0], "upperCorner": corners[1]}}


WEB_MERCATOR = MatrixSet(
    "WebMercatorQuad", "Google Maps Compatible for the World",
    "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad", 3857,
    "ST_Transform({geom}, 3857)", "ST_Transform({envelope}, 4326)", ("X", "Y"))
CGCS2000 = MatrixSet(
    "CGCS2000Quad", "CGCS2000 经纬度四叉树（与 WorldCRS84Quad 同排布）CGCS2000 geographic quad",
    "", 4490,  # no registered URI: WorldCRS84Quad's layout, on CGCS2000
    # CGCS2000 and WGS84 agree to centimetres: the store's coordinates are taken as they are
    "ST_SetSRID({geom}, 4490)", "ST_SetSRID({envelope}, 4326)", ("Lat", "Lon"))
MATRIX_SETS = {s.id: s for s in (WEB_MERCATOR, CGCS2000)}


def project_tile(conn: Connection, tms: MatrixSet, z: int, row: int, col: int) -> bytes:
    """The Mapbox Vector Tile of the projects the caller may see in tile z/row/col: one point
    each ("projects"), or, as the map's tiles do, their counts on a grid ("project_clusters")
    on a tile wider than a z12 Web Mercator tile or holding more than MAX_TILE_POINTS
    projects, so that no tile grows past 500 KB and a view of the city stays cheap."""
    xmin, ymin, xmax, ymax = tms.envelope(z, row, col)
    margin = (xmax - xmin) * BUFFER / EXTENT
    box = _box(tms, xmin - margin, ymin - margin, xmax + margin, ymax + margin)
    # counted (in scope or not) only where points may be shown
    points = z >= tms.point_zoom() and tiles.projects_in_box(conn, box) <= tiles.MAX_TILE_POINTS
    if not points:
        margin = 0.0  # a cell belongs to one tile only
        box = _box(tms, xmin, ymin, xmax, ymax)
    search = tms.to_store.format(envelope="ST_MakeEnvelope(:sxmin, :symin, :sxmax, :symax, :srid)")
    sql = read_sql("ogc_project_tile.sql" if points else "ogc_project_clusters.sql").format(
        to_crs=tms.to_crs.format(geom="p.location"), search=search)
    params = {**box, "xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax, "srid": tms.srid,
              "sxmin": xmin - margin, "symin": ymin - margin, "sxmax": xmax + margin,
              "symax": ymax + margin, "extent": EXTENT, "buffer": BUFFER,
              "grid": tiles.GRID, "cell": (xmax - xmin) / tiles.GRID}
    tile = conn.execute(text(sql), params).scalar_one()
    return bytes(tile or b"")


def _box(tms: MatrixSet, xmin: float, ymin: float, xmax: float, ymax: float) -> dict:
    """An envelope in the set's CRS as riskmap_projects_in_box's bounds, in degrees."""
    west, south, east, north = _degrees(tms, (xmin, ymin, xmax, ymax))
    return {"west": west, "south": south, "east": east, "north": north}


def _degrees(tms: MatrixSet, envelope: tuple[float, float, float, float]) -> list[float]:
    """[west, south, east, north] in degrees of an envelope in the set's CRS.

    >>> [round(v, 4) for v in _degrees(WEB_MERCATOR, WEB_MERCATOR.envelope(1, 0, 1))]
    [0.0, 0.0, 180.0, 85.0511]
    """
    xmin, ymin, xmax, ymax = envelope
    if tms.srid != 3857:
        return [xmin, ymin, xmax, ymax]

    def lat(y: float) -> float:
        return math.degrees(math.atan(math.sinh(y / 6378137)))

    return [math.degrees(xmin / 6378137), lat(ymin), math.degrees(xmax / 6378137), lat(ymax)]


def cell_tile(conn: Connection, tms: MatrixSet, z: int, row: int, col: int,
              collection) -> bytes:
    """The Mapbox Vector Tile of the concentration grid's cells (an ``ogc_collections``
    concentration collection, read as the caller) in tile z/row/col."""
    xmin, ymin, xmax, ymax = envelope = tms.envelope(z, row, col)
    west, south, east, north = _degrees(tms, envelope)
    # a cell and a half in degrees (a degree is 60 km or more below 57°N): every cell the tile
    # shows then holds all its policies
    pad = collection.params["cell_m"] * 1.5 / 60_000
    sql = read_sql("ogc_cell_tile.sql").format(source=collection.sql,
                                               to_crs=tms.to_crs.format(geom="c.geom"))
    params = {**collection.params, "west": west - pad, "south": max(-90.0, south - pad),
              "east": east + pad, "north": min(90.0, north + pad), "xmin": xmin, "ymin": ymin,
              "xmax": xmax, "ymax": ymax, "srid": tms.srid, "extent": EXTENT, "buffer": BUFFER}
    tile = conn.execute(text(sql), params).scalar_one()
    return bytes(tile or b"")


def properties_schema(collection=None, fields=None) -> dict:
    """The JSON schema of a tile layer's attributes: the project points', or a collection's,
    or the ``fields`` given."""
    if fields is None:
        fields = FIELDS if collection is None or collection.id == LAYER else [
            (p.name, "string" if p.type == "date" else p.type, p.title)
            for p in collection.properties]
    return {"type": "object", "properties": {
        name: {"type": kind, "description": what} for name, kind, what in fields}}
