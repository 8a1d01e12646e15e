"""The offline outline basemap: the store's own boundaries, drawn when no tile server is
configured or reachable (an intranet without internet still gets a readable map)."""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.sql import read_sql

# ~100 m: outlines under a city's choropleth need less detail than the choropleth itself
OUTLINE_SIMPLIFY_DEGREES = 0.001
LEVEL_ZH = {"province": "省界", "city": "市界", "district": "区县界"}


def city_loaded(conn: Connection, city: str) -> bool:
    """Whether the store holds districts of ``city``."""
    return conn.execute(text("SELECT EXISTS (SELECT 1 FROM district WHERE city_code = :c)"),
                        {"c": city}).scalar_one()


def outline(conn: Connection, city: str) -> dict:
    """GeoJSON of the city's province, the province's loaded cities and the city's districts;
    each feature carries ``level``, ``code``, ``name`` and ``label`` ([lat, lon] inside it).

    >>> LEVEL_ZH["district"]
    '区县界'
    """
    rows = conn.execute(text(read_sql("basemap_outline.sql")),
                        {"city": city, "tolerance": OUTLINE_SIMPLIFY_DEGREES}).all()
    features = [{
        "type": "Feature", "geometry": json.loads(r.geometry),
        "properties": {"level": r.level, "code": r.code, "name": r.name,
                       "label": [round(r.label_lat, 5), round(r.label_lon, 5)]},
    } for r in rows]
    return {"type": "FeatureCollection", "city": city, "features": features}
