"""Heat maps of risk events and of claims as density: weights summed in grid cells at the
view's resolution (Leaflet.heat order, ``[lat, lon, weight, count]``).

Leaflet.heat sums the points it is given into cells of half its radius on screen anyway, so
cells a few pixels wide at the view's zoom draw the same picture as every event sent one by
one, in bytes bounded by the view rather than by the programme: at most MAX_CELLS cells (a
view that would hold more is drawn with coarser cells).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.filters import FilterError, Filters, shown
from layers.sql import boxed_scope, read_sql

# kind -> the query after scope.sql; the period applies to when the event was found or the
# claim reported, since that is when the risk showed
# and how a cell weighs: risk events by their severities summed, claims by their amounts
# scaled so that the heaviest cell is 1 (a cell of claims without amounts weighs 0)
KINDS = {"risk_events": ("heat_risk_events.sql", "weight"),
         "claims": ("heat_claims.sql", "COALESCE(weight / NULLIF(max(weight) OVER (), 0), 0)")}
CELL_PX = 8  # a cell on screen: under half of the map's heat radius (18 px)
DEFAULT_ZOOM = 11  # the city on one screen
MIN_ZOOM, MAX_ZOOM = 0, 22
MAX_CELLS = 8000  # ~30 bytes each in JSON: at most ~240 KB whatever the programme's size
BOXED_ZOOM = 12  # from here on a view holds a small part of the city


@dataclass(frozen=True)
class HeatView:
    """The map view the heat is drawn for: its zoom and, optionally, its bounding box."""

    zoom: int = DEFAULT_ZOOM
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north

    def cell_degrees(self) -> float:
        """CELL_PX pixels at the zoom, in degrees of longitude (Web Mercator: 256 px tiles)."""
        return 360.0 / (256 * 2**self.zoom) * CELL_PX

    def params(self) -> dict:
        west, south, east, north = self.bbox or (None,) * 4
        return {"west": west, "south": south, "east": east, "north": north}

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> HeatView:
        """``?z=11&bbox=west,south,east,north`` (both optional)."""
        zoom = DEFAULT_ZOOM
        if args.get("z"):
            try:
                zoom = int(args["z"])
            except ValueError:
                zoom = -1
            if not MIN_ZOOM <= zoom <= MAX_ZOOM:
                raise FilterError(f"z={shown(args['z'])}: 缩放级别应为 {MIN_ZOOM}–{MAX_ZOOM} "
                                  f"的整数 / a zoom {MIN_ZOOM}–{MAX_ZOOM}")
        return cls(zoom, _bbox(args["bbox"]) if args.get("bbox") else None)


def _bbox(value: str) -> tuple[float, float, float, float]:
    try:
        west, south, east, north = (float(v) for v in value.split(","))
    except ValueError:
        west = math.nan
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):  # NaN fails too
        raise FilterError(f"bbox={shown(value)}: 应为 西,南,东,北 经纬度 / "
                          "west,south,east,north in degrees")
    return west, south, east, north


def heat_points(conn: Connection, kind: str, filters: Filters,
                view: HeatView | None = None) -> list[list[float]]:
    """``[lat, lon, weight, count]`` of each grid cell of the view holding risk events (weight:
    their severities 1/3/9 summed) or claims (weight: amounts paid, else claimed, summed and
    scaled so that the heaviest cell is 1) of the projects and policies in scope; lat/lon is
    the mean place of the cell's events, count how many it holds."""
    if kind not in KINDS:
        raise ValueError(f"unknown heat map {kind!r}: one of {', '.join(KINDS)}")
    view = view or HeatView()
    # a close view's box narrows the scope itself: only the policies of the projects inside
    # it (a view of much of the city reads the whole scope, as cheap there)
    boxed = view.bbox is not None and view.zoom >= BOXED_ZOOM
    points, weight = KINDS[kind]  # the code's own text, never the user's
    final = ("SELECT round(CAST(lat AS numeric), 5) AS lat, round(CAST(lon AS numeric), 5) "  # noqa: S608
             f"AS lon, CAST({weight} AS float8) AS weight, events "
             "FROM heat_cell ORDER BY 1, 2 LIMIT :limit")
    sql = text((boxed_scope() if boxed else read_sql("scope.sql")) + read_sql(points)
               + read_sql("heat_cells.sql") + final)
    cell = view.cell_degrees()
    while True:  # heat_cells.sql widens the cells; this only when 2^30 times did not do
        rows = conn.execute(sql, {**filters.params(), **view.params(), "cell": cell,
                                  "max_cells": MAX_CELLS, "limit": MAX_CELLS + 1}).all()
        if len(rows) <= MAX_CELLS:
            return [[float(lat), float(lon), float(weight), int(count)]
                    for lat, lon, weight, count in rows]
        cell *= 2  # too many cells for the bytes: the same view, coarser
