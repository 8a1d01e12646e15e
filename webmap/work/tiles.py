"""Map data: vector tiles of the projects, their TileJSON and heat-map density.

Every answer carries an ETag from the data version, so a browser panning back over the map
revalidates its tiles with 304s instead of refetching them.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from layers import heat, tiles
from layers.filters import shown
from webmap.caching import with_etag
from webmap.errors import not_found, signed_in_only
from webmap.scope import connection, request_filters

bp = Blueprint("tiles", __name__)

MVT_MIMETYPE = "application/vnd.mapbox-vector-tile"


# points and heat maps show single projects: never for the public
bp.before_request(signed_in_only)


# signed, so that a negative coordinate gets the same JSON 404 as one too large
@bp.get("/tiles/projects/<int(signed=True):z>/<int(signed=True):x>/<int(signed=True):y>.mvt")
def project_tile(z: int, x: int, y: int):
    if not tiles.is_tile(z, x, y):
        return not_found(f"no tile {z}/{x}/{y}: zoom 0–{tiles.MAX_ZOOM}, x and y 0–2^zoom−1")
    filters = request_filters()

    def build() -> Response:
        with connection() as conn:
            tile = tiles.project_tile(conn, z, x, y, filters)
        return Response(tile, mimetype=MVT_MIMETYPE)

    return with_etag(build)


@bp.get("/tiles/projects.json")
def project_tilejson():
    filters = request_filters()
    # the tiles live under this URL without ".json", wherever the app is mounted
    tiles_url = request.base_url.removesuffix(".json")

    def build() -> Response:
        with connection() as conn:
            return jsonify(tiles.tilejson(conn, tiles_url, filters))

    return with_etag(build)


@bp.get("/api/heat/<kind>")
def heat_points(kind: str):
    if kind not in heat.KINDS:
        return not_found(f"no heat map {shown(kind)}: one of {', '.join(heat.KINDS)}")
    filters, view = request_filters(), heat.HeatView.from_args(request.args)

    def build() -> Response:
        with connection() as conn:
            return jsonify(heat.heat_points(conn, kind, filters, view))

    return with_etag(build)
