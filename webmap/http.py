"""HTTP as operators expect it: the client's scheme, host, prefix and address behind trusted
proxies (werkzeug ProxyFix), compressed answers (flask-compress), and the public layers and
tiles shared with other origins (flask-cors) without cookies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Flask
from flask_compress import Compress
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from webmap.setting_checks import origin_list

# What is worth compressing: pages, scripts, styles, JSON, GeoJSON, vector tiles, CSV.
# PDF, XLSX, GeoPackage and PNG are compressed already.
COMPRESSED_TYPES = [
    "text/html", "text/css", "text/plain", "text/csv", "text/javascript",
    "application/javascript", "application/json", "application/geo+json",
    "application/vnd.mapbox-vector-tile", "image/svg+xml",
]
# Anonymous data that any page may load: only approved public layers and their tiles.
PUBLIC_PATHS = r"^/(api|tiles)/public(/.*|\.json)?$"


class SharedCacheable:
    """WSGI middleware: an answer marked ``Cache-Control: public`` is made without the session
    (webmap/caching.py reads it as the public), so it leaves without what session machinery
    adds to every response (``Vary: Cookie``, a refreshed ``Set-Cookie``), which would keep
    shared caches from storing it or, worse, have them hand one visitor's cookie to others."""

    def __init__(self, app: Callable):
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info=None):
            if any(k.lower() == "cache-control" and "public" in v.lower() for k, v in headers):
                headers = [_without_cookie(k, v) for k, v in headers
                           if k.lower() != "set-cookie"]
                headers = [(k, v) for k, v in headers if v]
            return start_response(status, headers, exc_info)
        return self.app(environ, start)


def _without_cookie(name: str, value: str) -> tuple[str, str]:
    if name.lower() != "vary":
        return name, value
    return name, ", ".join(v.strip() for v in value.split(",") if v.strip().lower() != "cookie")


def init_app(app: Flask) -> None:
    app.wsgi_app = SharedCacheable(app.wsgi_app)
    proxies = int(app.config["PROXIES"])
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies,
                                x_host=proxies, x_port=proxies, x_prefix=proxies)
    for key, value in (
        ("COMPRESS_MIMETYPES", COMPRESSED_TYPES),
        # files (ECharts, Leaflet) are sent as streams: gzip for browsers on plain HTTP, which
        # offer no brotli
        ("COMPRESS_ALGORITHM_STREAMING", ["zstd", "br", "gzip"]),
        ("COMPRESS_STREAMING_ENDPOINT_CONDITIONAL", ["static", "pages.vendor"]),
        # as fast as the default 4 on ECharts (1.1 MB in 40 ms) and 8 % smaller
        ("COMPRESS_BR_LEVEL", 5),
    ):
        app.config.setdefault(key, value)
    Compress(app)
    allowed = origin_list(app.config["CORS_ORIGINS"])
    if allowed:
        # no credentials: a page elsewhere gets what the public gets, never a user's data
        CORS(app, resources={PUBLIC_PATHS: {}}, origins=allowed, supports_credentials=False,
             methods=["GET", "HEAD", "OPTIONS"], expose_headers=["ETag", "X-Request-ID"],
             max_age=86400, send_wildcard="*" in allowed, vary_header=True)
