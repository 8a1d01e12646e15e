"""What a request may see: its tenant, a connection acting for it, and its filters.

Every handler reads the store through `connection()`: the web role, with the signed-in
account's role and organisation set for the transaction (the public when nobody is signed
in). Reading transactions are read-only, so a GET cannot change anything either.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g, request, session
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo.jurisdiction import (
    City,
    area_name,
    cities_for,
    district_city,
    first_city,
    holds_districts,
    overview_area,
)
from geo.store import data_state
from geo.tenancy import Tenant, set_tenant
from layers.filters import Filters
from webmap import readpool
from webmap.db import get_web_engine


def current_tenant() -> Tenant:
    """The signed-in account's tenant, or the public."""
    if current_user and current_user.is_authenticated:
        return current_user.tenant
    return Tenant.public()


@contextmanager
def connection(write: bool = False, tenant: Tenant | None = None,
               bookkeeping: bool = False) -> Iterator[Connection]:
    """A transaction of the web role acting for ``tenant`` (default: the request's). A read
    may be answered by a streaming replica (`webmap.readpool`); a write always by the
    primary, and the client then reads its own writes from the primary for a while — unless
    the write is ``bookkeeping`` it never reads back (an audit line, a token's last use)."""
    if write:
        if not bookkeeping:
            readpool.wrote()
        with get_web_engine().begin() as conn:
            set_tenant(conn, tenant or current_tenant())
            yield conn
        return
    tenant = tenant or current_tenant()
    held = g.get(_HELD_READ)
    if held is not None and held[0] == tenant:
        yield held[1]
        return
    with readpool.read_connection(get_web_engine()) as conn, conn.begin():
        conn.execute(text("SET TRANSACTION READ ONLY"))
        set_tenant(conn, tenant)
        yield conn


_HELD_READ = "riskmap_held_read"


@contextmanager
def one_read(tenant: Tenant | None = None) -> Iterator[Connection]:
    """One reading transaction for ``tenant`` that every `connection()` reading for it inside
    the block shares: an answer and the ETag of its data version come from one snapshot, and a
    small answer (a map tile) pays for one transaction, not three or four."""
    tenant = tenant or current_tenant()
    if g.get(_HELD_READ) is not None:  # already inside one: nothing to hold again
        with connection(tenant=tenant) as conn:
            yield conn
        return
    with connection(tenant=tenant) as conn:
        g.setdefault(_HELD_READ, (tenant, conn))
        try:
            yield conn
        finally:
            g.pop(_HELD_READ, None)


def request_filters() -> Filters:
    """The URL's filters, narrowed to what the request's tenant may see."""
    return Filters.from_args(request.args).for_tenant(current_tenant())


class CityRefused(LookupError):
    """A request named a city its tenant may not open (or that the store does not hold)."""


CITY_KEY = "city"  # the session's choice of city (the switcher), as ?city= is the URL's


_CITIES = "riskmap.cities"
_CITIES_KEPT = 256  # (database, data version, tenant) lists kept by a process at most


def open_cities() -> list[City]:
    """The cities of the store the request's tenant may open (none for the public).

    Kept by the process for the data version: every signed-in request asks (its city is part
    of each answer's ETag), and the nation's 345 cities took 5 ms of a z12 tile's 22 to read
    and build again. A write bumps the version, so a new city's districts show at once."""
    if "riskmap_cities" not in g:
        tenant = current_tenant()
        kept = current_app.extensions.setdefault(_CITIES, {})
        with connection() as conn:
            key = (get_web_engine().url.database, data_state(conn)[0], tenant.key())
            cities = kept.get(key)
            if cities is None:
                if len(kept) >= _CITIES_KEPT:
                    kept.clear()
                cities = kept[key] = cities_for(conn, tenant)
        g.riskmap_cities = cities
    return g.riskmap_cities


def current_city() -> str:
    """The city a request shows: ``?city=`` when given (CityRefused unless the tenant may
    open it), else the city chosen with the switcher, else the tenant's first
    (`geo.jurisdiction.first_city`). The public sees the CITY setting's city."""
    configured = current_app.config["CITY"]
    tenant = current_tenant()
    if tenant.is_public:
        return configured
    codes = {city.code for city in open_cities()}
    asked = request.args.get("city")
    if asked is not None:
        if asked not in codes:
            raise CityRefused(asked)
        return asked
    chosen = session.get(CITY_KEY)
    if chosen in codes:
        return chosen
    first = first_city(open_cities(), tenant, configured)
    if first is None:  # staff of a jurisdiction the store holds no district of
        with connection() as conn:
            # a store with no districts yet (a new install) has nothing to keep them from
            if holds_districts(conn):
                raise CityRefused(tenant.jurisdiction)
        return configured
    return first


class AreaRefused(CityRefused):
    """A request named an area (?area=) beyond its tenant's jurisdiction, or none the store
    holds."""


def current_area() -> str:
    """The area whose statistics or portfolio a request shows: ``?area=`` (a city, a province
    or the nation: 100000) when the tenant's jurisdiction covers it and the store holds its
    districts (AreaRefused otherwise), else the request's city (`current_city`)."""
    asked = request.args.get("area")
    if asked is None or asked == "":
        return current_city()
    area = overview_area(current_tenant(), asked) if not current_tenant().is_public else None
    if area is None or area != asked:
        raise AreaRefused(asked)
    with connection() as conn:
        if area_name(conn, area) is None:
            raise AreaRefused(asked)
    return area


def city_of_district(code: str) -> str:
    """The city of district ``code`` when the tenant may open it (a link to a district of
    another city opens in that city), else the request's city."""
    with connection() as conn:
        city = district_city(conn, code)
    return city if city in {c.code for c in open_cities()} else current_city()
