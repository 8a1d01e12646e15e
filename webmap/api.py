"""JSON and GeoJSON endpoints of the map: the catalogue, district layers, summaries, projects."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, url_for

from layers import catalogue, districts, projects
from layers.filters import Filters
from webmap.caching import with_etag
from webmap.db import get_engine

bp = Blueprint("api", __name__)


def _not_found(message: str):
    return jsonify(error=message), 404


@bp.get("/api/layers")
def layer_catalogue():
    def build():
        items = []
        for layer in catalogue.LAYERS:
            item = layer.as_json()
            if layer.kind == "district":
                item["data_url"] = url_for("api.district_layer", layer_id=layer.id)
            elif layer.kind == "heat":
                item["data_url"] = url_for("tiles.heat_points", kind=layer.id.removeprefix("heat_"))
            else:
                item["data_url"] = url_for("tiles.project_tilejson")
            items.append(item)
        return jsonify(layers=items, default=catalogue.DEFAULT_LAYER)
    return with_etag(build)


@bp.get("/api/layers/<layer_id>/districts")
def district_layer(layer_id: str):
    if layer_id not in catalogue.BY_ID or catalogue.BY_ID[layer_id].kind != "district":
        return _not_found(f"no district layer {layer_id!r}")
    filters = Filters.from_args(request.args)
    city = current_app.config["CITY"]

    def build():
        with get_engine().connect() as conn:
            return jsonify(districts.district_layer(conn, layer_id, city, filters))
    response = with_etag(build)
    if response.status_code == 200:
        response.mimetype = "application/geo+json"
    return response


@bp.get("/api/districts/<code>")
def district_summary(code: str):
    filters = Filters.from_args(request.args)
    city = current_app.config["CITY"]
    with get_engine().connect() as conn:
        summary = districts.district_summary(conn, code, city, filters)
    if summary is None:
        return _not_found(f"no district {code!r} in city {city}")
    return with_etag(lambda: jsonify(summary))


@bp.get("/api/projects/near")
def project_near():
    """The project nearest a clicked point (the map's popup), within ``radius`` metres."""
    filters = Filters.from_args(request.args)
    try:
        lon, lat = float(request.args["lon"]), float(request.args["lat"])
        radius = min(float(request.args.get("radius", 50)), 5000)
    except (KeyError, ValueError):
        return jsonify(error="lon, lat (degrees) and radius (metres) are required numbers"), 400
    with get_engine().connect() as conn:
        found = projects.nearest_project(conn, lon, lat, radius, filters)
    return jsonify(id=found)


@bp.get("/api/projects/<int:project_id>")
def project_detail(project_id: int):
    with get_engine().connect() as conn:
        detail = projects.project_detail(conn, project_id)
    if detail is None:
        return _not_found(f"no project {project_id}")
    return with_etag(lambda: jsonify(detail))
