"""The OpenAPI document (``/api``) and its interactive page (``/api/docs``, Swagger UI served
from the service's own /vendor/, no CDN)."""

from __future__ import annotations

import json

from flask import Response, render_template, request

from webmap.ogc import bp
from webmap.ogc.negotiate import OPENAPI
from webmap.ogc.openapi_spec import document


@bp.get("/api")
def openapi_document():
    # the request's root, so that the document holds under a proxy's prefix too
    body = json.dumps(document(request.url_root), ensure_ascii=False)
    return Response(body, mimetype=OPENAPI.split(";")[0],
                    headers={"Content-Type": OPENAPI})


@bp.get("/api/docs")
def api_docs():
    return render_template("api_docs.html")
