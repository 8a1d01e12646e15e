"""ETags from the store's data version: clients and proxies revalidate instead of refetching."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import Response, make_response, request

from geo import store
from webmap.db import get_engine


def etag_for(version: int) -> str:
    """A tag that changes when the data or the request (path and arguments) changes."""
    key = f"{version}|{request.full_path}".encode()
    return f"v{version}-{hashlib.sha1(key).hexdigest()[:16]}"


def with_etag(build: Callable[[], Response | dict | bytes | str]) -> Response:
    """Answer 304 when the client's If-None-Match is current, otherwise build the response."""
    with get_engine().connect() as conn:
        tag = etag_for(store.data_version(conn))
    if tag in request.if_none_match:
        response = Response(status=304)
    else:
        response = make_response(build())
    response.set_etag(tag)
    response.headers["Cache-Control"] = "no-cache"  # always revalidate: data can change
    return response
