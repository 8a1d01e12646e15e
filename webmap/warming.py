"""Answers computed before their first reader: `riskmap warm` computes, for the data as it is
now, the figures a regulator's first look reads slowest — the statistics and the market's
portfolio, each in its default view — into the shared store (caching.shared_data), so that
after an import even the first regulator to open them pays nothing. Every regulator (and every
planner) shares one copy: answers are keyed by role, not by person."""

from __future__ import annotations

import time

from flask import Flask

from geo.tenancy import CITY_ROLES, Tenant
from layers.exposure import Choice
from layers.filters import Filters

WARMED_ROLES = CITY_ROLES  # the roles that see the whole programme


def warm(app: Flask, roles: tuple[str, ...] = WARMED_ROLES) -> list[tuple[str, str, float]]:
    """(what, role, seconds) of each default view computed (or found current) for ``roles``."""
    from webmap.work.portfolio import shown_portfolio
    from webmap.work.statistics import statistics_for

    city = app.config["CITY"]
    views = (("statistics", lambda tenant: statistics_for(city, Filters(), tenant)),
             ("portfolio", lambda tenant: shown_portfolio(city, Choice(), tenant)))
    done = []
    # a request context of no one's: the tenant is given to each computation explicitly
    with app.test_request_context("/"):
        for role in roles:
            tenant = Tenant(role, username="riskmap-warm")
            for what, compute in views:
                started = time.perf_counter()
                compute(tenant)
                done.append((what, role, time.perf_counter() - started))
    return done
