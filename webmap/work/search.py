"""Search (搜索): projects by name, community, developer, insurer, TIS or contractor, as JSON
for the map's search box (`/api/search`) and as a page with a table and a small map
(`/search`). Handlers parse the request, ask `layers.search`, render; the connection's row
security keeps a tenant's search to its own projects."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask_login import login_required

from layers import search as finder
from layers.filters import FilterError
from layers.overview import map_context
from webmap.caching import with_etag
from webmap.errors import signed_in_only
from webmap.scope import connection, current_city, current_tenant, request_filters

bp = Blueprint("search", __name__)


@bp.get("/api/search")
def api_search():
    """``{"query", "results": [...]}``, best match first; a bad ``q`` or filter is a 400."""
    refused = signed_in_only()
    if refused is not None:
        return refused
    query = finder.search_text(request.args.get("q"))
    limit = finder.search_limit(request.args.get("limit"))
    filters = request_filters()

    def build():
        with connection() as conn:
            results = finder.search(conn, query, filters, limit)
        return jsonify(query=query, limit=limit, results=results)
    return with_etag(build)


@bp.get("/search")
@login_required
def search_page():
    """The search form; with ``q``, the results as a table and on a map."""
    asked = "q" in request.args
    results, error, status = [], "", 200
    with connection() as conn:
        choices = map_context(conn, current_city(), current_tenant())
        if asked:
            try:
                results = finder.search(conn, request.args.get("q", ""), request_filters())
            except FilterError as exc:  # shown above the form, which keeps what was typed
                error, status = str(exc), 400
    return render_template("search.html", q=request.args.get("q", ""), asked=asked,
                           results=results, error=error, limit=finder.DEFAULT_LIMIT,
                           choices=choices, district=request.args.get("district", ""),
                           stage=request.args.get("stage", "")), status
