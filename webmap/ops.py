"""What operators and their tools ask of a service: liveness (/healthz), readiness (/readyz),
Prometheus metrics (/metrics), and a log line and request id for every request."""

from __future__ import annotations

import hmac
import ipaddress
import time

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from geo import store
from geo.cluster import ClusterError
from geo.tenancy import Tenant
from webmap import accesslog, importjobs, metrics, readpool
from webmap.db import get_web_engine
from webmap.scope import connection

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers, in JSON, whatever the store does (null data version
    while the store is unreachable)."""
    try:
        with connection(tenant=Tenant.public()) as conn:
            version = store.data_version(conn)
    except (SQLAlchemyError, ClusterError):
        version = None
    return jsonify(status="ok", data_version=version)


@bp.get("/readyz")
def readyz():
    """Readiness: the store answers and its schema is migrated to this code's; else 503."""
    try:
        found = store.readiness(get_web_engine())
    except ClusterError:
        found = {"ready": False, "database": "unreachable", "schema": None,
                 "schema_expected": store.head_revision()}
    status = "ready" if found.pop("ready") else "not ready"
    if current_app.config["REPLICA_URLS"]:
        # reported, not required: without a replica the primary answers every read
        found["replicas"] = readpool.pool_of().status()
    return jsonify(status=status, **found), 200 if status == "ready" else 503


def _may_read_metrics() -> bool:
    token = current_app.config["METRICS_TOKEN"]
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(sent.encode(), token.encode())
    # no token: only a scraper on this machine that reaches the service directly; anything
    # through a proxy (which adds X-Forwarded-For) could be anyone
    peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get(
        "REMOTE_ADDR", request.environ.get("REMOTE_ADDR", ""))
    try:
        local = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        local = False
    return local and "X-Forwarded-For" not in request.headers


@bp.get("/metrics")
def metrics_page():
    if not _may_read_metrics():
        return jsonify(error="无权读取监控指标：请使用 RISKMAP_METRICS_TOKEN — send the metrics "
                             "token (Authorization: Bearer …)"), 401
    body, content_type = metrics.exposition(importjobs.queue())
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})


def _begin() -> None:
    g.request_started = time.perf_counter()
    accesslog.begin_request()


def _finish(response: Response) -> Response:
    seconds = time.perf_counter() - g.get("request_started", time.perf_counter())
    metrics.observe_request(request.endpoint, request.method, response.status_code, seconds)
    accesslog.log_request(response, seconds)
    return response


def init_app(app: Flask) -> None:
    """Before every other hook: every request is timed, named and logged, even a refused one;
    and after them (after_request runs last-registered first), so compression is counted."""
    app.before_request(_begin)
    app.after_request(_finish)
    app.register_blueprint(bp)
