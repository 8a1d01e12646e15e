"""HTML pages. Handlers parse the request, ask `layers` for data and render."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from geo import store
from layers.overview import city_totals, district_overview
from webmap.db import get_engine

bp = Blueprint("pages", __name__)


@bp.app_template_filter("wan")
def wan_yuan(value) -> str:
    """Money in 万元 with two decimals, as Chinese reports give it."""
    return f"{float(value) / 10_000:,.2f}"


@bp.get("/")
def index():
    city = current_app.config["CITY"]
    with get_engine().connect() as conn:
        rows = district_overview(conn, city)
        if not rows:  # the configured city is not loaded: show whatever districts there are
            rows = district_overview(conn, None)
        version = store.data_version(conn)
    return render_template("index.html", rows=rows, totals=city_totals(rows),
                           city_name=rows[0].city_name if rows else "", data_version=version)


@bp.get("/healthz")
def healthz():
    with get_engine().connect() as conn:
        return {"status": "ok", "data_version": store.data_version(conn)}
