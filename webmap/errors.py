"""Clear answers instead of stack traces: bad filters, refused requests, an unreachable store."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from geo.audit import AuditQueryError
from geo.cluster import ClusterError
from layers.filters import FilterError

TITLES = {400: "请求有误", 401: "请先登录", 403: "无权访问", 404: "未找到", 405: "不支持的操作",
          413: "文件过大", 429: "尝试过于频繁"}


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/tiles/"))


def _answer(status: int, title: str, message: str):
    if _wants_json():
        return jsonify(error=message), status
    return render_template("error.html", title=title, message=message), status


def bad_filter(error: Exception):
    return _answer(400, "筛选条件有误", str(error))


def bad_form(error: CSRFError):
    return _answer(400, "表单已过期", "表单已过期或缺少安全令牌，请刷新页面后重试。"
                   f"({error.description})")


def http_error(error: HTTPException):
    status = error.code or 500
    if status >= 500:
        return error
    return _answer(status, TITLES.get(status, "请求有误"), error.description or "")


def store_unavailable(error: Exception):
    return _answer(503, "数据库不可用",
                   "数据库暂时不可用，请稍后再试或联系管理员。The database is not reachable.")


def init_app(app: Flask) -> None:
    app.register_error_handler(FilterError, bad_filter)
    app.register_error_handler(AuditQueryError, bad_filter)
    app.register_error_handler(CSRFError, bad_form)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(OperationalError, store_unavailable)
    app.register_error_handler(ClusterError, store_unavailable)
