"""The items of an OGC API Features collection, as GeoJSON features, read as the caller.

The query is SQLAlchemy Core over the collection's named SELECT: bbox, datetime, the CQL2
filter (pygeofilter's SQLAlchemy backend, over the collection's own columns only) and sortby
become bound expressions; the output CRS is a transform (and an axis flip where EPSG puts
northing first) inside PostGIS.
"""

from __future__ import annotations

import datetime as dt
import json

from geoalchemy2 import Geometry
from pygeofilter.backends.sqlalchemy import to_filter
from sqlalchemy import Boolean, Date, Float, Integer, String, column, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Subquery

from layers.ogc_collections import Collection
from layers.ogc_crs import STORE_SRID, Crs
from layers.ogc_query import ItemsQuery, QueryError
from layers.sql import read_sql

TYPES = {"string": String, "integer": Integer, "number": Float, "boolean": Boolean,
         "date": Date}


def source(collection: Collection) -> Subquery:
    """The collection's rows as a subquery with typed columns (``geom`` a geometry)."""
    # a named file of layers/sql/, or (districts) SQL the catalogue composed
    sql = read_sql(collection.sql) if collection.sql.endswith(".sql") else collection.sql
    columns = [column(p.name, TYPES[p.type]()) for p in collection.properties]
    columns.append(column("geom", Geometry(srid=STORE_SRID)))
    statement = text(sql)
    if collection.params:
        statement = statement.bindparams(**collection.params)
    return statement.columns(*columns).subquery("src")


def _bbox_condition(src: Subquery, query: ItemsQuery):
    west, south, east, north = query.bbox
    crs = query.bbox_crs
    if crs.northing_first:
        west, south, east, north = south, west, north, east
    envelope = func.ST_MakeEnvelope(west, south, east, north, crs.srid)
    if crs.srid != STORE_SRID:
        envelope = func.ST_Transform(envelope, STORE_SRID)
    return func.ST_Intersects(src.c.geom, envelope)


def _conditions(src: Subquery, collection: Collection, query: ItemsQuery) -> list:
    conditions = []
    if query.bbox:
        conditions.append(_bbox_condition(src, query))
    if query.datetime and collection.datetime:
        start, end = query.datetime
        when = src.c[collection.datetime]
        if start:
            conditions.append(when >= start)
        if end:
            conditions.append(when <= end)
    if query.filter is not None:
        fields = {name: src.c[name] for name in collection.names}
        fields["geometry"] = src.c.geom
        try:
            conditions.append(to_filter(query.filter, fields, undefined_as_null=False))
        except KeyError as error:
            raise QueryError(f"filter 中的属性 {str(error)[:40]} 不存在；可用："
                             f"{', '.join(collection.names)}, geometry。"
                             "Unknown property in the filter.") from None
        except Exception as error:  # an operator or function the backend does not know
            raise QueryError(f"filter 无法执行：{str(error)[:120]}。"
                             "The filter uses something not supported.") from None
    return conditions


def geometry_json(src: Subquery, crs: Crs):
    """ST_AsGeoJSON of the geometry in ``crs``, in that CRS's axis order."""
    geom = src.c.geom
    if crs.srid != STORE_SRID:
        geom = func.ST_Transform(geom, crs.srid)
    if crs.northing_first:
        geom = func.ST_FlipCoordinates(geom)
    return func.ST_AsGeoJSON(geom, crs.decimals)


def _plain(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def _feature(row, names: tuple[str, ...], id_column: str) -> dict:
    mapping = row._mapping
    return {"type": "Feature", "id": mapping["_fid"],
            "geometry": json.loads(mapping["_geometry"]) if mapping["_geometry"] else None,
            "properties": {name: _plain(mapping[name]) for name in names}}


def items(conn: Connection, collection: Collection, query: ItemsQuery) -> dict:
    """The page of features the query asks for, with numberMatched and numberReturned."""
    src = source(collection)
    conditions = _conditions(src, collection, query)
    names = query.properties if query.properties is not None else collection.names
    order = [src.c[name].desc().nulls_last() if desc else src.c[name].asc().nulls_last()
             for name, desc in query.sortby]
    order.append(src.c[collection.id_column])  # a stable order pages without gaps
    statement = (select(*(src.c[name] for name in names),
                        src.c[collection.id_column].label("_fid"),
                        geometry_json(src, query.crs).label("_geometry"))
                 .where(*conditions).order_by(*order).limit(query.limit).offset(query.offset))
    features = [_feature(row, names, collection.id_column) for row in conn.execute(statement)]
    matched = conn.execute(select(func.count()).select_from(src).where(*conditions)).scalar_one()
    return {"type": "FeatureCollection", "features": features,
            "numberMatched": matched, "numberReturned": len(features)}


def item(conn: Connection, collection: Collection, fid: str, crs: Crs) -> dict | None:
    """One feature by its id, or None when there is none the caller may see."""
    src = source(collection)
    key = src.c[collection.id_column]
    if collection.property(collection.id_column).type == "integer":
        if not fid.isdigit() or len(fid) > 9:
            return None
        value = int(fid)
    else:
        value = fid
    statement = select(*(src.c[name] for name in collection.names), key.label("_fid"),
                       geometry_json(src, crs).label("_geometry")).where(key == value)
    row = conn.execute(statement).first()
    return None if row is None else _feature(row, collection.names, collection.id_column)


def extent(conn: Connection, city: str) -> list[float] | None:
    """[west, south, east, north] of the city's districts (every collection lies in it)."""
    row = conn.execute(text(
        "SELECT ST_XMin(e) AS w, ST_YMin(e) AS s, ST_XMax(e) AS e, ST_YMax(e) AS n "
        "FROM (SELECT ST_Extent(boundary) AS e FROM district WHERE city_code = :city) x"),
        {"city": city}).one()
    return None if row.w is None else [row.w, row.s, row.e, row.n]
