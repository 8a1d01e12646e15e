"""OGC API – Tiles: tiling schemes, the tilesets of the project points and their vector
tiles (read as the caller), and an MBTiles-style metadata.json for GDAL's MVT driver."""

from __future__ import annotations

import json

from flask import Response

from layers import ogc_crs, ogc_tiles, tiles
from webmap.errors import json_error
from webmap.ogc import bp
from webmap.ogc.features import _find, city_frame
from webmap.ogc.negotiate import JSON, answer, bad_format, link, self_links, url
from webmap.scope import connection

MVT = "application/vnd.mapbox-vector-tile"
TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
ATTRIBUTION = tiles.ATTRIBUTION


def _matrix_set(tms_id: str) -> ogc_tiles.MatrixSet | Response:
    found = ogc_tiles.MATRIX_SETS.get(tms_id)
    if found is None:
        return json_error(f"没有瓦片矩阵集 {tms_id[:40]!r}；可用："
                          f"{', '.join(ogc_tiles.MATRIX_SETS)}。"
                          "No such tile matrix set.", 404)
    return found


@bp.get("/tileMatrixSets")
def tile_matrix_sets():
    sets = [{"id": s.id, "title": s.title, **({"uri": s.uri} if s.uri else {}),
             "crs": f"http://www.opengis.net/def/crs/EPSG/0/{s.srid}",
             "links": [link(url("ogc.tile_matrix_set", tms_id=s.id), "self", JSON, s.title)]}
            for s in ogc_tiles.MATRIX_SETS.values()]
    return bad_format() or answer({"tileMatrixSets": sets,
                                   "links": self_links("ogc.tile_matrix_sets")},
                                  {"heading": "瓦片矩阵集 Tile matrix sets"})


@bp.get("/tileMatrixSets/<tms_id>")
def tile_matrix_set(tms_id: str):
    found = bad_format() or _matrix_set(tms_id)
    if isinstance(found, Response):
        return found
    return answer(found.definition(), {"heading": found.title})


def _tiled(collection_id: str):
    found = _find(collection_id)
    if isinstance(found, Response):
        return found
    if not found.tiles:
        return json_error(f"数据集 {collection_id} 没有瓦片。The collection has no tiles.", 404)
    return found


def _tile_layers(collection, tms: ogc_tiles.MatrixSet) -> list[dict]:
    """The layers a tile of ``collection`` may hold: the projects' tiles hold counts on a grid
    instead of points further out and where they are too dense (layers/ogc_tiles.py)."""
    first = tms.point_zoom() if collection.id == ogc_tiles.LAYER else 0
    layers = [{"id": collection.id, "title": collection.title, "dataType": "vector",
               "geometryType": "polygons" if "Polygon" in collection.geometry_type
               else "points", "minTileMatrix": str(first), "maxTileMatrix": str(ogc_tiles.MAX_ZOOM),
               "propertiesSchema": ogc_tiles.properties_schema(collection)}]
    if collection.id == ogc_tiles.LAYER:
        layers.append({
            "id": ogc_tiles.CLUSTER_LAYER, "dataType": "vector", "geometryType": "points",
            "title": f"项目聚合（第 {first} 级以下，或瓦片内项目多于 {tiles.MAX_TILE_POINTS} 个时）"
                     f"projects counted on a grid below tile matrix {first}, and where a tile "
                     "is too dense for points",
            "minTileMatrix": "0", "maxTileMatrix": str(ogc_tiles.MAX_ZOOM),
            "propertiesSchema": ogc_tiles.properties_schema(fields=ogc_tiles.CLUSTER_FIELDS)})
    return layers


def _tileset(collection, tms: ogc_tiles.MatrixSet) -> dict:
    bounds = city_frame()[0] or [-180, -90, 180, 90]
    template = url("ogc.tile", collection_id=collection.id, tms_id=tms.id, z=0, row=0, col=0)
    template = template.removesuffix("/0/0/0") + "/{tileMatrix}/{tileRow}/{tileCol}"
    return {
        "title": f"{collection.title}（{tms.id}）", "dataType": "vector",
        "crs": f"http://www.opengis.net/def/crs/EPSG/0/{tms.srid}",
        **({"tileMatrixSetURI": tms.uri} if tms.uri else {}),
        "links": [
            link(url("ogc.tileset", collection_id=collection.id, tms_id=tms.id), "self", JSON,
                 "瓦片集 This tileset"),
            link(url("ogc.tile_matrix_set", tms_id=tms.id), TILING_SCHEME, JSON, tms.title),
            link(template, "item", MVT, "矢量瓦片 Mapbox vector tiles", templated=True),
        ],
        "layers": _tile_layers(collection, tms),
        "boundingBox": {"lowerLeft": bounds[:2], "upperRight": bounds[2:],
                        "crs": ogc_crs.CRS84},
        "attribution": ATTRIBUTION,
    }


@bp.get("/collections/<collection_id>/tiles")
def tilesets(collection_id: str):
    found = bad_format() or _tiled(collection_id)
    if isinstance(found, Response):
        return found
    listed = []
    for tms in ogc_tiles.MATRIX_SETS.values():
        tileset = _tileset(found, tms)
        listed.append({key: tileset[key] for key in
                       ("title", "dataType", "crs", "tileMatrixSetURI", "links") if key in tileset})
    return answer({"tilesets": listed, "links": self_links("ogc.tilesets",
                                                           collection_id=collection_id)},
                  {"heading": f"{found.title} 瓦片集"})


@bp.get("/collections/<collection_id>/tiles/<tms_id>")
def tileset(collection_id: str, tms_id: str):
    found = bad_format() or _tiled(collection_id)
    tms = found if isinstance(found, Response) else _matrix_set(tms_id)
    if isinstance(tms, Response):
        return tms
    return answer(_tileset(found, tms), {"heading": f"{found.title} · {tms.id}"})


@bp.get("/collections/<collection_id>/tiles/<tms_id>/<int(signed=True):z>/"
        "<int(signed=True):row>/<int(signed=True):col>")
def tile(collection_id: str, tms_id: str, z: int, row: int, col: int):
    found = _tiled(collection_id)
    tms = found if isinstance(found, Response) else _matrix_set(tms_id)
    if isinstance(tms, Response):
        return tms
    if not tms.is_tile(z, row, col):
        return json_error(f"没有瓦片 {z}/{row}/{col}。No tile {z}/{row}/{col} in {tms.id}.", 404)
    with connection() as conn:
        body = (ogc_tiles.project_tile(conn, tms, z, row, col) if found.id == ogc_tiles.LAYER
                else ogc_tiles.cell_tile(conn, tms, z, row, col, found))
    response = Response(body, mimetype=MVT)
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.update(("Cookie", "Authorization"))
    return response


@bp.get("/tiles/projects/metadata.json")
def mvt_metadata():
    """The project tiles (/tiles/projects/{z}/{x}/{y}.mvt) described as an MBTiles metadata
    table, which GDAL's MVT driver reads beside a tile folder or URL."""
    found = _tiled("projects")
    if isinstance(found, Response):
        return found
    bounds = city_frame()[0] or [-180, -85, 180, 85]
    layers = [{"id": layer, "description": what, "minzoom": low, "maxzoom": high,
               "fields": {name: kind.split(":")[0] for name, kind, _ in fields}}
              for layer, what, low, high, fields in tiles.VECTOR_LAYERS]
    doc = {"name": "IDI projects", "format": "pbf", "minzoom": "0",
           "maxzoom": str(tiles.TILEJSON_MAXZOOM), "bounds": ",".join(map(str, bounds)),
           "center": f"{(bounds[0] + bounds[2]) / 2},{(bounds[1] + bounds[3]) / 2},10",
           "attribution": ATTRIBUTION, "json": json.dumps({"vector_layers": layers})}
    response = Response(json.dumps(doc, ensure_ascii=False), mimetype=JSON)
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.update(("Cookie", "Authorization"))
    return response
