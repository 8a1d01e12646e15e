"""A district's map for its report: the boundary and its projects coloured by open risk.

Drawn with matplotlib's object-oriented API (see ``charts``) in the district's CGCS2000
3-degree Gauss-Krüger zone, so the scale bar is true in metres. Under it lies the basemap the
web maps show first when that is a tile service (Tianditu, the bureau's XYZ server; see
``tilebase``) and its tiles come in time; otherwise the offline outline basemap (the
neighbouring districts and cities with their names, from the store), so a report is made
even where no tile server can be reached.
"""

from __future__ import annotations

import io
import logging
import math

import numpy as np
import pyproj
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch
from matplotlib.path import Path
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

from geo import coords
from webmap.reports import tilebase
from webmap.reports.charts import NO_DATA, cjk_family

# (key, legend label, colour), drawn in this order so the riskiest points lie on top.
RISK_CLASSES = (
    ("none", "无未销项风险事件", "#2a9d8f"),
    ("open", "有未销项风险事件", "#f4a261"),
    ("severe", "有未销项严重风险事件", "#c1121f"),
)
_PLAIN = ("plain", "项目", "#1d3557")
log = logging.getLogger(__name__)
# translucent over a tile basemap so its roads and names show through the district
BOUNDARY_FILL = (0.945, 0.961, 0.976, 0.45)


def district_map_png(map_dict: dict, width_px: int = 1340, dpi: int = 200) -> bytes:
    """The report's ``map`` (boundary + projects, EPSG:4326) as a PNG with legend,
    scale bar and north arrow. A map with neither boundary nor projects draws "无数据".

    Under it: ``map_dict["basemap"]`` (a tile source, see ``webmap.basemaps.for_print``)
    when its tiles can be had, else the outline of ``map_dict["outline"]``.
    """
    family = cjk_family()
    boundary = _boundary(map_dict.get("boundary"))
    projects = [p for p in map_dict.get("projects") or [] if _located(p)]
    width_in = width_px / dpi
    fig = Figure(figsize=(width_in, width_in * 0.8), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_axis_off()
    if boundary is None and not projects:
        ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", transform=ax.transAxes,
                family=family, fontsize=14, color="#829ab1")
    else:
        _draw_map(fig, ax, boundary, projects, family, map_dict, width_px)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def _boundary(geometry) -> shapely.Geometry | None:
    if not geometry:
        return None
    if isinstance(geometry, str):
        geom = shapely.from_geojson(geometry)
    else:
        geom = shapely.geometry.shape(geometry)
    return None if geom.is_empty else geom


def _located(project: dict) -> bool:
    return project.get("lon") is not None and project.get("lat") is not None


def _draw_map(fig, ax, boundary, projects: list[dict], family: str, map_dict: dict,
              width_px: int) -> None:
    lons = np.array([float(p["lon"]) for p in projects])
    lats = np.array([float(p["lat"]) for p in projects])
    centre = boundary.centroid if boundary is not None else shapely.Point(lons[0], lats[0])
    project, unproject, crs_label = _metric_projection(centre.x, centre.y)
    xs, ys = project(lons, lats)
    def metres(geometry):
        return shapely.transform(geometry, lambda c: np.column_stack(project(c[:, 0], c[:, 1])))

    if boundary is not None:
        boundary = metres(boundary)
    extent = _extent(boundary, xs, ys)
    basemap = _draw_basemap(ax, extent, unproject, map_dict, width_px, metres, family)
    if boundary is not None:
        ax.add_patch(PathPatch(_path(boundary), facecolor=BOUNDARY_FILL, edgecolor="#1d3557",
                               linewidth=1.2, zorder=1))
    fig.set_size_inches(fig.get_figwidth(), fig.get_figwidth() * _aspect(extent))
    ax.set_xlim(extent[0], extent[2])
    ax.set_ylim(extent[1], extent[3])
    ax.set_aspect("equal", adjustable="box")
    _draw_projects(ax, xs, ys, projects, family)
    _scale_bar(ax, extent[2] - extent[0], family)
    _north_arrow(ax, family)
    ax.text(0.0, 1.0, f"{crs_label} · {basemap}", transform=ax.transAxes, ha="left",
            va="top", family=family, fontsize=6, color="#627d98",
            bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})


def _draw_basemap(ax, extent, unproject, map_dict: dict, width_px: int, metres,
                  family: str) -> str:
    """The configured tile basemap when its tiles come in time, else the outline; the line
    that says which (with attribution and 审图号) under the map's title."""
    source, missed = map_dict.get("basemap"), ""
    if source:
        try:
            raster = tilebase.basemap_raster(source, extent, unproject, width_px,
                                             source.get("timeout", 10.0))
        except tilebase.TilesUnavailable as exc:
            log.warning("report map: basemap %s not drawn: %s", source["id"], exc.__cause__)
            missed = f"；{source['name']}的瓦片未能取得"
        else:
            ax.imshow(raster, extent=(extent[0], extent[2], extent[1], extent[3]),
                      origin="upper", interpolation="bilinear", zorder=0)
            approval = source.get("approval_number")
            return "底图：" + " · ".join(
                filter(None, (source.get("attribution") or source["name"],
                              f"审图号：{approval}" if approval else "")))
    if _draw_outline(ax, extent, map_dict.get("outline") or [], metres, family):
        return f"底图：行政区划轮廓（离线）{missed}"
    return f"无底图{missed}"


def _draw_outline(ax, extent, outline: list[dict], metres, family: str) -> bool:
    """The neighbours around the district, under it: grey outlines, names where their label
    point falls inside the map. Whether any was drawn."""
    frame = shapely.box(*extent)
    drawn = False
    for item in outline:
        shape = _boundary(item.get("geometry"))
        if shape is None:
            continue
        shape = metres(shape)
        if not shape.intersects(frame):
            continue
        city = item.get("level") == "city"
        ax.add_patch(PathPatch(_path(shape), facecolor="#fafbfc", edgecolor="#9fb3c8",
                               linewidth=1.0 if city else 0.6, zorder=0.5))
        drawn = True
        # named inside the part of it the map shows, when that part is big enough to hold it
        seen = shape.intersection(frame)
        if seen.area > frame.area * 0.02:
            spot = seen.point_on_surface()
            ax.text(spot.x, spot.y, item.get("name", ""), ha="center", va="center",
                    family=family, fontsize=7, color="#829ab1", zorder=0.6, clip_on=True)
    return drawn


def _metric_projection(lon: float, lat: float):
    """(lon, lat -> x, y metres; x, y -> lon, lat; label) for the map's centre.

    Inside China the CGCS2000 Gauss-Krüger zone of the centre; elsewhere (test data, a
    neighbour's border town) an azimuthal equidistant projection on the centre.
    """
    try:
        epsg = coords.cgcs2000_gk_epsg(lon)
    except ValueError:
        crs = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84")
        to_metres = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
        return (to_metres.transform,
                (lambda x, y: to_metres.transform(x, y, direction="INVERSE")), "等距方位投影")
    label = f"CGCS2000 3 度带高斯-克吕格投影（EPSG:{epsg}）"
    return ((lambda x, y: coords.transform(x, y, "wgs84", epsg)),
            (lambda x, y: coords.transform(x, y, epsg, "wgs84")), label)


def _path(geometry) -> Path:
    """A compound path of every polygon (holes included) of ``geometry``."""
    paths = []
    for part in shapely.get_parts(geometry):
        if not isinstance(part, shapely.Polygon):
            continue
        for ring in (part.exterior, *part.interiors):
            xy = np.asarray(ring.coords)[:, :2]
            codes = [Path.MOVETO] + [Path.LINETO] * (len(xy) - 2) + [Path.CLOSEPOLY]
            paths.append(Path(xy, codes))
    return Path.make_compound_path(*paths) if paths else Path(np.empty((0, 2)))


def _extent(boundary, xs: np.ndarray, ys: np.ndarray) -> tuple[float, float, float, float]:
    """Bounds of everything drawn, padded so the legend and scale bar have room."""
    boxes = [shapely.bounds(boundary)] if boundary is not None else []
    if len(xs):
        boxes.append((xs.min(), ys.min(), xs.max(), ys.max()))
    box = np.array(boxes)
    low, high = box[:, :2].min(axis=0), box[:, 2:].max(axis=0)
    centre = (low + high) / 2
    # At least 2 km across, so a lone project still shows its surroundings.
    half = np.maximum((high - low) / 2, 1000.0)
    pad = half.max() * 0.16
    return (centre[0] - half[0] - pad, centre[1] - half[1] - pad * 2.5,
            centre[0] + half[0] + pad, centre[1] + half[1] + pad)


def _aspect(extent) -> float:
    """Figure height over width: the district's own shape, within what fits an A4 page."""
    return min(1.0, max(0.6, (extent[3] - extent[1]) / (extent[2] - extent[0])))


def risk_class(project: dict) -> str:
    """The legend class of a project from its open and severe open risk events.

    >>> risk_class({"open_risk_events": 3, "severe_open_risk_events": 1})
    'severe'
    >>> risk_class({"open_risk_events": 2}), risk_class({"open_risk_events": 0}), risk_class({})
    ('open', 'none', 'plain')
    """
    severe = project.get("severe_open_risk_events")
    opened = project.get("open_risk_events")
    if severe is None and opened is None:
        return "plain"
    if severe:
        return "severe"
    return "open" if opened else "none"


def _draw_projects(ax, xs, ys, projects: list[dict], family: str) -> None:
    if not projects:
        return
    classes = np.array([risk_class(p) for p in projects])
    sizes = np.array([14 + 16 * math.sqrt(min(p.get("open_risk_events") or 0, 50))
                      for p in projects])
    # Every risk class keeps its legend entry (a zero count is news too); "plain" only
    # appears for projects without risk figures.
    shown = [] if (classes == "plain").all() else list(RISK_CLASSES)
    if (classes == "plain").any():
        shown.append(_PLAIN)
    handles = []
    for key, label, colour in shown:
        chosen = classes == key
        ax.scatter(xs[chosen], ys[chosen], s=sizes[chosen], c=colour, edgecolors="white",
                   linewidths=0.5, alpha=0.9, zorder=2 + len(handles))
        handles.append(Line2D([], [], marker="o", linestyle="", markersize=6, color=colour,
                              label=f"{label}（{int(chosen.sum())} 个）"))
    sized = any(p.get("open_risk_events") is not None for p in projects)
    ax.legend(handles=handles, loc="lower right", framealpha=0.9, edgecolor="#d9e2ec",
              prop={"family": family, "size": 8},
              title="点的大小：未销项风险事件数" if sized else None,
              title_fontproperties=FontProperties(family=family, size=8))


def nice_length(span: float) -> float:
    """A round scale-bar length (1, 2 or 5 × 10ⁿ metres) near a fifth of ``span``.

    >>> nice_length(12_000), nice_length(3_300), nice_length(80_000)
    (2000.0, 500.0, 10000.0)
    """
    target = span / 5
    power = 10 ** math.floor(math.log10(target))
    return float(max(m * power for m in (1, 2, 5) if m * power <= target))


def _scale_bar(ax, span: float, family: str) -> None:
    length = nice_length(span)
    label = f"{length / 1000:g} 公里" if length >= 1000 else f"{length:g} 米"
    ax.add_artist(AnchoredSizeBar(
        ax.transData, length, label, "lower left", pad=0.6, borderpad=0.8, sep=3,
        frameon=False, size_vertical=span / 250, color="#1f2933",
        fontproperties=FontProperties(family=family, size=8)))


def _north_arrow(ax, family: str) -> None:
    # Grid north of a Gauss-Krüger zone is within 1.5° of true north near its central
    # meridian, closer than a printed arrow can show.
    ax.annotate("", xy=(0.95, 0.93), xytext=(0.95, 0.82), xycoords="axes fraction",
                arrowprops={"facecolor": "#1f2933", "edgecolor": "none", "width": 3,
                            "headwidth": 10, "headlength": 9})
    ax.text(0.95, 0.94, "北", transform=ax.transAxes, ha="center", va="bottom",
            family=family, fontsize=9, weight="bold")
