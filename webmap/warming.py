"""Answers computed before their first reader: `riskmap warm` computes, for the data as it is
now, the figures a regulator's first look reads slowest — the statistics and the market's
portfolio, each in its default view — into the shared store (caching.shared_data), so that
after an import even the first regulator to open them pays nothing. Every regulator (and every
planner) of a jurisdiction shares one copy: answers are keyed by role and jurisdiction, not by
person; a round computes them for each jurisdiction an active account of the role oversees.

A job worker keeps them warm by itself (`keep_warm`, every WARM_EVERY_SECONDS): after a write,
at midnight or when the cached answer expires, the next round computes them again before a
regulator asks; while they are current a round finds them in milliseconds."""

from __future__ import annotations

import datetime as dt
import time
import uuid

from flask import Flask
from rq import Queue
from sqlalchemy import text

from geo.jurisdiction import cities_for, first_city
from geo.tenancy import CITY_ROLES, NATION, Tenant
from layers.exposure import Choice
from layers.filters import Filters
from webmap import keystore
from webmap.db import get_engine

WARMED_ROLES = CITY_ROLES  # the roles that see the whole programme


def warm(app: Flask, roles: tuple[str, ...] = WARMED_ROLES) -> list[tuple[str, str, float]]:
    """(what, role, seconds) of each default view computed (or found current) for ``roles``."""
    from webmap.work.portfolio import shown_portfolio
    from webmap.work.statistics import statistics_for

    views = (("statistics", lambda tenant, city: statistics_for(city, Filters(), tenant)),
             ("portfolio", lambda tenant, city: shown_portfolio(city, Choice(), tenant)))
    done = []
    # a request context of no one's: the tenant is given to each computation explicitly
    with app.test_request_context("/"):
        for role, area in _staff_jurisdictions(roles):
            tenant = Tenant(role, username="riskmap-warm", jurisdiction=area)
            with get_engine().connect() as conn:
                # the city its staff's pages open on (the one their first look computes)
                city = first_city(cities_for(conn, tenant), tenant, app.config["CITY"])
            if city is None:
                continue
            for what, compute in views:
                started = time.perf_counter()
                compute(tenant, city)
                done.append((what, role, time.perf_counter() - started))
    return done


def _staff_jurisdictions(roles: tuple[str, ...]) -> list[tuple[str, str]]:
    """(role, jurisdiction) of the active accounts of ``roles``; the nation for a role that
    has none yet."""
    with get_engine().connect() as conn:
        rows = conn.execute(text(
            "SELECT DISTINCT role, jurisdiction FROM app_user WHERE is_active "
            "AND role = ANY(:roles) ORDER BY role, jurisdiction"), {"roles": list(roles)}).all()
    found = [(row.role, row.jurisdiction) for row in rows]
    return found + [(role, NATION) for role in roles if role not in {r for r, _ in found}]


def queue(app: Flask) -> Queue:
    """The keep-warm queue: workers take it after imports and reports (`riskmap worker`)."""
    return Queue(keystore.key("warm", app), connection=keystore.client(app),
                 default_timeout=int(app.config["IMPORT_TIMEOUT_MINUTES"]) * 60)


def schedule(app: Flask, now: bool = False) -> bool:
    """Queue the next keep-warm round: ``now`` when a worker starts and no round is pending,
    else (at a round's end) in WARM_EVERY_SECONDS. False when keeping warm is off (0) or a
    round is already pending.

    Each round is a job of its own id; the pending one is named under ``warm:next`` (kept a
    round's time and its timeout), so workers started together make one chain, and a chain
    whose worker died ends with that key and is started again by the next worker."""
    seconds = int(app.config["WARM_EVERY_SECONDS"])
    if seconds <= 0:
        return False
    client, marker = keystore.client(app), keystore.key("warm:next", app)
    round_id = f"keep-warm-{uuid.uuid4().hex}"
    keep = seconds + int(app.config["IMPORT_TIMEOUT_MINUTES"]) * 60 + 60
    if not client.set(marker, round_id, ex=keep, nx=now):
        return False
    if now:
        queue(app).enqueue("webmap.warming.keep_warm", job_id=round_id, result_ttl=0)
    else:
        queue(app).enqueue_in(dt.timedelta(seconds=seconds), "webmap.warming.keep_warm",
                              job_id=round_id, result_ttl=0)
    return True


def keep_warm() -> list[tuple[str, str, float]]:
    """The job: warm every whole-programme role's default views, then queue the next round
    (also when this one failed, so a database that was down for a while is caught up)."""
    from webmap.importjobs import worker_app

    app = worker_app()
    try:
        with app.app_context():
            return warm(app)
    finally:
        schedule(app)
