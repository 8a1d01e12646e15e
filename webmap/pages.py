"""HTML pages and the vendored assets. Handlers parse the request, ask `layers`, render."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from markupsafe import escape

from geo import store
from layers import catalogue, projects
from layers.districts import city_values, district_metrics
from layers.filters import Filters
from layers.overview import map_context
from webmap.db import get_engine
from webmap.mappage import VENDOR_CSS, VENDOR_JS, build_map

bp = Blueprint("pages", __name__)

# Only the dist folders of the packages the map page loads are served from the npm install.
VENDOR_PACKAGES = {path.split("/")[2] for _, path in VENDOR_JS + VENDOR_CSS}


@bp.app_template_filter("wan")
def wan_yuan(value) -> str:
    """Money in 万元 with two decimals, as Chinese reports give it."""
    return f"{float(value) / 10_000:,.2f}"


@bp.get("/")
def risk_map():
    layer_id = request.args.get("layer", catalogue.DEFAULT_LAYER)
    if layer_id not in catalogue.BY_ID or catalogue.BY_ID[layer_id].kind != "district":
        layer_id = catalogue.DEFAULT_LAYER
    filters = Filters.from_args(request.args)
    with get_engine().connect() as conn:
        context = map_context(conn, current_app.config["CITY"])
    options = {
        **context, "filters": filters.query(),
        "title": str(escape(f"{context['city_name']}住宅工程质量潜在缺陷保险风险地图")),
        "api": {"layers": url_for("api.layer_catalogue"),
                "districts": url_for("api.district_summary", code="CODE"),
                "projects": url_for("api.project_detail", project_id=0),
                "near": url_for("api.project_near"),
                "project_page": url_for("pages.project_page", project_id=0),
                "overview": url_for("pages.overview")},
    }
    return build_map(current_app.config, context["bounds"], options, layer_id)


@bp.get("/districts")
def overview():
    city = current_app.config["CITY"]
    filters = Filters.from_args(request.args)
    with get_engine().connect() as conn:
        rows = district_metrics(conn, city, filters)
        totals = city_values(conn, city, filters) if rows else {}
        context = map_context(conn, city)
        version = store.data_version(conn)
    return render_template("index.html", rows=rows, totals=totals, filters=filters.query(),
                           city_name=context["city_name"], data_version=version)


@bp.get("/projects/<int:project_id>")
def project_page(project_id: int):
    with get_engine().connect() as conn:
        detail = projects.project_detail(conn, project_id)
    if detail is None:
        abort(404)
    return render_template("project.html", p=detail)


@bp.get("/vendor/<package>/dist/<path:filename>")
def vendor(package: str, filename: str):
    if package not in VENDOR_PACKAGES:
        abort(404)
    folder = Path(current_app.config["ASSETS_DIR"]) / package / "dist"
    response = send_from_directory(folder, filename, max_age=86400)
    return response


@bp.get("/healthz")
def healthz():
    with get_engine().connect() as conn:
        return {"status": "ok", "data_version": store.data_version(conn)}
