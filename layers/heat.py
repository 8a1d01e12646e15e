"""Weighted points for the heat maps of risk events and of claims (Leaflet.heat order)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.filters import Filters
from layers.sql import read_sql

# kind -> the query after scope.sql; the period applies to when the event was found or the
# claim reported, since that is when the risk showed
KINDS = {"risk_events": "heat_risk_events.sql", "claims": "heat_claims.sql"}


def heat_points(conn: Connection, kind: str, filters: Filters) -> list[list[float]]:
    """``[lat, lon, weight]`` of each risk event (weight: severity 1/3/9) or claim (weight:
    amount paid, else claimed, over the largest) of the projects and policies in scope."""
    if kind not in KINDS:
        raise ValueError(f"unknown heat map {kind!r}: one of {', '.join(KINDS)}")
    sql = read_sql("scope.sql") + read_sql(KINDS[kind])
    rows = conn.execute(text(sql), filters.params())
    return [[float(lat), float(lon), float(weight)] for lat, lon, weight in rows]
