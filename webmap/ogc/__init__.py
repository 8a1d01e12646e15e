"""OGC API – Features and Tiles, and the OpenAPI document of the whole service.

Built here rather than on pygeoapi: pygeoapi's providers open their own connections and
cannot run each request as the caller's database role, and row security as the caller is this
service's boundary. Handlers are thin: they read the request, ask `layers.ogc_*` (tested
without Flask) and shape the answer as JSON, GeoJSON, HTML or a vector tile.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("ogc", __name__)

from webmap.ogc import features, openapi, tiles  # noqa: E402,F401  (register the routes)
