"""Vector tiles of the approved public layers, so that any map client (MapLibre, OpenLayers,
QGIS) can draw them: the same frozen values, classes and colours as their GeoJSON, cut into
Mapbox Vector Tiles by PostGIS. Nothing here reads the programme's live tables.
"""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers import publication
from layers.sql import read_sql
from layers.tiles import BUFFER, EXTENT, TILEJSON_MAXZOOM, is_tile

LAYER_NAME = "districts"
FIELDS = {
    "code": "String: GB/T 2260 district code",
    "name": "String: district name",
    "value": "Number: the approved value (absent where it is hidden)",
    "value_text": "String: the value as shown, or why it is hidden",
    "class": "Number: class of the legend, from 0",
    "colour": "String: fill colour of the class",
    "suppressed": "Boolean: the value is hidden (too few projects, or too concentrated)",
}


def publication_tile(conn: Connection, pub_id: int, z: int, x: int, y: int) -> bytes | None:
    """Tile z/x/y of approved publication ``pub_id``; None when there is no such publication."""
    if not is_tile(z, x, y):
        raise ValueError(f"no tile {z}/{x}/{y}")
    layer = publication.public_layer(conn, pub_id)
    if layer is None:
        return None
    properties = {f["properties"]["code"]: f["properties"] for f in layer["features"]}
    tile = conn.execute(text(read_sql("publication_tile.sql")), {
        "pub": pub_id, "z": z, "x": x, "y": y, "extent": EXTENT, "buffer": BUFFER,
        "margin": BUFFER / EXTENT + 0.01, "properties": json.dumps(properties)}).scalar_one()
    return bytes(tile or b"")


def publication_tilejson(conn: Connection, pub_id: int, tiles_url: str) -> dict | None:
    """TileJSON 3.0.0 of a public layer's tiles under ``tiles_url``, with its legend."""
    layer = publication.public_layer(conn, pub_id)
    if layer is None:
        return None
    bounds = conn.execute(text(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent("
        "d.boundary) AS e FROM published_value v JOIN district d ON d.code = v.district_code "
        "WHERE v.publication_id = :pub) b"), {"pub": pub_id}).one()
    west, south, east, north = bounds if bounds[0] is not None else (-180, -85.05, 180, 85.05)
    return {
        "tilejson": "3.0.0", "name": layer["title"], "scheme": "xyz",
        "description": f"{layer['layer']['title_zh']}（公开图层，"
                       f"批准于 {layer['approved_at'][:10]}）",
        "tiles": [f"{tiles_url.rstrip('/')}/{{z}}/{{x}}/{{y}}.mvt"],
        "minzoom": 0, "maxzoom": TILEJSON_MAXZOOM,
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2, (south + north) / 2, 8],
        "vector_layers": [{"id": LAYER_NAME, "description": layer["title"], "minzoom": 0,
                           "maxzoom": TILEJSON_MAXZOOM, "fields": FIELDS}],
        "legend": layer["legend"], "as_of": layer["as_of"],
    }
