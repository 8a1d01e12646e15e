"""HTML pages and the vendored assets. Handlers parse the request, ask `layers`, render."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from geo import clock, grades, store
from geo.notice import full_address
from geo.tenancy import CITY_ROLES, ROLE_ZH
from geo.workflow import today
from layers import catalogue, projects
from layers.districts import city_values, district_metrics
from layers.overview import map_context
from webmap import assets, basemaps
from webmap.mappage import build_map, vendor_url
from webmap.public import map as public
from webmap.scope import (
    CITY_KEY,
    CityRefused,
    connection,
    current_city,
    current_tenant,
    open_cities,
    request_filters,
)
from webmap.security import with_nonces

bp = Blueprint("pages", __name__)
bp.add_app_template_global(vendor_url)


@bp.app_template_global("basemap_options")
def basemap_options(city_outline: bool = True) -> dict:
    """The basemaps every map of the service offers (webmap/basemaps.py); without the city's
    outline for a map above the city, which draws its own cities or provinces."""
    return basemaps.page_options(current_app.config,
                                 url_for("public.outline", city=current_city())
                                 if city_outline else None)


@bp.app_template_filter("role_zh")
def role_zh(role: str) -> str:
    return ROLE_ZH.get(role, role)


@bp.app_template_filter("beijing")
def beijing_time(moment, seconds: bool = False) -> str:
    """A stored moment as Beijing time, to the minute (the store keeps time zones)."""
    return clock.beijing(moment, seconds)


FILTER_ZH = {"period": "期间", "from": "起", "to": "止", "insurer": "保险公司编号",
             "tis": "风险管理机构编号", "district": "区县", "stage": "项目阶段"}


@bp.app_template_filter("filter_zh")
def filter_zh(name: str) -> str:
    """A filter's URL name as the pages name it."""
    return FILTER_ZH.get(name, name)


@bp.app_template_filter("tel")
def tel_link(number, fallback: str = "—") -> Markup:
    """A hotline a phone dials with one tap, kept on one line (both escaped).

    >>> str(tel_link("95500-1"))
    '<a class="tel" href="tel:955001" style="white-space:nowrap">95500-1</a>'
    """
    digits = re.sub(r"[^0-9+]", "", str(number or ""))
    if not digits:
        return escape(fallback)
    return Markup('<a class="tel" href="tel:{}" style="white-space:nowrap">{}</a>').format(
        digits, number)


@bp.app_template_filter("wan")
def wan_yuan(value) -> str:
    """Money in 万元 with two decimals, as Chinese reports give it."""
    return f"{float(value) / 10_000:,.2f}"


@bp.app_template_filter("address")
def building_address(building: dict) -> str:
    """A building's district and address, the district named once (geo.notice.full_address)."""
    return full_address(building.get("district"), building.get("address"))


@bp.get("/")
def risk_map():
    # the OGC API's landing page for clients asking for JSON (OWSLib, GDAL); the map otherwise
    from webmap.ogc import features, negotiate

    if negotiate.landing_wants_json():
        return features.landing()
    if not current_user.is_authenticated:
        return public.public_map()
    layer_id = request.args.get("layer", catalogue.DEFAULT_LAYER)
    if layer_id not in catalogue.BY_ID or catalogue.BY_ID[layer_id].kind != "district":
        layer_id = catalogue.DEFAULT_LAYER
    filters = request_filters()
    with connection() as conn:
        context = map_context(conn, current_city(), current_tenant())
    options = {
        **context, "filters": filters.query(),
        "title": str(escape(f"{context['city_name']}住宅工程质量潜在缺陷保险风险地图")),
        "api": {"layers": url_for("api.layer_catalogue"),
                "districts": url_for("api.district_summary", code="CODE"),
                "projects": url_for("api.project_detail", project_id=0),
                "near": url_for("api.project_near"),
                "project_page": url_for("pages.project_page", project_id=0),
                "overview": url_for("pages.overview"),
                "search": url_for("search.api_search"),
                "district_page": url_for("statistics.district_page", code="CODE"),
                "statistics": url_for("statistics.statistics_page")},
        "user": _user_options(), "basemap": basemap_options(),
        "nav": render_template("_nav.html"),
    }
    return with_nonces(build_map(current_app.config, context["bounds"], options, layer_id))


def _user_options() -> dict:
    account = current_user.account
    organisation = f" · {account.organisation}" if account.organisation else ""
    return {"name": account.display_name, "role": ROLE_ZH[account.role] + organisation,
            "logout": url_for("auth.logout"), "csrf_token": generate_csrf(),
            "admin_url": url_for("admin.publications") if current_tenant().sees_all else "",
            "portfolio_url": (url_for("portfolio.portfolio_page")
                              if account.role in ("insurer", *CITY_ROLES) else "")}


@bp.get("/districts")
@login_required
def overview():
    city = current_city()
    filters = request_filters()
    with connection() as conn:
        rows = district_metrics(conn, city, filters)
        totals = city_values(conn, city, filters, rows) if rows else {}
        context = map_context(conn, city, current_tenant())
        version = store.data_version(conn)
    return render_template("index.html", rows=rows, totals=totals, filters=filters.query(),
                           city_name=context["city_name"], data_version=version)


@bp.get("/projects/<int:project_id>")
@login_required
def project_page(project_id: int):
    with connection() as conn:
        detail = projects.project_detail(conn, project_id)
    if detail is None:
        abort(404)
    tenant = current_tenant()
    return render_template("project.html", p=detail, can_tis_grade=(
        tenant.role == "tis" and tenant.organisation_id in detail["tis_ids"]))


@bp.post("/projects/<int:project_id>/tis-grade")
@login_required
def tis_grade(project_id: int):
    """A TIS of the project records its own grade with a reason, beside the platform's."""
    tenant = current_tenant()
    with connection(write=True) as conn:
        try:
            grades.record_tis_grade(conn, tenant, project_id, request.form.get("grade", ""),
                                    request.form.get("reason", ""), today(conn))
        except grades.GradeError as exc:
            if exc.status != 400:
                abort(exc.status)
            flash(str(exc))
        else:
            flash("已记录本机构评级。")
    return redirect(url_for("pages.project_page", project_id=project_id, _anchor="grades"), 303)


@bp.post("/city")
@login_required
def choose_city():
    """The city switcher: later pages show the chosen city (of those the user may open), and
    the user returns to the page it switched from."""
    code = request.form.get("city", "")
    if code not in {city.code for city in open_cities()}:
        raise CityRefused(code)
    session[CITY_KEY] = code
    back = request.form.get("next", "")
    # only a page of this service: a plain path, never another host ("//evil", "/\\evil",
    # "/\t/evil", which browsers read as "//evil" once they drop the tab)
    parts = urlsplit(back)
    if (parts.scheme or parts.netloc or not back.startswith("/") or back.startswith("//")
            or any(c in back for c in "\\ \t\r\n") or not back.isprintable()):
        back = url_for("pages.risk_map")
    return redirect(back, 303)


@bp.get("/vendor/<package>/dist/<path:filename>")
def vendor(package: str, filename: str):
    # only the files the pages load (webmap/assets.py), never the rest of node_modules
    if not assets.is_vendored(package, filename):
        abort(404)
    folder = Path(current_app.config["ASSETS_DIR"]) / package / assets.subfolder(package)
    return send_from_directory(folder, filename, max_age=86400)

