"""District layers: each district's metric, class and colour, and a district's summary."""

from __future__ import annotations

import json
import re
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers import catalogue, classify
from layers.filters import Filters, whole_programme
from layers.sql import area_scope, read_sql

# Boundaries are simplified to ~50 m for the map: plenty at city scale, far fewer bytes. The
# district layers read them simplified so when stored (district.outline_geojson, migration 0012).
SIMPLIFY_DEGREES = 0.0005


# the parts of sql/district_metrics.sql and the base columns each gives
PARTS = {
    "written_project": ("projects", "insured_area_m2", "construction_cost_yuan"),
    "written": ("premium_yuan", "sum_insured_yuan", "rated_cost_yuan", "rated_area_m2"),
    "exposure": ("floor_area_m2", "units"),
    "risk": ("risk_events", "severe_risk_events", "open_risk_events", "closed_risk_events"),
    "claims": ("claims", "paid_yuan", "deadline_breaches"),
    "earned": ("earned_premium_yuan",),
    "graded": ("graded_projects", "graded_c_or_d"),
    "complaints": ("complaints",),
}


def parts_of(layer: catalogue.Layer) -> frozenset[str]:
    """The parts of the district aggregate a layer's expression reads: a layer costs what it
    shows, not the whole programme's every figure.

    >>> sorted(parts_of(catalogue.get("loss_ratio")))
    ['claims', 'earned']
    >>> sorted(parts_of(catalogue.get("premium_total")))
    ['written']
    """
    words = set(re.findall(r"[a-z_0-9]+", layer.metric_sql))
    return frozenset(part for part, columns in PARTS.items() if words & set(columns))


# the parts district_day holds (geo/sql/0010_map_project.sql), for the whole programme
DAILY_PARTS = frozenset({"written", "risk"})
# what district_day can be filtered by: per district and day
DAY_KEYS = frozenset({"district", "period"})


def _layer_columns(parts: frozenset[str] | None) -> str:
    """The catalogue's expressions of the layers ``parts`` make (all for None)."""
    layers = [layer for layer in catalogue.DISTRICT_LAYERS
              if parts is None or parts_of(layer) <= parts]
    return ", ".join(f"({layer.metric_sql}) AS {layer.id}" for layer in layers)


def _base_sql(parts: frozenset[str] | None, daily: bool) -> str:
    """The CTEs up to ``district_base``: from district_day, or through the scope with the
    parts not asked for turned off."""
    if daily:
        return read_sql("district_days.sql")
    metrics = read_sql("district_metrics.sql")
    for part in PARTS.keys() - (parts if parts is not None else PARTS.keys()):
        metrics = metrics.replace(f"/*need:{part}*/", "AND false")  # the code's own words
    return area_scope() + metrics


def _metrics_sql(with_geometry: bool, parts: frozenset[str] | None = None,
                 daily: bool = False) -> str:
    # simplified by SIMPLIFY_DEGREES when the boundary was stored (migration 0012)
    geometry = ", d.outline_geojson AS geometry" if with_geometry else ""
    # the expressions are the catalogue's own text; values stay bound parameters
    select = f"SELECT b.*, {_layer_columns(parts)}{geometry} FROM district_base b "  # noqa: S608
    return _base_sql(parts, daily) + select + "JOIN district d ON d.code = b.code ORDER BY b.code"


def _plain(value):
    return float(value) if isinstance(value, Decimal) else value


def plain_row(row) -> dict:
    """A result row as a dict of JSON-ready values (numerics as floats)."""
    return {key: _plain(value) for key, value in row._mapping.items()}


def metrics_query(conn: Connection, city: str, filters: Filters, with_geometry: bool = False,
                  parts: frozenset[str] | None = None) -> tuple[str, dict]:
    """The SQL and parameters of district_metrics for the connection's tenant (bench/ explains
    it): summed from district_day where that answers, else aggregated through the scope."""
    daily = parts is not None and parts <= DAILY_PARTS and whole_programme(conn, filters, DAY_KEYS)
    needs = {f"need_{part}": part in (parts or ()) for part in DAILY_PARTS}
    return _metrics_sql(with_geometry, parts, daily), {**filters.params(), "city": city, **needs}


# a level above the district: its code and name columns of the district table
ROLLUP_LEVELS = {"city": ("d.city_code", "d.city_name"),
                 "province": ("d.province_code", "d.province_name")}


def rollup_query(conn: Connection, area: str, level: str, filters: Filters,
                 parts: frozenset[str] | None = None) -> tuple[str, dict]:
    """The SQL and parameters of rollup_metrics (bench/ explains it)."""
    key, name = ROLLUP_LEVELS[level]
    base_sql, params = metrics_query(conn, area, filters, parts=parts)
    daily = "riskmap_district_days" in base_sql
    sums = ", ".join(f"sum(b.{c}) AS {c}" for c in BASE_COLUMNS)
    # the level's columns and the catalogue's expressions: the code's own text
    rolled = (f", rolled AS (SELECT {key} AS code, min({name}) AS name, {sums} "  # noqa: S608
              "FROM district_base b JOIN district d ON d.code = b.code GROUP BY 1) "
              f"SELECT b.*, {_layer_columns(parts)} FROM rolled b ORDER BY b.code")
    return _base_sql(parts, daily) + rolled, params


def rollup_metrics(conn: Connection, area: str, level: str, filters: Filters,
                   parts: frozenset[str] | None = None) -> list[dict]:
    """Each city (``level`` "city") or province ("province") of ``area`` — a province's or
    the nation's code — with its base sums and every layer's value over them: the district
    metrics rolled up one level in one query (from district_day where that answers), so a
    city's ratio is its total premium ÷ its total area, as for a district."""
    return _coded_rows(conn, *rollup_query(conn, area, level, filters, parts))


def _coded_rows(conn: Connection, sql: str, params: dict) -> list[dict]:
    """The rows as JSON-ready dicts, their codes without char(6)'s padding."""
    out = []
    for row in conn.execute(text(sql), params):
        item = plain_row(row)
        item["code"] = item["code"].strip()
        out.append(item)
    return out


def rollup_layer(conn: Connection, layer_id: str, area: str, level: str,
                 filters: Filters) -> dict:
    """One layer over the cities (or provinces) of ``area``: each one's value, text, class
    and colour, classed as a district layer is, with its legend."""
    layer = catalogue.get(layer_id)
    rows = rollup_metrics(conn, area, level, filters, parts_of(layer))
    values = [row[layer.id] for row in rows]
    breaks = classify.class_breaks(layer, values)
    legend = classify.legend(layer, breaks)
    shown = [{"code": row["code"], "name": row["name"], **_shown(layer, value, breaks, legend)}
             for row, value in zip(rows, values, strict=True)]
    return {"layer": layer.as_json(), "legend": legend, "area": area, "level": level,
            "filters": filters.query(), "rows": shown}


def rollup_outlines(conn: Connection, shown: dict) -> dict:
    """A rolled-up layer (`rollup_layer`) as GeoJSON for its map: each city's or province's
    outline (`area_outline`) with the row the table shows; an area without an outline stays
    in the table only."""
    rows = shown["rows"]
    outlines = {r.code: r for r in conn.execute(text(
        "SELECT code, outline_geojson, ST_Y(label) AS lat, ST_X(label) AS lon "
        "FROM area_outline WHERE code = ANY(:codes)"),
        {"codes": [row["code"] for row in rows]})}
    features = []
    for row in rows:
        outline = outlines.get(row["code"])
        if outline is not None:
            features.append({"type": "Feature", "id": row["code"],
                             "properties": {**row, "label": [round(outline.lat, 4),
                                                             round(outline.lon, 4)]},
                             "geometry": json.loads(outline.outline_geojson)})
    return {"type": "FeatureCollection", "level": shown["level"], "features": features}


def district_metrics(conn: Connection, city: str, filters: Filters,
                     with_geometry: bool = False,
                     parts: frozenset[str] | None = None) -> list[dict]:
    """Every district of the city with its base aggregates and every district layer's value;
    with ``parts``, only those parts' columns (the others 0) and the layers they make."""
    return _coded_rows(conn, *metrics_query(conn, city, filters, with_geometry, parts))


def district_feature(layer: catalogue.Layer, code: str, name: str, value, geometry: str,
                     breaks, legend: dict) -> dict:
    """One district as a GeoJSON feature of ``layer``: its value, text, class and colour."""
    return {"type": "Feature", "id": code, "geometry": json.loads(geometry),
            "properties": {"code": code, "name": name,
                           **_shown(layer, value, breaks, legend)}}


def _shown(layer: catalogue.Layer, value, breaks, legend: dict) -> dict:
    """A value as a layer shows it: itself, its text, its class and its colour."""
    klass = classify.class_of(value, breaks)
    return {"value": value,
            "value_text": "无数据" if value is None else f"{value:,.{layer.decimals}f}",
            "class": klass,
            "colour": catalogue.NO_DATA_COLOUR if klass is None else legend["colours"][klass]}


def district_layer(conn: Connection, layer_id: str, city: str, filters: Filters) -> dict:
    """A GeoJSON FeatureCollection of the city's districts for one layer, with its legend."""
    layer = catalogue.get(layer_id)
    if layer.kind != "district":
        raise KeyError(f"layer {layer_id!r} is not a district layer")
    rows = district_metrics(conn, city, filters, with_geometry=True, parts=parts_of(layer))
    values = [row[layer.id] for row in rows]
    breaks = classify.class_breaks(layer, values)
    legend = classify.legend(layer, breaks)
    features = [district_feature(layer, row["code"], row["name"], value, row["geometry"],
                                 breaks, legend) for row, value in zip(rows, values, strict=True)]
    return {"type": "FeatureCollection", "layer": layer.as_json(), "legend": legend,
            "filters": filters.query(), "features": features}


BASE_COLUMNS = (
    "projects", "insured_area_m2", "construction_cost_yuan", "premium_yuan", "sum_insured_yuan",
    "rated_cost_yuan", "rated_area_m2",
    "floor_area_m2", "units", "risk_events", "severe_risk_events", "open_risk_events",
    "closed_risk_events", "claims", "paid_yuan", "deadline_breaches", "earned_premium_yuan",
    "graded_projects", "graded_c_or_d", "complaints",
)


def city_values(conn: Connection, city: str, filters: Filters,
                rows: list[dict] | None = None) -> dict:
    """The whole city's base totals and each layer's value over them (a city ratio, not a
    mean of district ratios: total premium ÷ total area, as a regulator reads it).

    ``rows``: the city's full district_metrics for the same filters, when the caller has
    them. The totals are their sums, so the programme is not aggregated a second time (at
    200,000 projects that was 5.7 s of a district report)."""
    rows = district_metrics(conn, city, filters) if rows is None else rows
    # summed as decimals, as SQL's sum() over the districts would
    totals = {c: sum(Decimal(repr(r[c])) for r in rows) if rows else None
              for c in BASE_COLUMNS}
    columns = ", ".join(f"CAST(:{c} AS numeric) AS {c}" for c in BASE_COLUMNS)
    metrics = ", ".join(f"({layer.metric_sql}) AS {layer.id}"
                        for layer in catalogue.DISTRICT_LAYERS)
    select = f"SELECT b.*, {metrics} FROM (SELECT {columns}) b"  # noqa: S608
    row = conn.execute(text(select), totals).one()
    return {key: _plain(value) for key, value in row._mapping.items()}


def district_summary(conn: Connection, code: str, city: str, filters: Filters) -> dict | None:
    """Key numbers of one district beside the whole city's, and its riskiest projects."""
    rows = district_metrics(conn, city, filters)
    mine = next((r for r in rows if r["code"] == code), None)
    if mine is None:
        return None
    whole = city_values(conn, city, filters, rows)
    indicators = [{
        "id": layer.id, "title": layer.title_zh, "unit": layer.unit, "group": layer.group,
        "value": mine[layer.id], "city": whole[layer.id], "decimals": layer.decimals,
        "indicator": layer.indicator, "description": layer.description,
    } for layer in catalogue.DISTRICT_LAYERS]
    top = conn.execute(text(read_sql("scope.sql") + read_sql("district_top_projects.sql")),
                       {**filters.params(), "code": code, "limit": 10})
    return {"code": code, "name": mine["name"], "indicators": indicators,
            "top_projects": [plain_row(r) for r in top],
            "filters": filters.query()}
