"""OGC API – Features (Part 1 core, GeoJSON, HTML; Part 2 CRS; Part 3 CQL2 filtering): the
landing page, conformance, collections, queryables and items, each read as the caller."""

from __future__ import annotations

from flask import Response, current_app, request

from layers import ogc_collections, ogc_crs, ogc_features, ogc_query
from layers.ogc_collections import Collection
from webmap.errors import json_error
from webmap.ogc import bp
from webmap.ogc.negotiate import (
    GEOJSON,
    HTML,
    JSON,
    OPENAPI,
    answer,
    bad_format,
    link,
    self_links,
    url,
    with_args,
)
from webmap.scope import connection, current_city, current_tenant, request_filters

TITLE = "住宅工程质量潜在缺陷保险风险地图 OGC API"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
)
_FRAME = "riskmap.ogc.frame"


def city_frame() -> tuple[list[float] | None, int]:
    """The request's city's extent and its Gauss-Krüger zone (EPSG), looked up once per
    process and city."""
    city, frames = current_city(), current_app.extensions.setdefault(_FRAME, {})
    if city not in frames:
        with connection() as conn:
            bounds = ogc_features.extent(conn, city)
        centre = (bounds[0] + bounds[2]) / 2 if bounds else 102.7
        frames[city] = (bounds, ogc_crs.city_zone(centre))
    return frames[city]


def landing() -> Response:
    """The landing page as JSON (the map page is the landing page for browsers)."""
    doc = {
        "title": TITLE,
        "description": "住宅工程质量潜在缺陷保险（IDI）的项目、区县指标、风险事件、理赔与公开图层，"
                       "按调用者的权限（行级安全）提供。IDI projects, district indicators, risk "
                       "events, claims and public layers, as the caller may see them.",
        "links": [
            link(url("pages.risk_map", f="json"), "self", JSON, "本页 This document"),
            link(url("pages.risk_map"), "alternate", HTML, "风险地图 The risk map"),
            link(url("ogc.openapi_document"), "service-desc", OPENAPI, "OpenAPI 3.0 文档"),
            link(url("ogc.api_docs"), "service-doc", HTML, "接口说明（交互式）API docs"),
            link(url("ogc.conformance"), "conformance", JSON, "符合的标准 Conformance"),
            link(url("ogc.collections"), "data", JSON, "数据集 Collections"),
            link(url("ogc.tile_matrix_sets"), "http://www.opengis.net/def/rel/ogc/1.0/"
                 "tiling-schemes", JSON, "瓦片矩阵集 Tiling schemes"),
        ],
    }
    return answer(doc)


@bp.get("/conformance")
def conformance():
    return bad_format() or answer({"conformsTo": list(CONFORMANCE),
                                   "links": self_links("ogc.conformance")},
                                  {"heading": "符合的标准 Conformance"})


def _collection_doc(collection: Collection) -> dict:
    bounds, zone = city_frame()
    cid = collection.id
    links = [
        *self_links("ogc.collection", collection_id=cid),
        link(url("ogc.items", collection_id=cid, f="json"), "items", GEOJSON, "要素 GeoJSON"),
        link(url("ogc.items", collection_id=cid, f="html"), "items", HTML, "要素 HTML"),
        link(url("ogc.queryables", collection_id=cid), "http://www.opengis.net/def/rel/ogc/1.0/"
             "queryables", "application/schema+json", "可查询属性 Queryables"),
    ]
    if collection.tiles:
        links.append(link(url("ogc.tilesets", collection_id=cid),
                          "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", JSON,
                          "矢量瓦片集 Vector tilesets"))
    return {
        "id": cid, "title": collection.title, "description": collection.description,
        "itemType": "feature", "links": links,
        "extent": {"spatial": {"bbox": [bounds or [-180, -90, 180, 90]],
                               "crs": ogc_crs.CRS84},
                   "temporal": {"interval": [[None, None]]}},
        "crs": ogc_crs.uris(zone), "storageCrs": ogc_crs.CRS84,
    }


def _cell_m() -> int | Response:
    """The concentration grid's cell size asked for with ``cell=`` (metres)."""
    raw = request.args.get("cell")
    if raw is None:
        return ogc_collections.CELL_M
    if raw.isdigit() and 100 <= int(raw) <= 10_000:
        return int(raw)
    return json_error(f"网格大小 cell={raw[:20]!r} 有误：应为 100–10000 之间的整数（米）。"
                      "cell: a whole number of metres from 100 to 10000.", 400)


@bp.get("/collections")
def collections():
    cell_m = _cell_m()
    refused = bad_format() or (cell_m if isinstance(cell_m, Response) else None)
    if refused is not None:
        return refused
    filters = request_filters()
    zone = city_frame()[1]
    with connection() as conn:
        listed = ogc_collections.for_tenant(conn, current_tenant(), filters,
                                            current_city(), zone, cell_m)
    doc = {"collections": [_collection_doc(c) for c in listed],
           "links": self_links("ogc.collections")}
    return answer(doc, {"heading": "数据集 Collections"})


def _find(collection_id: str) -> Collection | Response:
    """The collection, or the answer refusing it (401 to the public, 404 when unknown)."""
    found = ogc_collections.tenant_collection(current_tenant(), collection_id)
    if found is not None:
        return found
    cell_m = _cell_m()
    if isinstance(cell_m, Response):
        return cell_m
    filters = request_filters()
    zone = city_frame()[1]
    with connection() as conn:
        found = ogc_collections.find(conn, current_tenant(), collection_id, filters,
                                     current_city(), zone, cell_m)
    if found is not None:
        return found
    if current_tenant().is_public and ogc_collections.is_tenant_collection(collection_id):
        return json_error("请先登录（或提供 API 令牌）。Sign in first (or send an API token).",
                          401)
    return json_error(f"没有数据集 {collection_id[:40]!r}。No collection {collection_id[:40]!r}.",
                      404)


@bp.get("/collections/<collection_id>")
def collection(collection_id: str):
    found = bad_format() or _find(collection_id)
    if isinstance(found, Response):
        return found
    return answer(_collection_doc(found), {"heading": found.title})


_SCHEMA_TYPES = {"string": {"type": "string"}, "integer": {"type": "integer"},
                 "number": {"type": "number"}, "boolean": {"type": "boolean"},
                 "date": {"type": "string", "format": "date"}}


@bp.get("/collections/<collection_id>/queryables")
def queryables(collection_id: str):
    found = bad_format() or _find(collection_id)
    if isinstance(found, Response):
        return found
    props = {p.name: {"title": p.title, **_SCHEMA_TYPES[p.type]} for p in found.properties}
    geometry = "polygon" if "Polygon" in found.geometry_type else "point"
    props["geometry"] = {"title": "几何", "format": f"geometry-{geometry}"}
    doc = {"$schema": "https://json-schema.org/draft/2020-12/schema",
           "$id": url("ogc.queryables", collection_id=collection_id), "type": "object",
           "title": found.title, "properties": props, "additionalProperties": False}
    return answer(doc, {"heading": f"{found.title} 可查询属性"},
                  mimetype="application/schema+json")


def _item_links(collection_id: str, page: dict, query: ogc_query.ItemsQuery) -> list[dict]:
    links = self_links("ogc.items", GEOJSON, collection_id=collection_id,
                       **request.args.to_dict())
    links.append(link(url("ogc.collection", collection_id=collection_id), "collection", JSON,
                      "数据集 The collection"))
    if query.offset + page["numberReturned"] < page["numberMatched"]:
        args = {**request.args.to_dict(), "offset": query.offset + query.limit}
        base = url("ogc.items", collection_id=collection_id)
        args.setdefault("f", "html" if request.args.get("f") == "html" else "json")
        links.append(link(with_args(base, args), "next", GEOJSON if args["f"] == "json" else
                          HTML, "下一页 Next page"))
    if query.offset > 0:
        args = {**request.args.to_dict(), "offset": max(0, query.offset - query.limit)}
        links.append(link(with_args(url("ogc.items", collection_id=collection_id), args),
                          "prev", GEOJSON, "上一页 Previous page"))
    return links


@bp.get("/collections/<collection_id>/items")
def items(collection_id: str):
    found = bad_format() or _find(collection_id)
    if isinstance(found, Response):
        return found
    try:
        query = ogc_query.parse(request.args, found, city_frame()[1])
        with connection() as conn:
            page = ogc_features.items(conn, found, query)
    except ogc_query.QueryError as error:
        return json_error(str(error), 400)
    page["links"] = _item_links(collection_id, page, query)
    headers = {"Content-Crs": f"<{query.crs.uri}>"}
    return answer(page, {"heading": found.title, "collection": found}, GEOJSON, headers)


@bp.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id: str, feature_id: str):
    found = bad_format() or _find(collection_id)
    if isinstance(found, Response):
        return found
    try:
        crs = ogc_crs.parse(request.args.get("crs"), city_frame()[1])
    except ogc_crs.CrsError as error:
        return json_error(str(error), 400)
    with connection() as conn:
        feature = ogc_features.item(conn, found, feature_id, crs)
    if feature is None:
        return json_error(f"{found.title} 中没有要素 {feature_id[:40]!r}。No such feature.", 404)
    feature["links"] = [
        *self_links("ogc.item", GEOJSON, collection_id=collection_id, feature_id=feature_id),
        link(url("ogc.collection", collection_id=collection_id), "collection", JSON,
             "数据集 The collection")]
    return answer(feature, {"heading": found.title, "collection": found}, GEOJSON,
                  {"Content-Crs": f"<{crs.uri}>"})
