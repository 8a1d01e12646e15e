"""The query of an OGC API Features items request, read from its URL arguments: paging,
bbox (and bbox-crs), datetime, properties, sortby, crs and a CQL2 filter.

Everything is checked against the collection's own property list here, before any SQL is
made: an unknown name is a 400 that lists the known ones, never a column looked up by a
client's text. The CQL2 text or JSON is parsed by pygeofilter into its syntax tree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

import shapely
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

from layers import ogc_crs
from layers.ogc_collections import Collection

DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
FILTER_LANGS = ("cql2-text", "cql2-json")


class QueryError(ValueError):
    """A request the service cannot answer as asked (400), said in Chinese and English."""


@dataclass(frozen=True)
class ItemsQuery:
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: ogc_crs.Crs | None = None
    datetime: tuple[dt.date | None, dt.date | None] | None = None
    properties: tuple[str, ...] | None = None
    sortby: tuple[tuple[str, bool], ...] = ()  # (name, descending)
    crs: ogc_crs.Crs | None = None
    filter: ast.Node | None = None


def _int(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = args.get(name)
    if value in (None, ""):
        return default
    if not re.fullmatch(r"\d{1,9}", value):
        raise QueryError(f"{name} 须为整数。{name} must be a whole number.")
    number = int(value)
    if not low <= number <= high:
        raise QueryError(f"{name} 须在 {low} 到 {high} 之间。{name} must be {low}–{high}.")
    return number


def _bbox(value: str) -> tuple[float, float, float, float]:
    try:
        numbers = [float(v) for v in value.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) == 6:  # with heights: keep the horizontal corners
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or numbers[0] > numbers[2] or numbers[1] > numbers[3]:
        raise QueryError("bbox 须为 最小x,最小y,最大x,最大y 四个数。"
                         "bbox must be four numbers: minx,miny,maxx,maxy.")
    return numbers[0], numbers[1], numbers[2], numbers[3]


def _instant(text: str, end: bool) -> dt.date | None:
    if text in ("", ".."):
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise QueryError("datetime 须为 RFC 3339 日期或区间（2024-01-01/2024-12-31、"
                         "../2024-06-30）。datetime must be an RFC 3339 date or interval."
                         ) from None


def _datetime(value: str) -> tuple[dt.date | None, dt.date | None]:
    if "/" in value:
        start, _, end = value.partition("/")
        return _instant(start, False), _instant(end, True)
    day = _instant(value, False)
    return day, day


def _names(value: str, collection: Collection, what: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    for name in names:
        bare = name.lstrip("+-")
        if bare not in collection.names:
            raise QueryError(f"{what} 中的属性 {bare[:40]!r} 不存在；可用："
                             f"{', '.join(collection.names)}。"
                             f"Unknown property {bare[:40]!r} in {what}.")
    return names


def _filter(args: Mapping[str, str], zone: int) -> ast.Node | None:
    text = args.get("filter")
    if not text:
        return None
    lang = args.get("filter-lang") or "cql2-text"
    if lang not in FILTER_LANGS:
        raise QueryError(f"filter-lang 须为 {' 或 '.join(FILTER_LANGS)}。"
                         f"filter-lang must be one of {', '.join(FILTER_LANGS)}.")
    name = args.get("filter-crs")
    try:
        crs = ogc_crs.parse("" if name in ("OGC:CRS84", "[OGC:CRS84]") else name, zone)
    except ogc_crs.CrsError as error:
        raise QueryError(f"filter-crs：{error}") from None
    try:
        node = (parse_cql2_json(json.loads(text)) if lang == "cql2-json"
                else parse_cql2_text(text))
    except Exception as error:  # the parsers raise lark's and their own errors
        raise QueryError(f"无法解析 filter（{lang}）：{str(error)[:200]}。"
                         f"The {lang} filter cannot be parsed.") from None
    node = boxes_as_envelopes(node)
    return node if crs.uri == ogc_crs.CRS84 else in_store_crs(node, crs)


def boxes_as_envelopes(node):
    """The filter with every box as an envelope whose fields mean what the SQL backend reads:
    pygeofilter 0.4 parses CQL2-JSON's ``{"bbox": [minx, miny, maxx, maxy]}`` into
    Envelope(x1=minx, x2=miny, y1=maxx, y2=maxy) and CQL2 text's ``BBOX(…)`` into a function
    its SQL backend cannot run; both become Envelope(x1=minx, x2=maxx, y1=miny, y2=maxy).

    >>> boxes_as_envelopes(parse_cql2_text("S_INTERSECTS(geometry, BBOX(1, 2, 3, 4))")).rhs
    Envelope(x1=1, x2=3, y1=2, y2=4)
    >>> boxes_as_envelopes(parse_cql2_json({"op": "s_intersects", "args": [
    ...     {"property": "geometry"}, {"bbox": [1, 2, 3, 4]}]})).rhs
    Envelope(x1=1, x2=3, y1=2, y2=4)
    """
    def box(leaf):
        if isinstance(leaf, values.Envelope):  # only the JSON parser makes these
            return values.Envelope(leaf.x1, leaf.y1, leaf.x2, leaf.y2)
        if (isinstance(leaf, ast.Function) and leaf.name.lower() == "bbox"
                and len(leaf.arguments) == 4):
            minx, miny, maxx, maxy = leaf.arguments
            return values.Envelope(minx, maxx, miny, maxy)
        return None

    return _rebuilt(node, box)


def _rebuilt(node, change):
    """The syntax tree with each node that ``change`` gives a replacement for replaced (and
    not looked into); pygeofilter's nodes are dataclasses, lists hold arguments."""
    new = change(node)
    if new is not None:
        return new
    if isinstance(node, list):
        return [_rebuilt(item, change) for item in node]
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return dataclasses.replace(node, **{f.name: _rebuilt(getattr(node, f.name), change)
                                            for f in dataclasses.fields(node) if f.init})
    return node


def in_store_crs(node, crs: ogc_crs.Crs):
    """The filter with every geometry it names moved from ``crs`` (filter-crs) to the store's
    longitude, latitude; the rest of the tree as it was.

    >>> tree = parse_cql2_text("S_INTERSECTS(geometry, POINT(25.04 102.71)) AND stage = 'x'")
    >>> in_store_crs(tree, ogc_crs.parse("EPSG:4490", 4543)).lhs.rhs.geometry["coordinates"]
    (102.71, 25.04)
    """
    def moved(leaf):
        if isinstance(leaf, values.Geometry):
            return values.Geometry(ogc_crs.to_store(leaf.geometry, crs))
        if isinstance(leaf, values.Envelope):
            box = ogc_crs.to_store(shapely.geometry.mapping(shapely.box(
                leaf.x1, leaf.y1, leaf.x2, leaf.y2)), crs)
            return values.Envelope(*shapely.bounds(shapely.geometry.shape(box))[[0, 2, 1, 3]])
        return None

    return _rebuilt(node, moved)


def parse(args: Mapping[str, str], collection: Collection, zone: int) -> ItemsQuery:
    """The items query of URL arguments ``args`` against ``collection``.

    >>> from layers.ogc_collections import PROJECTS
    >>> q = parse({"limit": "5", "sortby": "-name", "properties": "name,stage"}, PROJECTS, 4543)
    >>> q.limit, q.sortby, q.properties
    (5, (('name', True),), ('name', 'stage'))
    >>> parse({"sortby": "password"}, PROJECTS, 4543)
    Traceback (most recent call last):
    ...
    layers.ogc_query.QueryError: sortby 中的属性 'password' 不存在；可用：...
    """
    try:
        crs = ogc_crs.parse(args.get("crs"), zone)
        bbox_crs = ogc_crs.parse(args.get("bbox-crs"), zone)
    except ogc_crs.CrsError as error:
        raise QueryError(str(error)) from None
    properties = None
    if args.get("properties") is not None:
        properties = tuple(_names(args["properties"], collection, "properties"))
    sortby = tuple((name.lstrip("+-"), name.startswith("-"))
                   for name in _names(args.get("sortby") or "", collection, "sortby"))
    return ItemsQuery(
        limit=_int(args, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=_int(args, "offset", 0, 0, 10**9),
        bbox=_bbox(args["bbox"]) if args.get("bbox") else None, bbox_crs=bbox_crs,
        datetime=_datetime(args["datetime"]) if args.get("datetime") else None,
        properties=properties, sortby=sortby, crs=crs, filter=_filter(args, zone))
