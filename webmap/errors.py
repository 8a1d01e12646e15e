"""Clear answers instead of stack traces: bad filters and an unreachable store."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import OperationalError

from geo.cluster import ClusterError
from layers.filters import FilterError


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/tiles/"))


def bad_filter(error: FilterError):
    if _wants_json():
        return jsonify(error=str(error)), 400
    return render_template("error.html", title="筛选条件有误", message=str(error)), 400


def store_unavailable(error: Exception):
    message = "数据库暂时不可用，请稍后再试或联系管理员。The database is not reachable."
    if _wants_json():
        return jsonify(error=message), 503
    return render_template("error.html", title="数据库不可用", message=message), 503


def init_app(app: Flask) -> None:
    app.register_error_handler(FilterError, bad_filter)
    app.register_error_handler(OperationalError, store_unavailable)
    app.register_error_handler(ClusterError, store_unavailable)
