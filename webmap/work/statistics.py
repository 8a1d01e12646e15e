"""The statistics page, a district's page, and their figures as JSON.

Handlers parse the request, ask `layers.statistics` or `layers.reports`, and render; the
reader's row security and filters apply to everything (an insurer sees its own portfolio).
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_login import login_required

from geo.tenancy import CITY_ROLES, Tenant
from layers import projects, reports
from layers.filters import Filters
from layers.overview import map_context
from layers.sections import all_sections as sections_of
from webmap.auth import roles_only
from webmap.caching import shared_data, with_etag
from webmap.errors import signed_in_only
from webmap.reports.formats import DISTRICT_FORMATS, FORMATS
from webmap.scope import (
    city_of_district,
    connection,
    current_area,
    current_city,
    current_tenant,
    request_filters,
)

bp = Blueprint("statistics", __name__)


def _choices(conn) -> dict:
    return map_context(conn, current_city(), current_tenant())


def statistics_for(city: str, filters: Filters, tenant: Tenant | None = None) -> list[dict]:
    """Every section for ``filters`` as ``tenant`` (default: the request's) sees them, computed
    once per data version for all its readers alike (`riskmap warm` computes them ahead)."""
    tenant = tenant or current_tenant()

    def build():
        with connection(tenant=tenant) as conn:
            return sections_of(conn, city, filters)

    return shared_data("statistics", {"city": city, **filters.query()}, build, tenant)


@bp.get("/statistics")
@login_required
def statistics_page():
    area = current_area()  # the city, or ?area= a province or the nation
    filters = request_filters()
    sections = statistics_for(area, filters)
    with connection() as conn:
        choices = map_context(conn, area, current_tenant())
        labels = reports.filter_labels(conn, filters)
        links = reports.chart_links(conn, area)
    return render_template("statistics.html", sections=sections, choices=choices,
                           args=request.args, labels=labels, links=links,
                           kpis=reports.kpis({"sections": sections}),
                           glossary=reports.glossary({"sections": sections}),
                           api_url=url_for("statistics.api_statistics", **filters.query(),
                                           **_area_args()))


def _area_args() -> dict:
    return {"area": request.args["area"]} if request.args.get("area") else {}


@bp.get("/api/statistics")
def api_statistics():
    refused = signed_in_only()
    if refused is not None:
        return refused
    filters, area = request_filters(), current_area()

    def build():
        return jsonify(filters=filters.query(), area=area,
                       sections=statistics_for(area, filters))

    return with_etag(build)


@bp.get("/districts/<code>")
@login_required
def district_page(code: str):
    city = city_of_district(code)
    if city != current_city():
        # a district of another city the user may open: shown in its city (its filters, its
        # reports), as the URL then says
        return redirect(url_for("statistics.district_page", code=code,
                                **{**request.args.to_dict(), "city": city}))
    filters = request_filters()
    with connection() as conn:
        report = reports.district_report(conn, city, code, filters, current_tenant())
        choices = _choices(conn)
        links = reports.chart_links(conn, city)
    if report is None:
        abort(404)
    downloads = [{"format": f, "label": FORMATS[f].label,
                  "url": url_for("report_files.start_district", code=code, format=f,
                                 city=city, **filters.query())} for f in DISTRICT_FORMATS]
    return render_template("district.html", report=report, choices=choices, args=request.args,
                           downloads=downloads, links=links, kpis=reports.kpis(report))


@bp.get("/projects/uninsured")
@roles_only(*CITY_ROLES)
def uninsured_page():
    with connection() as conn:
        rows = projects.uninsured_projects(conn, current_city())
    return render_template("uninsured.html", rows=rows)
