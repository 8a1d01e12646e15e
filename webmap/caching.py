"""ETags from the store's data version: clients and proxies revalidate instead of refetching."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version

from flask import Response, current_app, make_response, request

from geo import store
from layers import catalogue
from webmap.scope import connection, current_tenant

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


def etag_for(version: int, as_of: dt.date) -> str:
    """A tag that changes with the data, the day the figures are for, the code and the request."""
    # the tenant too: the same URL answers an insurer and the regulator differently
    key = f"{version}|{as_of}|{_build_id()}|{current_tenant().key()}|{request.full_path}"
    key = key.encode()
    return f"v{version}-{hashlib.sha1(key).hexdigest()[:16]}"


def with_etag(build: Callable[[], Response | dict | bytes | str]) -> Response:
    """Answer 304 when the client's If-None-Match is current, otherwise build the response."""
    with connection() as conn:
        tag = etag_for(*store.data_state(conn))
    if tag in request.if_none_match:
        response = Response(status=304)
    else:
        response = make_response(build())
    response.set_etag(tag)
    # always revalidate (data can change); a tenant's answers stay out of shared caches
    private = "" if current_tenant().is_public else "private, "
    response.headers["Cache-Control"] = private + "no-cache"
    return response
