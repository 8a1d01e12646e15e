"""The public's map: the layers a regulator approved, frozen and with small cells hidden.

Nobody signed in reaches the programme's tables here: the public tenant sees no protected
row, and these endpoints read only approved publications.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from markupsafe import escape

from geo.tenancy import Tenant
from layers import basemap, publication
from layers.overview import map_context
from webmap import basemaps
from webmap.caching import with_public_etag
from webmap.mappage import build_public_map
from webmap.scope import connection
from webmap.security import with_nonces

bp = Blueprint("public", __name__)


def owner_tasks() -> list[dict]:
    """What an owner comes for, each one click from the public landing page."""
    return [
        {"title": "查询我的房屋 / 告知书", "note": "保险公司、保险期间、理赔电话",
         "url": url_for("owner.find"), "id": "task-owner"},
        {"title": "我要报案", "note": "房屋出现质量缺陷，在线报案",
         "url": url_for("public_claims.find_building"), "id": "task-claim"},
        {"title": "进度查询", "note": "凭报案号和查询码查看理赔进度",
         "url": url_for("public_claims.follow"), "id": "task-follow"},
        {"title": "投诉", "note": "对保险公司或风险管理机构的服务投诉",
         "url": url_for("complaints.new_complaint"), "id": "task-complaint"},
    ]


def public_map() -> str:
    """The page anonymous visitors get at ``/``."""
    with connection() as conn:
        context = map_context(conn, current_app.config["CITY"])
        layers = publication.public_layers(conn, current_app.config["CITY"])
    title = f"{context['city_name']}住宅工程质量潜在缺陷保险公开地图"
    options = {
        "title": str(escape(title)), "heading": title,
        "approval_number": current_app.config["MAP_APPROVAL_NUMBER"],
        "layers": [{**item, "data_url": url_for("public.layer", pub_id=item["id"])}
                   for item in layers],
        "login": url_for("auth.login"),
        "basemap": basemaps.page_options(current_app.config, url_for("public.outline")),
        "nav": render_template("_nav.html"), "tasks": owner_tasks(),
    }
    return with_nonces(build_public_map(current_app.config, context["bounds"], layers,
                                        options))


@bp.get("/api/public/layers")
def layers():
    def build():
        with connection(tenant=Tenant.public()) as conn:
            items = publication.public_layers(conn, current_app.config["CITY"])
        return jsonify(layers=[{**item, "data_url": url_for("public.layer", pub_id=item["id"])}
                               for item in items],
                       approval_number=current_app.config["MAP_APPROVAL_NUMBER"])
    return with_public_etag(build)


@bp.get("/api/public/layers/<int:pub_id>")
def layer(pub_id: int):
    with connection(tenant=Tenant.public()) as conn:
        found = publication.public_layer(conn, pub_id)
    if found is None:
        return jsonify(error=f"no approved public layer {pub_id}"), 404
    response = with_public_etag(lambda: jsonify(found))
    if response.status_code == 200:
        response.mimetype = "application/geo+json"
    return response


@bp.get("/api/public/outline")
def outline():
    """The offline outline basemap: boundaries and names are public, whoever asks; of the
    CITY setting's city, or of ``?city=`` (any city of the store: a signed-in user's maps
    ask for the city they show)."""
    city = request.args.get("city", current_app.config["CITY"])
    with connection(tenant=Tenant.public()) as conn:
        if not basemap.city_loaded(conn, city):
            return jsonify(error=f"没有城市 {city} 的边界"), 404

    def build():
        with connection(tenant=Tenant.public()) as conn:
            return jsonify(basemap.outline(conn, city))
    response = with_public_etag(build)
    if response.status_code == 200:
        response.mimetype = "application/geo+json"
    return response
