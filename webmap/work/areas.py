"""Above the city (辖区概览): the provinces or cities of the user's jurisdiction, one layer's
value each, from the district layers rolled up one level; a province opens its cities, a city
opens its map (the city switcher's choice)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import login_required

from geo.jurisdiction import NATION, area_name, code_prefix, overview_area, overview_level
from layers import catalogue, districts
from webmap.scope import connection, current_tenant, request_filters
from webmap.work.portfolio import READERS as portfolio_readers

bp = Blueprint("areas", __name__)


def _trail(conn, area: str) -> list[dict]:
    """The areas above ``area`` down to it, each with its overview's URL (全国 › 云南省)."""
    codes = [NATION] + ([code_prefix(area)[:2] + "0000"] if area != NATION else [])
    codes += [area] if len(code_prefix(area)) >= 4 else []
    tenant = current_tenant()
    return [{"name": area_name(conn, code), "code": code,
             "url": url_for("areas.overview", area=code) if overview_area(tenant, code)
             else None} for code in codes]


@bp.get("/areas")
@login_required
def overview():
    tenant = current_tenant()
    area = overview_area(tenant, request.args.get("area"))
    if area is None:
        abort(404)
    layer_id = request.args.get("layer", catalogue.DEFAULT_LAYER)
    layer = catalogue.BY_ID.get(layer_id)
    if layer is None or layer.kind != "district" or tenant.role not in layer.visible_to:
        abort(404)
    level, filters = overview_level(area, request.args.get("level")), request_filters()
    with connection() as conn:
        if area_name(conn, area) is None:
            abort(404)
        shown = districts.rollup_layer(conn, layer_id, area, level, filters)
        outlines = districts.rollup_outlines(conn, shown)
        trail = _trail(conn, area)
    choices = [item for item in catalogue.DISTRICT_LAYERS if tenant.role in item.visible_to]
    return render_template("areas.html", shown=shown, outlines=outlines, trail=trail,
                           layers=choices,
                           can_portfolio=tenant.role in portfolio_readers,
                           layer=layer, level=level, area=area, args=request.args,
                           api_url=url_for("api.area_layer", layer_id=layer_id, area=area,
                                           level=level, **filters.query()))
