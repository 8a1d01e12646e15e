"""JSON and GeoJSON endpoints of the map: the catalogue, district layers, summaries, projects."""

from __future__ import annotations

import math

from flask import Blueprint, jsonify, request, url_for

from geo.jurisdiction import overview_area, overview_level
from layers import catalogue, districts, projects
from layers.filters import shown
from webmap.caching import with_etag
from webmap.errors import json_error, not_found, signed_in_only
from webmap.scope import connection, current_city, current_tenant, request_filters

bp = Blueprint("api", __name__)


# the public's data lives under /api/public/; these answer the city and its tenants
bp.before_request(signed_in_only)


@bp.get("/api/layers")
def layer_catalogue():
    def build():
        items = []
        role = current_tenant().role
        for layer in catalogue.LAYERS:
            if role not in layer.visible_to:
                continue
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
    layer = catalogue.BY_ID.get(layer_id)
    if layer is None or layer.kind != "district" or current_tenant().role not in layer.visible_to:
        return not_found(f"no district layer {shown(layer_id)}")
    filters = request_filters()
    city = current_city()

    def build():
        with connection() as conn:
            return jsonify(districts.district_layer(conn, layer_id, city, filters))
    response = with_etag(build)
    if response.status_code == 200:
        response.mimetype = "application/geo+json"
    return response


@bp.get("/api/layers/<layer_id>/areas")
def area_layer(layer_id: str):
    """One layer over the cities (or provinces) of an area above the city: ``?area=`` a
    province's code or 100000 (default: the caller's jurisdiction), ``?level=city`` for the
    nation's cities rather than its provinces."""
    layer = catalogue.BY_ID.get(layer_id)
    if layer is None or layer.kind != "district" or current_tenant().role not in layer.visible_to:
        return not_found(f"no district layer {shown(layer_id)}")
    area = overview_area(current_tenant(), request.args.get("area"))
    if area is None:
        return not_found(f"地区 {shown(request.args.get('area'))} 不在您的管辖范围内。"
                         "The area is outside your jurisdiction.")
    level, filters = overview_level(area, request.args.get("level")), request_filters()

    def build():
        with connection() as conn:
            return jsonify(districts.rollup_layer(conn, layer_id, area, level, filters))
    return with_etag(build)


@bp.get("/api/districts/<code>")
def district_summary(code: str):
    filters = request_filters()
    city = current_city()
    with connection() as conn:
        summary = districts.district_summary(conn, code, city, filters)
    if summary is None:
        return not_found(f"no district {shown(code)} in city {city}")
    return with_etag(lambda: jsonify(summary))


@bp.get("/api/projects/near")
def project_near():
    """The project nearest a clicked point (the map's popup), within ``radius`` metres."""
    filters = request_filters()
    try:
        lon, lat = _number("lon", -180, 180), _number("lat", -90, 90)
        radius = min(_number("radius", 0, math.inf, default="50"), 5000)
    except (KeyError, ValueError):
        return json_error("lon, lat (degrees, −180–180 and −90–90) and radius (metres, 0 or "
                          "more) are required numbers", 400)
    with connection() as conn:
        found = projects.nearest_project(conn, lon, lat, radius, filters)
    return jsonify(id=found)


def _number(name: str, low: float, high: float, default: str | None = None) -> float:
    """A finite number of ASCII digits from the URL, between low and high; KeyError when it
    is missing, ValueError otherwise (float() alone takes "inf", "nan" and "１２３")."""
    text = request.args[name] if default is None else request.args.get(name, default)
    value = float(text) if text.isascii() else math.nan
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} out of range")
    return value


@bp.get("/api/projects/<int:project_id>")
def project_detail(project_id: int):
    with connection() as conn:
        detail = projects.project_detail(conn, project_id)
    if detail is None:
        return not_found(f"no project {project_id}")
    return with_etag(lambda: jsonify(detail))
