"""The city risk map page, built with folium.

Folium lays out the map, its layer groups and the layer control; no data goes
into the HTML. The page's script (static/riskmap.js) fills each group from the
service's endpoints when it is switched on. Leaflet and its plugins come from
the service's own /vendor/ route, never from a CDN; every URL is built with url_for, so the
page works under a URL prefix too.
"""

from __future__ import annotations

import json

import folium
from branca.element import Element, MacroElement
from flask import url_for
from jinja2 import Template
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import escape

from layers import catalogue

# (folium's name, npm package, file in its dist folder)
VENDOR_JS = (
    ("leaflet", "leaflet", "leaflet.js"),
    ("leaflet_heat", "leaflet.heat", "leaflet-heat.js"),
    ("vectorgrid", "leaflet.vectorgrid", "Leaflet.VectorGrid.bundled.min.js"),
    ("layers_tree", "leaflet.control.layers.tree", "L.Control.Layers.Tree.js"),
    ("html_to_image", "html-to-image", "html-to-image.js"),
)
VENDOR_CSS = (("leaflet_css", "leaflet", "leaflet.css"),
              ("layers_tree_css", "leaflet.control.layers.tree", "L.Control.Layers.Tree.css"))


def vendor_url(package: str, filename: str) -> str:
    """Where the service serves a file of an npm package (see webmap/assets.py)."""
    return url_for("pages.vendor", package=package, filename=filename)


class OfflineMap(folium.Map):
    """A folium map whose scripts and styles are the service's own copies."""

    vendor_js = VENDOR_JS

    def render(self, **kwargs):
        # folium reads these at render time: the request's URLs, under its prefix
        self.default_js = [(name, vendor_url(pkg, f)) for name, pkg, f in self.vendor_js]
        self.default_css = [(name, vendor_url(pkg, f)) for name, pkg, f in VENDOR_CSS]
        return super().render(**kwargs)


class RiskMapScript(MacroElement):
    """Hands the map, its layer groups and the page's settings to static/riskmap.js."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        RiskMap.init({{ this.map_name }}, {{ this.groups_js }}, {{ this.options_json }});
        {% endmacro %}
    """)

    def __init__(self, map_name: str, groups: dict[str, str], options: dict):
        super().__init__()
        self.map_name = map_name
        # group variables are folium's own generated identifiers, not user data
        self.groups_js = "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in groups.items()) + "}"
        # escapes <, >, & and ' so that names from the data cannot end the script
        self.options_json = htmlsafe_json_dumps(options)


def build_map(config, bounds: list[list[float]], options: dict, layer_id: str) -> str:
    """The whole HTML page of the risk map, with ``layer_id`` shown first."""
    # SVG for the few district polygons (crisp, clickable); project points draw on canvas tiles
    m = OfflineMap(location=None, tiles=None, zoom_control=True)
    if bounds:
        m.fit_bounds(bounds)
    groups, layer_list = {}, []
    for layer in catalogue.LAYERS:
        base = layer.kind == "district"
        group = folium.FeatureGroup(name=f"{catalogue.GROUPS[layer.group]} · {layer.title_zh}",
                                    overlay=not base, show=layer.id == layer_id if base else False)
        group.add_to(m)
        groups[layer.id] = group.get_name()
        layer_list.append({"id": layer.id, "group": catalogue.GROUPS[layer.group],
                           "title": layer.title_zh, "base": base})
    # no folium LayerControl: static/mapcontrols.js draws the list grouped and folding
    root = m.get_root()
    _page_head(root, options["title"], ("mapcontrols.js", "mapsearch.js", "riskmap.js"),
               options.pop("basemap"), options.pop("nav"))
    m.add_child(RiskMapScript(m.get_name(), groups,
                              {**options, "layer": layer_id, "layer_list": layer_list}))
    return root.render()


def _page_head(root, title: str, scripts: tuple[str, ...], basemap: dict, nav: str) -> None:
    """The page's own stylesheets, title (built from config and escaped by the caller), the
    service's navigation (templates/_nav.html, rendered by the caller), panel, basemap
    settings (webmap/basemaps.py) and scripts."""
    for sheet in ("riskmap.css", "basemap.css", "nav.css"):
        css = escape(url_for("static", filename=sheet))
        root.header.add_child(Element(f'<link rel="stylesheet" href="{css}">'))
    root.header.add_child(Element('<link rel="icon" href="data:,">'))  # no favicon request
    root.header.add_child(Element(f"<title>{title}</title>"))
    root.html.add_child(Element(nav))
    root.html.add_child(Element('<div id="riskmap-panel"></div>'))
    root.html.add_child(Element('<script id="basemap-options" type="application/json">'
                                f"{htmlsafe_json_dumps(basemap)}</script>"))
    for name in ("basemap.js", *scripts):
        src = escape(url_for("static", filename=name))
        root.header.add_child(Element(f'<script src="{src}"></script>'))


class PublicOfflineMap(OfflineMap):
    """The public map loads Leaflet only: it draws no points and no heat."""

    vendor_js = VENDOR_JS[:1]


class PublicMapScript(RiskMapScript):
    """Hands the public map and its approved layers to static/public.js."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        PublicMap.init({{ this.map_name }}, {{ this.groups_js }}, {{ this.options_json }});
        {% endmacro %}
    """)


def build_public_map(config, bounds: list[list[float]], layers: list[dict],
                     options: dict) -> str:
    """The public map page: only the approved publications, no points, no filters."""
    m = PublicOfflineMap(location=None, tiles=None, zoom_control=True)
    if bounds:
        m.fit_bounds(bounds)
    groups = {}
    for i, item in enumerate(layers):
        group = folium.FeatureGroup(name=f"{item['group_zh']} · {item['title']}",
                                    overlay=False, show=i == 0)
        group.add_to(m)
        groups[str(item["id"])] = group.get_name()
    if len(layers) > 1:
        folium.LayerControl(collapsed=False, position="topright").add_to(m)
    root = m.get_root()
    _page_head(root, options["title"], ("public.js",), options.pop("basemap"),
               options.pop("nav"))
    m.add_child(PublicMapScript(m.get_name(), groups, options))
    return root.render()
