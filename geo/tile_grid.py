"""Web Mercator tile addresses (z/x/y, the XYZ scheme) and the bounds they cover.

Pure arithmetic on the tile pyramid, so that a tile's SQL can ask for exactly the projects
in its box: in degrees where the store's geography is searched (EPSG:4326), in metres where
a table keeps Web Mercator points (EPSG:3857).
"""

from __future__ import annotations

import math

EARTH_HALF = 20037508.342789244  # half the Web Mercator world's width, metres


def tile_box(z: int, x: int, y: int, margin: float) -> dict[str, float]:
    """The tile's bounds in degrees, widened by ``margin`` (a share of the tile) each side.

    >>> tile_box(0, 0, 0, 0) == {"west": -180.0, "south": -85.0511287798066,
    ...                          "east": 180.0, "north": 85.0511287798066}
    True
    >>> round(tile_box(1, 1, 0, 0.5)["west"], 6)
    -90.0
    """
    n = 2**z

    def lon(tx: float) -> float:
        return max(-180.0, min(180.0, tx / n * 360.0 - 180.0))

    def lat(ty: float) -> float:
        ty = max(0.0, min(float(n), ty))
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * ty / n))))

    return {"west": lon(x - margin), "south": lat(y + 1 + margin),
            "east": lon(x + 1 + margin), "north": lat(y - margin)}


def mercator_box(z: int, x: int, y: int, margin: float) -> dict[str, float]:
    """The tile's bounds in Web Mercator metres, widened by ``margin`` (a share of the tile)
    each side, as PostGIS's ST_TileEnvelope widens by its margin.

    >>> box = mercator_box(1, 1, 0, 0)
    >>> round(box["west"]), round(box["north"]), round(box["east"]), round(box["south"])
    (0, 20037508, 20037508, 0)
    >>> round(mercator_box(1, 1, 0, 0.5)["west"])
    -10018754
    """
    size = 2 * EARTH_HALF / 2**z
    return {"west": -EARTH_HALF + (x - margin) * size,
            "east": -EARTH_HALF + (x + 1 + margin) * size,
            "north": EARTH_HALF - (y - margin) * size,
            "south": EARTH_HALF - (y + 1 + margin) * size}
