"""Server-side sessions in Redis (Flask-Session), revocable for a whole account at once.

The browser holds only a random session id; what the session says lives in Redis under
REDIS_PREFIX, so that every worker process and host sees the same sessions and a session can
be ended on the server. Each account has a session epoch in Redis: signing in records it in
the session, and signing out, a password change or disabling the account moves it on, which
ends every session of the account in every browser at once.

A session ends after SESSION_IDLE_MINUTES without a request (Redis expires it) and
SESSION_MAX_HOURS after signing in, however busy.
"""

from __future__ import annotations

import datetime as dt
import time

from flask import Flask, current_app, has_request_context, request, session
from flask_session.redis import RedisSessionInterface

from webmap import keystore


class RevocableSessions(RedisSessionInterface):
    """Flask-Session's Redis sessions; the cookie is Secure whenever the request is HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        # request.is_secure follows X-Forwarded-Proto where PROXIES trusts a proxy
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (
            has_request_context() and request.is_secure)


def _epoch_key(account_id: int | str, app: Flask | None = None) -> str:
    return keystore.key(f"account:{account_id}:session-epoch", app)


def _epoch(account_id: int | str, app: Flask | None = None) -> int:
    return int(keystore.client(app).get(_epoch_key(account_id, app)) or 0)


def signed_in_fields(account_id: int | str, app: Flask | None = None) -> dict:
    """What a session of a freshly signed-in account holds (Flask-Login's keys and ours)."""
    return {"_user_id": str(account_id), "_fresh": True, "_epoch": _epoch(account_id, app),
            "_signed_in_at": time.time()}


def begin(account_id: int) -> None:
    """Start a signed-in session: a new session id (no fixation), this account's epoch."""
    current_app.session_interface.regenerate(session)
    session.update(signed_in_fields(account_id))
    session.permanent = True


def is_current(account_id: str) -> bool:
    """Whether this request's session still stands for ``account_id``."""
    started = session.get("_signed_in_at")
    max_age = int(current_app.config["SESSION_MAX_HOURS"]) * 3600
    if not isinstance(started, (int, float)) or time.time() - started > max_age:
        return False
    return session.get("_epoch") == _epoch(account_id)


def end_all(account_id: int, app: Flask | None = None) -> None:
    """End every session of the account, in every browser, at once."""
    keystore.client(app).incr(_epoch_key(account_id, app))


def init_app(app: Flask) -> None:
    config = app.config
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(
        minutes=int(config["SESSION_IDLE_MINUTES"]))
    config["SESSION_REFRESH_EACH_REQUEST"] = True  # each request restarts the idle clock
    app.session_interface = RevocableSessions(
        app, keystore.client(app), key_prefix=keystore.key("session:", app),
        permanent=True)
