"""A local tile server that stands in for Tianditu (天地图) and a bureau's internal XYZ server
in the browser tests and the first-fill benchmark: every tile is a plain PNG of its source's
own colour, and every request is recorded, so a test sees which source drew what."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from PIL import Image

# the colour of each source's tiles: (red, green, blue)
COLOURS = {"vec": (250, 240, 200), "cva": (0, 0, 0), "img": (40, 90, 40), "cia": (0, 0, 0),
           "xyz": (200, 220, 250)}


def _png(source: str) -> bytes:
    # annotation layers (cva, cia) are transparent apart from their text: fully transparent here
    alpha = 0 if source in ("cva", "cia") else 255
    buf = io.BytesIO()
    Image.new("RGBA", (256, 256), (*COLOURS[source], alpha)).save(buf, "PNG")
    return buf.getvalue()


class TileServer:
    """Its URL templates for the settings, and the requests it answered."""

    def __init__(self, base: str):
        self.base = base
        self.requests: list[tuple[str, dict]] = []  # (source, query or {z, x, y})
        self.tianditu_url = (base + "/tianditu/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
                             "&LAYER={layer}&TILEMATRIXSET=w&TILEMATRIX={z}&TILEROW={y}"
                             "&TILECOL={x}&tk={tk}")
        self.xyz_url = base + "/xyz/{z}/{x}/{y}.png"

    def sources(self) -> set[str]:
        return {source for source, _ in self.requests}


@contextmanager
def tile_server() -> Iterator[TileServer]:
    tiles = {name: _png(name) for name in COLOURS}
    server: TileServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            url = urlparse(self.path)
            parts = url.path.strip("/").split("/")
            if parts[0] == "tianditu":
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                source = query.get("LAYER", "")
            elif parts[0] == "xyz" and len(parts) == 4:
                source, query = "xyz", dict(zip("zxy", parts[1:], strict=True))
            else:
                source, query = "", {}
            if source not in tiles:
                self.send_error(404)
                return
            server.requests.append((source, query))
            body = tiles[source]
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # quiet
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server = TileServer(f"http://127.0.0.1:{httpd.server_port}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
