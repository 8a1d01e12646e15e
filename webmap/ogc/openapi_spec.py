"""The OpenAPI 3.0 document of the whole service: the OGC API (Features, Tiles) and the JSON
APIs, with an example for every path parameter (tests/test_ogc_web.py calls every path with
them and checks the answer is one the document lists)."""

from __future__ import annotations

from layers import catalogue, ogc_query, ogc_tiles

VERSION = "3.0.3"
ERRORS = {
    "400": {"description": "请求有误（原因见 error）Bad request", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "401": {"description": "请先登录或提供 API 令牌 Sign in or send an API token", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "404": {"description": "未找到 Not found", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
}


def _param(name: str, where: str, description: str, schema: dict | None = None,
           example=None, required: bool = False) -> dict:
    out = {"name": name, "in": where, "description": description,
           "required": required or where == "path", "schema": schema or {"type": "string"}}
    if example is not None:
        out["example"] = example
    return out


def _path(name: str, description: str, example, schema: dict | None = None) -> dict:
    return _param(name, "path", description, schema, example)


def _query(name: str, description: str, schema: dict | None = None, example=None) -> dict:
    return _param(name, "query", description, schema, example)


F = _query("f", "格式 json 或 html（否则按 Accept）format", {"type": "string",
                                                         "enum": ["json", "html"]})
COLLECTION = _path("collectionId", "数据集编号 collection id", "projects")
TMS = _path("tileMatrixSetId", "瓦片矩阵集 tile matrix set", "WebMercatorQuad",
            {"type": "string", "enum": list(ogc_tiles.MATRIX_SETS)})
FILTERS = [
    _query("period", "期间：年 2024、季度 2024-Q2 或月 2024-05 period"),
    _query("from", "起始日期 from date", {"type": "string", "format": "date"}),
    _query("to", "截止日期 to date", {"type": "string", "format": "date"}),
    _query("insurer", "保险公司编号 insurer id", {"type": "integer"}),
    _query("tis", "风险管理机构编号 TIS id", {"type": "integer"}),
    _query("district", "区县代码 district code (GB/T 2260)"),
    _query("stage", "项目阶段 project stage"),
]
CELL = _query("cell", "风险累积网格（concentration）的格子边长（米）cell size of the concentration "
               "grid, metres", {"type": "integer", "minimum": 100, "maximum": 10000,
                                "default": 1000})
ITEMS_PARAMS = [
    F, CELL,
    _query("limit", "每页要素数 page size", {"type": "integer", "minimum": 1,
                                         "maximum": ogc_query.MAX_LIMIT,
                                         "default": ogc_query.DEFAULT_LIMIT}),
    _query("offset", "跳过的要素数 features skipped", {"type": "integer", "minimum": 0,
                                                 "default": 0}),
    _query("bbox", "范围 minx,miny,maxx,maxy（bbox-crs 的轴序）", {
        "type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 6}),
    _query("bbox-crs", "bbox 的坐标参照系 CRS of bbox"),
    _query("crs", "输出坐标参照系 CRS of the answer"),
    _query("datetime", "日期或区间（RFC 3339）date or interval"),
    _query("properties", "只返回这些属性（逗号分隔）"),
    _query("sortby", "排序属性（逗号分隔，- 为降序）sort"),
    _query("filter", "CQL2 过滤条件 filter"),
    _query("filter-lang", "cql2-text 或 cql2-json", {"type": "string",
                                                    "enum": list(ogc_query.FILTER_LANGS)}),
    _query("filter-crs", "过滤条件中几何的坐标参照系（同 crs 可选值，默认 CRS84）CRS of the "
           "filter's geometries"),
    *[p for p in FILTERS if p["name"] in ("period", "from", "to")],
]


def _ok(description: str, media: str = "application/json") -> dict:
    return {"200": {"description": description, "content": {media: {"schema": {}}}}}


def _op(summary: str, tag: str, params: list, ok: dict, errors=("400", "401", "404")) -> dict:
    return {"get": {"summary": summary, "tags": [tag], "parameters": params,
                    "responses": {**ok, **{code: ERRORS[code] for code in errors}}}}


def _json_and_html(description: str, media: str = "application/json") -> dict:
    ok = _ok(description, media)
    ok["200"]["content"]["text/html"] = {"schema": {"type": "string"}}
    return ok


def ogc_paths() -> dict:
    items = _json_and_html("要素（分页，带 next 链接）features", "application/geo+json")
    return {
        "/": _op("入口（JSON；浏览器得到地图页）landing page", "OGC API", [F],
                 _json_and_html("入口 landing page"), ("400",)),
        "/conformance": _op("符合的标准 conformance", "OGC API", [F],
                            _json_and_html("标准列表"), ("400",)),
        "/collections": _op("数据集（按调用者权限）collections", "OGC API – Features",
                            [F, *FILTERS[:3]], _json_and_html("数据集列表"), ("400",)),
        "/collections/{collectionId}": _op(
            "数据集说明 a collection", "OGC API – Features", [COLLECTION, F],
            _json_and_html("数据集")),
        "/collections/{collectionId}/queryables": _op(
            "可查询属性 queryables", "OGC API – Features", [COLLECTION, F],
            _json_and_html("JSON Schema", "application/schema+json")),
        "/collections/{collectionId}/items": _op(
            "要素 features", "OGC API – Features", [COLLECTION, *ITEMS_PARAMS], items),
        "/collections/{collectionId}/items/{featureId}": _op(
            "一个要素 a feature", "OGC API – Features",
            [COLLECTION, _path("featureId", "要素编号 feature id", "1"), F,
             _query("crs", "输出坐标参照系")],
            _json_and_html("要素", "application/geo+json")),
        "/tileMatrixSets": _op("瓦片矩阵集 tiling schemes", "OGC API – Tiles", [F],
                               _json_and_html("列表"), ("400",)),
        "/tileMatrixSets/{tileMatrixSetId}": _op(
            "瓦片矩阵集定义 a tiling scheme", "OGC API – Tiles", [TMS, F],
            _json_and_html("OGC TMS 2.0 JSON"), ("400", "404")),
        "/collections/{collectionId}/tiles": _op(
            "矢量瓦片集 tilesets", "OGC API – Tiles", [COLLECTION, F],
            _json_and_html("瓦片集列表")),
        "/collections/{collectionId}/tiles/{tileMatrixSetId}": _op(
            "瓦片集元数据 tileset metadata", "OGC API – Tiles", [COLLECTION, TMS, F],
            _json_and_html("瓦片集")),
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}":
            _op("矢量瓦片 a vector tile", "OGC API – Tiles",
                [COLLECTION, TMS,
                 _path("tileMatrix", "层级 zoom", "12", {"type": "integer"}),
                 _path("tileRow", "行 row", "1711", {"type": "integer"}),
                 _path("tileCol", "列 column", "3262", {"type": "integer"}), CELL],
                _ok("Mapbox 矢量瓦片", "application/vnd.mapbox-vector-tile"),
                ("400", "401", "404")),
    }


def json_api_paths() -> dict:
    layer = _path("layer_id", "图层编号 layer id", catalogue.DEFAULT_LAYER)
    code = _path("code", "区县代码 district code", "530102")
    tile = [_path("z", "层级 zoom", "12", {"type": "integer"}),
            _path("x", "列 column", "3262", {"type": "integer"}),
            _path("y", "行 row", "1711", {"type": "integer"})]
    pub = _path("pub_id", "公开图层编号 public layer id", "1", {"type": "integer"})
    api = "JSON API"
    return {
        "/api": _op("本 OpenAPI 文档 this document", api, [], _ok(
            "OpenAPI 3.0", "application/vnd.oai.openapi+json;version=3.0"), ()),
        "/api/layers": _op("图层目录 the layer catalogue", api, [], _ok("图层"), ("401",)),
        "/api/layers/{layer_id}/districts": _op(
            "区县图层 GeoJSON a district layer", api, [layer, *FILTERS],
            _ok("GeoJSON", "application/geo+json")),
        "/api/districts/{code}": _op("区县摘要 a district's summary", api, [code, *FILTERS],
                                     _ok("区县指标")),
        "/api/projects/{project_id}": _op(
            "一个项目 a project", api,
            [_path("project_id", "项目编号 project id", "1", {"type": "integer"})],
            _ok("项目"), ("401", "404")),
        "/api/heat/{kind}": _op(
            "热力点 [lat, lon, weight]", api,
            [_path("kind", "risk_events 或 claims", "risk_events",
                   {"type": "string", "enum": ["risk_events", "claims"]}), *FILTERS],
            _ok("热力点")),
        "/api/search": _op("搜索项目 search", api,
                           [_param("q", "query", "搜索文字", example="有限公司", required=True),
                            _query("limit", "结果数", {"type": "integer"})], _ok("结果")),
        "/api/statistics": _op("统计分析 statistics", api, FILTERS, _ok("统计")),
        "/api/lifecycles": _op("业务流程定义 lifecycles", api, [], _ok("流程"), ("401",)),
        "/api/tasks": _op("待办任务 tasks", api, [], _ok("任务"), ("401",)),
        "/api/public/layers": _op("公开图层 public layers (no sign-in)", api, [],
                                  _ok("公开图层"), ()),
        "/api/public/layers/{pub_id}": _op("一个公开图层 GeoJSON", api, [pub],
                                           _ok("GeoJSON", "application/geo+json"), ("404",)),
        "/tiles/projects.json": _op("项目瓦片 TileJSON", api, FILTERS, _ok("TileJSON 3.0.0")),
        "/tiles/projects/metadata.json": _op(
            "项目瓦片的 MBTiles 元数据（GDAL MVT 驱动）", api, [], _ok("metadata"), ("401",)),
        "/tiles/projects/{z}/{x}/{y}.mvt": _op(
            "项目矢量瓦片 project tiles", api, [*tile, *FILTERS],
            _ok("Mapbox 矢量瓦片", "application/vnd.mapbox-vector-tile")),
        "/tiles/public/{pub_id}.json": _op("公开图层 TileJSON", api, [pub], _ok("TileJSON"),
                                           ("404",)),
        "/healthz": _op("存活检查 liveness", "运维 operations", [], _ok("状态"), ()),
    }


def document(server: str) -> dict:
    """The OpenAPI 3.0 document, with ``server`` (the service's root URL) as its server."""
    return {
        "openapi": VERSION,
        "info": {"title": "住宅工程质量潜在缺陷保险风险地图 API · IDI Risk Map API",
                 "version": "1.0.0",
                 "description": "OGC API – Features（含 CRS、CQL2 过滤）与 Tiles，以及平台的 JSON "
                                "接口。所有数据按调用者的权限（行级安全）返回：登录会话或 "
                                "`Authorization: Bearer rmk_…` API 令牌；匿名只见公开图层。"},
        "servers": [{"url": server.rstrip("/") or "/"}],
        "components": {
            "securitySchemes": {
                "apiToken": {"type": "http", "scheme": "bearer",
                             "description": "riskmap users token add USER --name SYSTEM"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
            "schemas": {"Error": {"type": "object", "properties": {
                "error": {"type": "string"}}, "required": ["error"]}},
        },
        "security": [{}, {"apiToken": []}, {"session": []}],
        "paths": {**ogc_paths(), **json_api_paths()},
    }
