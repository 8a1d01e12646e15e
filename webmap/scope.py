"""What a request may see: its tenant, a connection acting for it, and its filters.

Every handler reads the store through `connection()`: the web role, with the signed-in
account's role and organisation set for the transaction (the public when nobody is signed
in). Reading transactions are read-only, so a GET cannot change anything either.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import request
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.engine import Connection

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
    with readpool.read_connection(get_web_engine()) as conn, conn.begin():
        conn.execute(text("SET TRANSACTION READ ONLY"))
        set_tenant(conn, tenant or current_tenant())
        yield conn


def request_filters() -> Filters:
    """The URL's filters, narrowed to what the request's tenant may see."""
    return Filters.from_args(request.args).for_tenant(current_tenant())
