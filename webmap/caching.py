"""ETags from the store's data version: clients and proxies revalidate instead of refetching."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version

import redis
from flask import Response, current_app, make_response, request
from redis.exceptions import LockError
from redis.lock import Lock

from geo import store
from geo.tenancy import Tenant
from layers import catalogue
from webmap import keystore
from webmap.db import get_web_engine
from webmap.scope import connection, current_city, current_tenant, one_read
from webmap.setting_checks import origin_list

_BUILD = "riskmap.build"


def _build_id() -> str:
    """What besides the data shapes a response: the code's version, its catalogue, the city."""
    cached = current_app.extensions.get(_BUILD)
    if cached is None:
        try:
            package = version("idi-riskmap")
        except PackageNotFoundError:
            package = "dev"
        layers = [asdict(layer) for layer in catalogue.LAYERS]
        text = json.dumps([package, layers, current_app.config["CITY"]], sort_keys=True,
                          default=str)
        cached = current_app.extensions[_BUILD] = hashlib.sha1(text.encode()).hexdigest()
    return cached


def etag_for(version: int, as_of: dt.date, tenant: Tenant | None = None) -> str:
    """A tag that changes with the data, the day the figures are for, the code and the request."""
    # the tenant too: the same URL answers an insurer and the regulator differently; and the
    # city a signed-in user chose with the switcher, which the URL does not say
    tenant = tenant or current_tenant()
    what = request.full_path if tenant.is_public else f"{request.full_path}|{current_city()}"
    return f"v{version}-{_digest(version, as_of, tenant, what)[:16]}"


def _digest(version: int, as_of: dt.date, tenant: Tenant, what: str) -> str:
    """The hash of everything an answer is pure in: data version, day, code, database,
    tenant, and what was asked."""
    # the database too: answers are also shared through the store (_shared), which several
    # databases may use (versions count from 1 in each)
    database = get_web_engine().url.database
    key = f"{version}|{as_of}|{_build_id()}|{database}|{tenant.key()}|{what}"
    return hashlib.sha1(key.encode()).hexdigest()


def _known_to_client(tag: str) -> str | None:
    """The client's copy of ``tag``: itself, or as compressed (flask-compress appends the
    coding, ``tag:gzip``), so that a compressed copy revalidates without being rebuilt."""
    # weakly too: a proxy that compresses may have weakened the tag (W/"…"), as nginx does
    for sent in request.if_none_match.as_set(include_weak=True):
        if sent == tag or sent.startswith(tag + ":"):
            return sent
    return None


def _answer(tag: str, build: Callable[[], Response | dict | bytes | str]) -> Response:
    known = _known_to_client(tag)
    if known:
        response = Response(status=304)
        response.set_etag(known)
    else:
        response = _shared(tag, build)
        response.set_etag(tag)
    return response


CACHE_MAX_BYTES = 4 * 1024 * 1024  # a larger answer is rebuilt each time, not stored


def _shared(tag: str, build: Callable[[], Response | dict | bytes | str]) -> Response:
    """The answer another reader of the same tag got, from the shared store, else built and
    stored. The tag holds everything the answer is pure in (data version, day, code, tenant,
    URL), so an entry never needs invalidating; it only expires. A store that fails is no
    cache: the answer is built as without one."""
    seconds = current_app.config.get("RESPONSE_CACHE_SECONDS", 0)
    if not seconds or request.method != "GET":
        return make_response(build())
    name = keystore.key(f"answer:{tag}")
    with contextlib.suppress(redis.RedisError):
        hit = keystore.client().hmget(name, "body", "type")
        if hit[0] is not None:
            return Response(hit[0], content_type=hit[1].decode())
    response = make_response(build())
    body = None if response.direct_passthrough else response.get_data()
    if response.status_code == 200 and body is not None and len(body) <= CACHE_MAX_BYTES:
        with contextlib.suppress(redis.RedisError):
            keystore.client().pipeline().hset(
                name, mapping={"body": body, "type": response.content_type}).expire(
                name, seconds).execute()
    return response


def with_etag(build: Callable[[], Response | dict | bytes | str]) -> Response:
    """Answer 304 when the client's If-None-Match is current, otherwise build the response."""
    with one_read() as conn:
        tag = etag_for(*store.data_state(conn))
        response = _answer(tag, build)
    # always revalidate (data can change); a tenant's answers stay out of shared caches
    private = "" if current_tenant().is_public else "private, "
    response.headers["Cache-Control"] = private + "no-cache"
    # who asks decides the answer: a session cookie or an API token
    response.vary.update(("Cookie", "Authorization"))
    return response


def with_public_etag(build: Callable[[], Response | dict | bytes | str]) -> Response:
    """For what the public sees whoever asks (approved layers, their tiles): cacheable by
    browsers and shared caches for PUBLIC_MAX_AGE seconds, then revalidated by ETag. It reads
    as the public and never touches the session, so no cookie can change or key the answer."""
    public = Tenant.public()
    with one_read(tenant=public) as conn:
        tag = etag_for(*store.data_state(conn), tenant=public)
        response = _answer(tag, build)
    max_age = int(current_app.config["PUBLIC_MAX_AGE"])
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    origins = origin_list(current_app.config["CORS_ORIGINS"])
    if origins and "*" not in origins:
        # shared with some origins only: a cache must not hand one origin's answer to another
        response.vary.add("Origin")
    return response


def shared_data(name: str, params: dict, build: Callable[[], object],
                tenant: Tenant | None = None) -> object:
    """What ``build`` returns (JSON-ready data) for the data version, day, code and tenant of
    now: from the shared store when another request (or `riskmap warm`) computed it already,
    else built and kept there for RESPONSE_CACHE_SECONDS. Pages use it as the JSON API does
    its answers, so that the second regulator to open the statistics pays nothing, whichever
    of the two they open. Data that is not plain JSON is built each time, never stored.

    One computation at a time: a reader who finds the same answer being computed (by another
    request or a job worker's keep-warm round) waits for it rather than computing it again —
    at 200,000 projects the statistics take 20 s of a core, and eight regulators opening them
    together after an import would otherwise share two cores eight ways."""
    tenant = tenant or current_tenant()
    seconds = current_app.config.get("RESPONSE_CACHE_SECONDS", 0)
    if not seconds:
        return build()
    with connection(tenant=tenant) as conn:
        version, as_of = store.data_state(conn)
    asked = json.dumps([name, params], sort_keys=True, default=str)
    cache_key = keystore.key(f"data:{_digest(version, as_of, tenant, asked)}")
    hit, lock = _stored_or_turn(cache_key)
    if hit is not None:
        return json.loads(hit)
    with _held(lock):
        data = build()
        try:
            body = json.dumps(data, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):
            return data
        if len(body) <= CACHE_MAX_BYTES:
            with contextlib.suppress(redis.RedisError):
                keystore.client().set(cache_key, body, ex=seconds)
        return data


LOCK_SECONDS = 30  # a computation renews its lock every third of this: a dead one frees it then
WAIT_AT_MOST_SECONDS = 600  # a reader waits no longer for another's computation of its answer
_POLL_SECONDS = (0.02, 0.5)  # first and longest pause between looks at another's computation


def _stored_or_turn(cache_key: str) -> tuple[bytes | None, Lock | None]:
    """The stored answer (waiting while another computes it), else the lock that makes this
    reader the one to compute it. (None, None): compute without one — the store failed, the
    computation waited for ended without storing an answer (it failed, or its answer is not
    kept: then the waiters compute side by side, as without a lock), or it outlived
    WAIT_AT_MOST_SECONDS."""
    deadline, pause, waited = time.monotonic() + WAIT_AT_MOST_SECONDS, _POLL_SECONDS[0], False
    try:
        client = keystore.client()
        # not thread-local: the thread that renews it must hold the same token
        lock = client.lock(f"{cache_key}:computing", timeout=LOCK_SECONDS, thread_local=False)
        while True:
            hit = client.get(cache_key)
            if hit is not None:
                return hit, None
            if waited and not lock.locked():
                return None, None
            if lock.acquire(blocking=False):
                # the one before may have stored it between the look and the lock
                hit = client.get(cache_key)
                if hit is not None:
                    lock.release()
                    return hit, None
                return None, lock
            if time.monotonic() >= deadline:
                return None, None
            waited = True
            time.sleep(pause)
            pause = min(pause * 2, _POLL_SECONDS[1])
    except redis.RedisError:
        return None, None


@contextlib.contextmanager
def _held(lock: Lock | None) -> Iterator[None]:
    """Keep ``lock`` (when this reader has one) while the block computes, however long it
    takes (the portfolio's widest circles take minutes at 200,000 projects), then free it."""
    if lock is None:
        yield
        return
    done = threading.Event()

    def renew() -> None:
        while not done.wait(LOCK_SECONDS / 3):
            with contextlib.suppress(redis.RedisError, LockError):
                lock.reacquire()

    threading.Thread(target=renew, name="riskmap-answer-lock", daemon=True).start()
    try:
        yield
    finally:
        done.set()
        with contextlib.suppress(redis.RedisError, LockError):
            lock.release()
