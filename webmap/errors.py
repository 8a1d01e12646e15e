"""Clear answers instead of stack traces: bad filters, refused requests, an unreachable store."""

from __future__ import annotations

import json
import re

import psycopg2
import redis
from flask import Flask, Response, g, render_template, request
from flask_login import AnonymousUserMixin, current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from geo.audit import AuditQueryError
from geo.cluster import ClusterError
from geo.lifecycle import LifecycleError
from layers.exposure import ExposureError
from layers.filters import FilterError
from webmap.reports.jobs import ReportFolderError
from webmap.scope import AreaRefused, CityRefused

TITLES = {400: "请求有误", 401: "请先登录", 403: "无权访问", 404: "未找到", 405: "不支持的操作",
          413: "文件过大", 429: "尝试过于频繁", 500: "服务器内部错误", 502: "服务暂时不可用",
          503: "服务暂时不可用"}
# what a page says when the code gave no message of its own (Werkzeug's are English)
MESSAGES = {
    400: "请求有误，请检查后重试。", 401: "请先登录。",
    403: "你没有访问此页面的权限。如需访问，请联系管理员。",
    404: "找不到该页面或记录，请检查链接是否正确。", 405: "不支持此操作。",
    413: "上传的文件超过大小限制。", 500: "服务器内部错误，已记录，请稍后再试或联系管理员。",
    503: "服务暂时不可用，请稍后再试。",
}
_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# where the English for API clients starts: after "。" or " — ", a Latin word
_ENGLISH_TAIL = re.compile(r"(。| — )\s*(?=[A-Za-z]{1,40}[\s=:'_.,]|[A-Za-z]+$)")


def chinese_part(message: str) -> str:
    """What a page shows of a message written "中文。English": the Chinese, without the English
    that follows it for API clients and logs (a message with no Chinese stays whole).

    >>> chinese_part("请输入搜索内容。q: enter a name to search for")
    '请输入搜索内容。'
    >>> chinese_part("「规划」账户无权上传数据 — a planner account may not upload data.")
    '「规划」账户无权上传数据'
    >>> chinese_part("期间 '2024年' 有误：应为年份（2024）。period='2024年': use a year")
    "期间 '2024年' 有误：应为年份（2024）。"
    """
    tail = _ENGLISH_TAIL.search(message) if _CJK.search(message) else None
    if tail is None:
        return message
    return message[:tail.start()].rstrip(" —") + ("。" if tail[1] == "。" else "")


def _wants_json() -> bool:
    # a report is started by a script and polled by it: it reads JSON, whatever went wrong
    report_job = request.path.startswith("/reports/") and (
        request.method == "POST" or request.path.startswith("/reports/jobs/"))
    ogc = request.path.startswith(("/collections", "/conformance", "/tileMatrixSets"))
    return report_job or ogc or request.path.startswith(("/api/", "/tiles/"))


def json_error(message: str, status: int) -> Response:
    """``{"error": message}`` with <, > and & written as \\u escapes: the JSON reads the same,
    but markup a request sent never comes back raw in the body, whatever shows it."""
    body = json.dumps({"error": message}, ensure_ascii=False)
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        body = body.replace(char, escaped)
    return Response(body + "\n", status, mimetype="application/json")


def not_found(message: str) -> Response:
    return json_error(message, 404)


def signed_in_only():
    """Refuse the public (401): for blueprints whose every answer is a tenant's data (the
    public's own lives under /api/public/)."""
    if not current_user.is_authenticated:
        return json_error("请先登录。Sign in first (or send an API token).", 401)
    return None


def _answer(status: int, title: str, message: str):
    if _wants_json():
        return json_error(message, status)
    return render_template("error.html", title=title, message=chinese_part(message)), status


def refuse_nul():
    """A NUL character cannot be stored in or compared with PostgreSQL text: refuse it up
    front with a clear 400, before a query fails on it."""
    values = [request.path]
    sources = [request.args]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(request.form)
    for source in sources:
        for key, items in source.lists():
            values += [key, *items]
    if any("\x00" in value for value in values):
        return _answer(400, "请求有误", "请求中含有空字符（NUL），无法处理。"
                       "The request contains a NUL character (\\x00).")
    return None


def bad_filter(error: Exception):
    return _answer(400, "筛选条件有误", str(error))


def bad_form(error: CSRFError):
    return _answer(400, "表单已过期", "表单已过期或缺少安全令牌，请刷新页面后重试。"
                   f"({error.description})")


UNITS_ZH = {"second": "秒", "minute": "分钟", "hour": "小时", "day": "天", "month": "月",
            "year": "年"}


def limit_zh(limit: str) -> str:
    """A flask-limiter limit as Chinese readers write it.

    >>> limit_zh("5 per 2 hour")
    '每2小时最多5次'
    >>> limit_zh("30 per minute")
    '每分钟最多30次'
    """
    found = re.fullmatch(r"\s*(\d+)\s+per\s+(\d+\s+)?(\w+?)s?\s*", limit or "")
    if not found:
        return limit
    count, many, unit = found[1], (found[2] or "").strip(), UNITS_ZH.get(found[3], found[3])
    many = "" if many == "1" else many  # "5 per 1 minute" reads 每分钟最多5次
    return f"每{many}{unit}最多{count}次"


def http_error(error: HTTPException):
    status = error.code or 500
    message = error.description or ""
    if message == type(error).description:
        message = MESSAGES.get(status, MESSAGES[400])
    if status == 429:
        message = f"操作过于频繁，请稍后再试（限额：{limit_zh(message)}）。"
    return _answer(status, TITLES.get(status, "请求有误"), message)


def _unavailable(title: str, message: str) -> Response:
    # drawn for the public: the page must not look the user up again in a store that just
    # failed; the next request finds the user again once the store is back
    g._login_user = AnonymousUserMixin()
    answer = _answer(503, title, message)
    response = answer if isinstance(answer, Response) else Response(
        answer[0], 503, mimetype="text/html")
    response.headers["Retry-After"] = "5"
    return response


def store_unavailable(error: Exception) -> Response:
    if isinstance(error, DBAPIError) and not error.connection_invalidated and not isinstance(
            error.orig, (psycopg2.OperationalError, psycopg2.InterfaceError)):
        raise error  # a fault of the query, not of the connection: a real 500
    return _unavailable("数据库不可用", "数据库暂时不可用，数据库恢复后服务自动恢复，请稍后再试或"
                        "联系管理员。The database is not reachable; retry in a moment.")


def keystore_unavailable(error: Exception) -> Response:
    return _unavailable("会话服务不可用", "会话与限流服务（Redis）暂时不可用，请稍后再试或联系"
                        "管理员。The session store (Redis) is not reachable.")


class AsciiIntegerConverter(IntegerConverter):
    """``<int:…>`` of ASCII digits only: Werkzeug's ``\\d+`` also takes other scripts' digits,
    so that /api/projects/٣ would be project 3; now it is a clear 404."""

    regex = r"[0-9]+"


def init_app(app: Flask) -> None:
    app.add_template_filter(chinese_part, "zh")
    # before the blueprints add their rules, so that every <int:…> is read this way
    app.url_map.converters["int"] = AsciiIntegerConverter
    app.before_request(refuse_nul)
    app.register_error_handler(FilterError, bad_filter)
    app.register_error_handler(ExposureError, bad_filter)
    app.register_error_handler(AuditQueryError, bad_filter)
    app.register_error_handler(LifecycleError, lambda e: _answer(400, "无法办理", str(e)))
    app.register_error_handler(AreaRefused, lambda e: _answer(
        404, "没有该辖区", f"辖区代码 {e} 不在您的管辖范围内，或本系统尚未载入该辖区的区县。"))
    app.register_error_handler(CityRefused, lambda e: _answer(
        404, "没有该城市", f"城市代码 {e} 不在您的管辖范围内，或本系统尚未载入该城市。"))
    app.register_error_handler(CSRFError, bad_form)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(DBAPIError, store_unavailable)
    app.register_error_handler(psycopg2.OperationalError, store_unavailable)
    app.register_error_handler(ClusterError, store_unavailable)
    app.register_error_handler(redis.ConnectionError, keystore_unavailable)
    app.register_error_handler(ReportFolderError,
                               lambda error: _answer(503, "无法生成报告", error.strerror))
    app.register_error_handler(redis.TimeoutError, keystore_unavailable)
