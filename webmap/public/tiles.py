"""The approved public layers as vector tiles and TileJSON, for map clients anywhere.

Like the public GeoJSON they read as the public whoever asks, are cacheable by shared caches
and, for the origins in CORS_ORIGINS, loadable by pages elsewhere (webmap/http.py).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, url_for

from geo.tenancy import Tenant
from layers import public_tiles
from layers.tiles import MAX_ZOOM, is_tile
from webmap.caching import with_public_etag
from webmap.errors import not_found
from webmap.scope import connection
from webmap.work.tiles import MVT_MIMETYPE

bp = Blueprint("public_tiles", __name__)


def _no_layer(pub_id: int) -> Response:
    return not_found(f"没有已批准的公开图层 {pub_id} — no approved public layer {pub_id}")


@bp.get("/tiles/public/<int:pub_id>/<int(signed=True):z>/<int(signed=True):x>/"
        "<int(signed=True):y>.mvt")
def tile(pub_id: int, z: int, x: int, y: int):
    if not is_tile(z, x, y):
        return not_found(f"no tile {z}/{x}/{y}: zoom 0–{MAX_ZOOM}, x and y 0–2^zoom−1")
    with connection(tenant=Tenant.public()) as conn:
        found = public_tiles.publication_tile(conn, pub_id, z, x, y)
    if found is None:
        return _no_layer(pub_id)
    return with_public_etag(lambda: Response(found, mimetype=MVT_MIMETYPE))


@bp.get("/tiles/public/<int:pub_id>.json")
def tilejson(pub_id: int):
    # the tiles' own URL, as the client reaches it (scheme, host and prefix behind proxies)
    tiles_url = url_for("public_tiles.tilejson", pub_id=pub_id, _external=True)
    with connection(tenant=Tenant.public()) as conn:
        found = public_tiles.publication_tilejson(conn, pub_id, tiles_url.removesuffix(".json"))
    if found is None:
        return _no_layer(pub_id)
    return with_public_etag(lambda: jsonify(found))
