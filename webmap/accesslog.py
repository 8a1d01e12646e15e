"""The access log: one JSON line per request, tied to the request by an id that the response
echoes in X-Request-ID (and that a trusted proxy may hand in), so a user's complaint, the
proxy's log and the service's log can be matched.

No query string is logged: some carry a claim's or a complaint's secret.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import uuid
from logging.handlers import WatchedFileHandler
from zoneinfo import ZoneInfo

from flask import current_app, g, request
from flask.wrappers import Response

HEADER = "X-Request-ID"
CHINA = ZoneInfo("Asia/Shanghai")
_SENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line: time (Asia/Shanghai), level, logger, message, and the
    fields given as ``extra={"fields": {...}}``."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": dt.datetime.fromtimestamp(record.created, CHINA).isoformat(
                    timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name}
        fields = getattr(record, "fields", None)
        if fields:
            line.update(fields)
        else:
            line["message"] = record.getMessage()
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class _StandardOutput(logging.StreamHandler):
    """Standard output as it is when a line is written (tests and servers swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def _logger(target: str) -> logging.Logger | None:
    """The access logger writing to ``target`` (``-``, a file, or empty for none)."""
    if not target:
        return None
    logger = logging.getLogger(f"riskmap.access.{'stdout' if target == '-' else target}")
    if not logger.handlers:
        handler = _StandardOutput() if target == "-" else WatchedFileHandler(target, "a", "utf-8")
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def begin_request() -> None:
    sent = request.headers.get(HEADER, "")
    # only a proxy the operator trusts may name the request; anyone else could forge ids
    trusted = int(current_app.config["PROXIES"]) > 0 and _SENT_ID.fullmatch(sent)
    g.request_id = sent if trusted else uuid.uuid4().hex


def request_id() -> str:
    return g.get("request_id", "")


def log_request(response: Response, seconds: float) -> None:
    response.headers[HEADER] = request_id()
    logger = _logger(current_app.config["ACCESS_LOG"])
    if logger is None:
        return
    # the account only if this request already loaded it: reading the session here would
    # add "Vary: Cookie" to the public's cacheable answers
    user = g.get("_login_user")
    logger.info("", extra={"fields": {
        "request_id": request_id(), "method": request.method,
        "path": request.script_root + request.path, "endpoint": request.endpoint,
        "status": response.status_code, "bytes": response.content_length,
        "ms": round(seconds * 1000, 1), "address": request.remote_addr,
        "user": user.account.username if getattr(user, "is_authenticated", False) else None,
        "agent": request.user_agent.string[:200]}})
