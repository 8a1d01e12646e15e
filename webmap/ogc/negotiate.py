"""Content negotiation (``?f=json|html`` first, then Accept) and the links every answer has."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from flask import Response, render_template, request, url_for

from webmap.errors import json_error

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
FORMATS = ("json", "html")


def wants_html() -> bool:
    """HTML when ``f=html``, or when the client's Accept prefers it (browsers); else JSON."""
    asked = request.args.get("f")
    if asked in FORMATS:
        return asked == "html"
    best = request.accept_mimetypes.best_match([JSON, GEOJSON, HTML])
    return best == HTML


def landing_wants_json() -> bool:
    """At ``/`` the map page stays the answer for browsers (and a request without Accept);
    a client asking for JSON (OWSLib's ``*/*``, GDAL's application/json) gets the landing."""
    asked = request.args.get("f")
    if asked in FORMATS:
        return asked == "json"
    if not request.headers.get("Accept"):
        return False
    return request.accept_mimetypes.best_match([JSON, HTML]) == JSON


def bad_format() -> Response | None:
    asked = request.args.get("f")
    if asked is not None and asked not in FORMATS:
        return json_error(f"f 须为 json 或 html。f must be json or html, not {asked[:20]!r}.", 400)
    return None


def link(href: str, rel: str, type_: str, title: str, **extra) -> dict:
    return {"href": href, "rel": rel, "type": type_, "title": title, **extra}


def url(endpoint: str, **values) -> str:
    return url_for(endpoint, _external=True, **values)


def self_links(endpoint: str, json_type: str = JSON, **values) -> list[dict]:
    """This resource as JSON and as HTML (self is the one being answered)."""
    html = wants_html()
    values = {k: v for k, v in values.items() if k != "f"}
    as_json = link(url(endpoint, **values, f="json"), "alternate" if html else "self",
                   json_type, "此文档（JSON）This document as JSON")
    as_html = link(url(endpoint, **values, f="html"), "self" if html else "alternate",
                   HTML, "此文档（HTML）This document as HTML")
    return [as_json, as_html]


def with_args(base: str, args: dict) -> str:
    return base + ("?" + urlencode(args) if args else "")


def answer(document: dict, template_context: dict | None = None, mimetype: str = JSON,
           headers: dict | None = None) -> Response:
    """The document as JSON, or as the generic OGC HTML page when HTML is wanted."""
    if wants_html():
        html = render_template("ogc.html", doc=document, **(template_context or {}))
        response = Response(html, mimetype=HTML)
    else:
        response = Response(json.dumps(document, ensure_ascii=False, default=str),
                            mimetype=mimetype)
    response.headers.update(headers or {})
    # who asks decides the answer (a session or an API token): never from a shared cache
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.update(("Cookie", "Authorization", "Accept"))
    return response
