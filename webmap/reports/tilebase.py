"""The report map's tile basemap: the configured Tianditu or internal XYZ tiles, fetched when
the report is made, stitched and resampled into the map's Gauss-Krüger metres.

Tiles are Web Mercator; the report map is in the district's CGCS2000 Gauss-Krüger zone so its
scale bar is true. Each output pixel is taken back to longitude/latitude and read from the
stitched tiles (nearest neighbour), so the basemap lies exactly under the data. A basemap that
cannot be had whole within the time allowed (a tile missing, a server down, no route from the
report worker) is not drawn at all: the map falls back to the offline outline and says so,
rather than print a patchwork.
"""

from __future__ import annotations

import io
import math
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

TILE = 256
# a district map needs a few dozen tiles; more means a zoom too deep for the page
MAX_TILES = 64
FETCHERS = 8
USER_AGENT = "IDI-Risk-Map report (tile basemap)"

Inverse = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class TilesUnavailable(Exception):
    """The basemap could not be had whole; the message says why, in Chinese."""


def tile_xy(lon, lat, zoom: int):
    """Fractional Web Mercator tile coordinates (XYZ scheme, y down) of lon/lat at ``zoom``.

    >>> [float(v) for v in tile_xy(0.0, 0.0, 1)]
    [1.0, 1.0]
    >>> [round(float(v), 3) for v in tile_xy(102.7, 25.04, 10)]
    [804.124, 438.393]
    """
    lat = np.clip(lat, -85.05112878, 85.05112878)
    n = 2.0 ** zoom
    x = (np.asarray(lon) + 180.0) / 360.0 * n
    y = (1.0 - np.arcsinh(np.tan(np.radians(lat))) / math.pi) / 2.0 * n
    return x, y


def zoom_for(metres_per_pixel: float, lat: float, max_zoom: int = 18) -> int:
    """The shallowest zoom whose tiles are at least as sharp as the page's pixels.

    >>> zoom_for(10.0, 25.0), zoom_for(1e9, 25.0), zoom_for(0.01, 25.0, max_zoom=18)
    (14, 0, 18)
    """
    ground = 156543.03392 * math.cos(math.radians(lat))  # metres per pixel at zoom 0
    wanted = math.ceil(math.log2(ground / metres_per_pixel)) if metres_per_pixel < ground else 0
    return int(min(max(wanted, 0), max_zoom))


def tile_url(template: str, z: int, x: int, y: int, layer: dict) -> str:
    """A tile's URL from a Leaflet-style template ({s} from the layer's subdomains, {layer}
    and {tk} from the layer's options).

    >>> tile_url("https://t{s}.x/{layer}?z={z}&x={x}&y={y}&tk={tk}", 3, 5, 2,
    ...          {"layer": "vec", "tk": "K", "subdomains": "01234567"})
    'https://t7.x/vec?z=3&x=5&y=2&tk=K'
    """
    subdomains = layer.get("subdomains") or "a"
    values = {"z": z, "x": x, "y": y, "s": subdomains[(x + y) % len(subdomains)],
              "layer": layer.get("layer", ""), "tk": layer.get("tk", "")}
    for key, value in values.items():
        template = template.replace("{" + key + "}", str(value))
    return template


def _fetch(url: str, timeout: float) -> Image.Image:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (configured)
        body = answer.read()
    return Image.open(io.BytesIO(body)).convert("RGBA")


def mosaic(layers: list[dict], zoom: int, cols: range, rows: range,
           timeout: float) -> Image.Image:
    """Every layer's tiles of the block, stitched and laid over each other (annotation on
    top). Raises TilesUnavailable when any tile fails or the whole takes over ``timeout``."""
    canvas = Image.new("RGBA", (len(cols) * TILE, len(rows) * TILE), (255, 255, 255, 255))
    deadline = time.monotonic() + timeout
    jobs = [(layer, x, y) for layer in layers for y in rows for x in cols]

    def one(job):
        layer, x, y = job
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return _fetch(tile_url(layer["url"], zoom, x, y, layer), left)

    with ThreadPoolExecutor(FETCHERS) as pool:
        try:
            images = list(pool.map(one, jobs))
        except Exception as exc:
            raise TilesUnavailable("底图瓦片未能取得") from exc
    for (_, x, y), image in zip(jobs, images, strict=True):
        if image.size != (TILE, TILE):
            image = image.resize((TILE, TILE))
        canvas.alpha_composite(image, ((x - cols.start) * TILE, (y - rows.start) * TILE))
    return canvas


def basemap_raster(source: dict, extent: tuple[float, float, float, float], to_lonlat: Inverse,
                   width_px: int, timeout: float) -> np.ndarray:
    """The source's tiles under ``extent`` (map metres), as an RGB array of ``width_px``
    columns (rows in proportion, top row north) for ``imshow(extent=...)``."""
    x0, y0, x1, y1 = extent
    height_px = max(1, round(width_px * (y1 - y0) / (x1 - x0)))
    gx = x0 + (np.arange(width_px) + 0.5) * (x1 - x0) / width_px
    gy = y1 - (np.arange(height_px) + 0.5) * (y1 - y0) / height_px
    mx, my = np.meshgrid(gx, gy)
    lon, lat = to_lonlat(mx.ravel(), my.ravel())
    lon, lat = np.asarray(lon), np.asarray(lat)
    max_zoom = min(int(layer.get("maxZoom", 18)) for layer in source["layers"])
    zoom = zoom_for((x1 - x0) / width_px, float(lat.mean()), max_zoom)
    while True:
        tx, ty = tile_xy(lon, lat, zoom)
        cols = range(int(tx.min()), int(tx.max()) + 1)
        rows = range(int(ty.min()), int(ty.max()) + 1)
        if len(cols) * len(rows) <= MAX_TILES or zoom == 0:
            break
        zoom -= 1
    stitched = np.asarray(mosaic(source["layers"], zoom, cols, rows, timeout).convert("RGB"))
    px = np.clip(((tx - cols.start) * TILE).astype(int), 0, stitched.shape[1] - 1)
    py = np.clip(((ty - rows.start) * TILE).astype(int), 0, stitched.shape[0] - 1)
    return stitched[py, px].reshape(height_px, width_px, 3)
