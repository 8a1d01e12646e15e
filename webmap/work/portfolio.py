"""The portfolio page: an insurer's exposure and its accumulation, the limits it sets and the
places that break them; the regulator picks any insurer or the whole market.

Handlers parse the request, ask `layers.portfolio`, and render or export.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from geo.tenancy import CITY_ROLES, Tenant
from layers import portfolio
from layers.exposure import BASES, PARTIES, Choice, ExposureError
from layers.filters import shown
from layers.overview import map_context
from layers.reports import CHINA
from webmap.auth import roles_only
from webmap.caching import shared_data, with_etag
from webmap.reports.formats import FORMATS
from webmap.scope import connection, current_area, current_tenant

bp = Blueprint("portfolio", __name__)
READERS = ("insurer", *CITY_ROLES)


def _int(name: str, default: int | None) -> int | None:
    value = request.args.get(name, "")
    if not value:
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= 9):
        raise ExposureError(f"参数 {shown(value)} 有误：应为整数。"
                            f"{name}={shown(value)}: expected a whole number")
    return int(value)


def request_choice() -> Choice:
    return Choice(insurer=_int("insurer", None), basis=request.args.get("basis", "net"),
                  radius_m=_int("radius", 200), cell_m=_int("cell", 1000), top=_int("top", 10),
                  district=request.args.get("district") or None)


def _data() -> dict:
    """The whole portfolio for the request's choice (every cell and project: the exports)."""
    city, tenant = current_area(), current_tenant()
    with connection() as conn:
        return portfolio.portfolio(conn, city, request_choice(), tenant,
                                   circles=_kept_circles(city, tenant))


def shown_portfolio(city: str, choice: Choice, tenant: Tenant | None = None) -> dict:
    """What the page and the JSON draw of the portfolio (trimmed) as ``tenant`` (default: the
    request's) sees it, computed once per data version for every reader of the same tenant
    (an insurer's own, or the market's; `riskmap warm` computes the market's ahead)."""
    tenant = tenant or current_tenant()

    def build():
        with connection(tenant=tenant) as conn:
            return trimmed(portfolio.portfolio(conn, city, choice, tenant,
                                               circles=_kept_circles(city, tenant)))

    return shared_data("portfolio", {"city": city, **asdict(choice)}, build, tenant)


def _kept_circles(city: str, tenant: Tenant):
    """The worst circles through the shared store, keyed without the cell size: a reader
    trying cell sizes does not wait for the circles again (at 200,000 projects they are
    half of a portfolio's seven to twelve seconds)."""
    def circles(choice: Choice, projects) -> list[dict]:
        asked = {"city": city, **asdict(choice), "cell_m": None}
        return shared_data("portfolio-circles", asked,
                           lambda: portfolio.worst_circles(choice, projects), tenant)
    return circles


def _shown() -> dict:
    return shown_portfolio(current_area(), request_choice())


@bp.get("/portfolio")
@roles_only(*READERS)
def portfolio_page():
    data = _shown()
    with connection() as conn:
        choices = map_context(conn, current_area(), current_tenant())
        outlines = portfolio.map_outlines(conn, current_area())
    return render_template("portfolio.html", data=data, choices=choices, args=request.args,
                           bases=BASES, parties=PARTIES, measures=portfolio.MEASURES,
                           map_data={"circles": data["circles"], "cells": data["cells"][:400],
                                     "basis": data["choice"]["basis"], "outlines": outlines},
                           is_insurer=current_tenant().role == "insurer")


@bp.get("/api/portfolio")
@roles_only(*READERS)
def api_portfolio():
    request_choice()  # a bad choice is refused before the cache is asked
    return with_etag(lambda: jsonify(_shown()))


# The JSON carries what a page draws: the largest cells and projects (both come largest
# first), and how many there are; every one of them is in the exports (/portfolio/export.*).
API_CELLS, API_PROJECTS = 400, 100


def trimmed(data: dict) -> dict:
    return {**data, "cells": data["cells"][:API_CELLS],
            "projects": data["projects"][:API_PROJECTS],
            "listed": {"cells": len(data["cells"]), "projects": len(data["projects"])}}


@bp.post("/portfolio/limits")
@roles_only("insurer")
def add_limit():
    form = request.form
    try:
        # only a circle or a cell has a size: a district's or a party's form ignores the field
        spatial = form.get("measure") in ("circle", "cell")
        size = int(form["size_m"]) if spatial and form.get("size_m") else None
        max_wan = float(form.get("max_wan", ""))
    except ValueError:
        flash("限额须为数字（万元），尺寸须为整数（米）。")
        return redirect(url_for("portfolio.portfolio_page"))
    try:
        with connection(write=True) as conn:
            portfolio.add_limit(conn, current_tenant(), form.get("measure", ""),
                                form.get("basis", "net"), size, max_wan, form.get("note", ""))
    except ExposureError as exc:
        flash(str(exc))
    else:
        flash("限额已保存。")
    return redirect(url_for("portfolio.portfolio_page"))


@bp.post("/portfolio/limits/<int:limit_id>/delete")
@roles_only("insurer")
def delete_limit(limit_id: int):
    with connection(write=True) as conn:
        if not portfolio.delete_limit(conn, current_tenant(), limit_id):
            abort(404)
    flash("限额已删除。")
    return redirect(url_for("portfolio.portfolio_page"))


@bp.get("/portfolio/export.<fmt>")
@roles_only(*READERS)
def export(fmt: str):
    if fmt not in ("xlsx", "csv", "geojson"):
        abort(404)
    data = _data()
    stem = f"风险累积_{data['insurer']['name']}_{dt.date.today():%Y%m%d}"
    if fmt == "geojson":
        body = json.dumps(portfolio_geojson(data), ensure_ascii=False).encode("utf-8")
        mimetype = "application/geo+json"
    else:
        body = FORMATS[fmt].render(portfolio_report(data))
        mimetype = FORMATS[fmt].mimetype
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"portfolio.{fmt}\"; filename*=UTF-8''"
        + quote(f"{stem}.{fmt}"))
    return response


def _columns(*spec) -> list[dict]:
    return [{"id": c[0], "title": c[1], "unit": c[2] if len(c) > 2 else "",
             "decimals": c[3] if len(c) > 3 else None} for c in spec]


MONEY_COLUMNS = (("gross_wan", "总保额", "万元", 2), ("own_wan", "自留额", "万元", 2),
                 ("net_wan", "净自留额", "万元", 2))


def portfolio_report(data: dict) -> dict:
    """The portfolio as a report dict (webmap.reports), for the XLSX and CSV writers."""
    choice = data["choice"]
    tables = [
        {"id": "projects", "title": "项目风险暴露", "rows": data["projects"], "columns": _columns(
            ("permit_no", "报建号"), ("name", "项目"), ("district", "区县"),
            ("developer", "建设单位"), ("lon", "经度", "°", 6), ("lat", "纬度", "°", 6),
            ("policies", "保单数", "件", 0), *MONEY_COLUMNS)},
        {"id": "circles", "title": f"最大累积圆（半径 {choice['radius_m']} 米）",
         "rows": data["circles"], "columns": _columns(
             ("rank", "名次"), ("lon", "圆心经度", "°", 6), ("lat", "圆心纬度", "°", 6),
             ("projects", "项目数", "个", 0), *MONEY_COLUMNS)},
        {"id": "districts", "title": "按区县累积", "rows": data["districts"], "columns": _columns(
            ("code", "区县代码"), ("name", "区县"), ("projects", "项目数", "个", 0),
            *MONEY_COLUMNS, ("share_pct", "占比", "%", 1))},
        {"id": "cells", "title": f"按网格累积（{choice['cell_m']} 米）", "rows": data["cells"],
         "columns": _columns(("lon", "中心经度", "°", 6), ("lat", "中心纬度", "°", 6),
                             ("i", "列号"), ("j", "行号"), ("projects", "项目数", "个", 0),
                             *MONEY_COLUMNS)},
        *[{"id": f"party_{k}", "title": f"按{v}累积", "rows": data["parties"][k],
           "columns": _columns(("party", v), ("projects", "项目数", "个", 0), *MONEY_COLUMNS)}
          for k, v in PARTIES.items()],
        {"id": "breaches", "title": "超限情况", "rows": data["breaches"], "columns": _columns(
            ("limit", "限额"), ("place", "位置/对象"), ("projects", "项目数", "个", 0),
            ("value_wan", "累积", "万元", 2), ("over_wan", "超出", "万元", 2))},
    ]
    totals = data["totals"]
    return {
        "kind": "portfolio", "title": f"{data['insurer']['name']}风险累积分析",
        "subtitle": f"口径：{choice['basis_zh']}", "city_name": "",
        "made_at": dt.datetime.now(CHINA).strftime("%Y-%m-%d %H:%M"), "data_version": None,
        "district": None, "scope_note": "",
        "filters": [["保险公司", data["insurer"]["name"]], ["口径", choice["basis_zh"]],
                    ["圆半径", f"{choice['radius_m']} 米"], ["网格", f"{choice['cell_m']} 米"]],
        "indicators": [
            {"id": "projects", "title": "项目数", "unit": "个", "decimals": 0,
             "value": totals["projects"], "city": None, "group": "风险暴露"},
            *[{"id": f"{b}_wan", "title": zh, "unit": "万元", "decimals": 2,
               "value": totals[f"{b}_wan"], "city": None, "group": "风险暴露"}
              for b, zh in BASES.items()]],
        "sections": [], "tables": tables, "map": None,
    }


def portfolio_geojson(data: dict) -> dict:
    """Cells, circles and projects as one GeoJSON FeatureCollection (EPSG:4326)."""
    money = ("gross_wan", "own_wan", "net_wan")
    features = [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [c["ring"]]},
                 "properties": {"kind": "cell", "i": c["i"], "j": c["j"],
                                "projects": c["projects"], **{m: c[m] for m in money}}}
                for c in data["cells"]]
    features += [{"type": "Feature",
                  "geometry": {"type": "Point", "coordinates": [c["lon"], c["lat"]]},
                  "properties": {"kind": "circle", "rank": c["rank"], "radius_m": c["radius_m"],
                                 "projects": c["projects"], **{m: c[m] for m in money}}}
                 for c in data["circles"]]
    features += [{"type": "Feature",
                  "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
                  "properties": {"kind": "project", "permit_no": p["permit_no"],
                                 "name": p["name"], **{m: p[m] for m in money}}}
                 for p in data["projects"]]
    return {"type": "FeatureCollection", "features": features,
            "metadata": {"insurer": data["insurer"]["name"], **data["choice"]}}
