"""Charts of a report drawn as PNG images with matplotlib, for the PDF and other writers.

Only matplotlib's object-oriented API is used (a ``Figure`` on its own Agg canvas): pyplot
keeps global figures and a global backend that a long-running web server must not share
between threads. Chinese text needs a CJK font; Noto Sans CJK (Debian's fonts-noto-cjk)
is looked up through ``matplotlib.font_manager`` and named on every text element instead of
changing the global ``rcParams``.
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib import font_manager, ticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

CJK_FAMILY = "Noto Sans CJK SC"
# Where Debian's fonts-noto-cjk puts the face; used when matplotlib's font cache predates it.
_DEBIAN_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
PALETTE = ("#1d3557", "#e76f51", "#2a9d8f", "#e9c46a", "#457b9d", "#9d4edd",
           "#f4a261", "#6c757d", "#90be6d", "#c1121f")
NO_DATA = "无数据"
_MIN_SLOTS = 4
_PLOT_SHARE = 0.82  # of a chart's width inside its axes, the rest being tick labels

_found_family: str | None = None


def cjk_family() -> str:
    """The name of an installed Noto Sans CJK family that matplotlib can draw Chinese with.

    Raises RuntimeError naming the Debian package to install when there is none.
    """
    global _found_family
    if _found_family is None:
        _found_family = _find_cjk_family()
    return _found_family


def _find_cjk_family() -> str:
    names = {entry.name for entry in font_manager.fontManager.ttflist}
    if CJK_FAMILY not in names and _DEBIAN_FONT.exists():
        # The font was installed after matplotlib cached its font list.
        font_manager.fontManager.addfont(str(_DEBIAN_FONT))
        names = {entry.name for entry in font_manager.fontManager.ttflist}
    for name in (CJK_FAMILY, *sorted(n for n in names if n.startswith("Noto Sans CJK"))):
        if name in names:
            return name
    raise RuntimeError(
        "no Noto Sans CJK font found for the report charts: install the Debian package "
        "fonts-noto-cjk (apt-get install fonts-noto-cjk) / 未找到 Noto Sans CJK 字体，"
        "请安装 Debian 软件包 fonts-noto-cjk"
    )


def display_width(text: str) -> int:
    """Columns ``text`` takes in print: Chinese characters count twice.

    >>> display_width("中国人寿"), display_width("PICC 1")
    (8, 6)
    """
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(text))


def short_number(value: float) -> str:
    """A value for a tick or a bar label: thousands separators, few decimals.

    >>> short_number(1234567), short_number(12.5), short_number(0.0425), short_number(-3.0)
    ('1,234,567', '12.5', '0.0425', '-3')
    """
    if value == int(value) or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


@dataclass(frozen=True)
class _Plot:
    """What the drawers need of a chart, cleaned: labels as text, missing values as NaN."""
    categories: list[str]
    series: list[tuple[str, np.ndarray]]
    unit: str
    decimals: int | None
    family: str
    width_in: float

    def slot_columns(self, slots: int) -> float:
        """Half-em columns of 8 pt text one of ``slots`` categories has along the x axis."""
        return self.width_in * _PLOT_SHARE * 72 / 4 / max(slots, 1)

    @property
    def integral(self) -> bool:
        """Counts only: the value axis then ticks whole numbers."""
        values = np.concatenate([v for _, v in self.series])
        finite = values[~np.isnan(values)]
        return bool(finite.size) and bool(np.all(finite == np.round(finite)))

    def label(self, value: float) -> str:
        if math.isnan(value):
            return ""
        return short_number(value) if self.decimals is None else f"{value:,.{self.decimals}f}"


def chart_png(chart: dict, width_px: int = 1340, dpi: int = 200, show_title: bool = True) -> bytes:
    """One chart of a report (``kind`` bar, line, pie or histogram) as PNG bytes.

    ``width_px`` / ``dpi`` is the printed width in inches (the default fills an A4 page's
    text width at 1:1, so font sizes are real points). An empty chart draws "无数据"; an
    unknown kind draws as bars.
    """
    width_in = width_px / dpi
    plot = _plot(chart, cjk_family(), width_in)
    kind = chart.get("kind")
    fig = Figure(figsize=(width_in, _height(kind, plot, width_in)), dpi=dpi,
                 layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    empty = not plot.categories or not plot.series or _all_missing(plot)
    if empty or not _DRAWERS.get(kind, _draw_bar)(ax, plot):
        _draw_placeholder(ax, plot.family)
    if show_title and chart.get("title"):
        ax.set_title(str(chart["title"]), family=plot.family, fontsize=11, weight="bold")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def _plot(chart: dict, family: str, width_in: float) -> _Plot:
    categories = [str(c) for c in chart.get("categories") or []]
    series = [(str(s.get("name") or ""), _values(s["values"], len(categories)))
              for s in chart.get("series") or [] if s.get("values") is not None]
    return _Plot(categories, series, str(chart.get("unit") or ""), chart.get("decimals"),
                 family, width_in)


def _all_missing(plot: _Plot) -> bool:
    return all(np.isnan(values).all() for _, values in plot.series)


def _values(raw: Sequence, n: int) -> np.ndarray:
    """Values as floats for ``n`` categories, missing ones (None, short lists) as NaN."""
    padded = list(raw)[:n] + [None] * max(0, n - len(raw))
    return np.array([np.nan if v is None else float(v) for v in padded], dtype=float)


def horizontal_bars(categories: Sequence[str]) -> bool:
    """Whether a bar chart lies on its side: long labels (insurer names) or many bars.

    >>> horizontal_bars(["五华区", "盘龙区"]), horizontal_bars(["中国人民财产保险股份有限公司"])
    (False, True)
    """
    return len(categories) > 60 or max(map(display_width, categories), default=0) > 10


def _height(kind, plot: _Plot, width_in: float) -> float:
    if kind == "bar" and horizontal_bars(plot.categories):
        per_bar = 0.22 + 0.08 * (len(plot.series) - 1)
        return min(9.0, max(2.4, 0.9 + per_bar * len(plot.categories)))
    # A half-page chart keeps room for its axis labels by being relatively taller.
    return max(2.4, width_in * (0.45 if kind == "pie" else 0.48))


def _style_axes(ax, plot: _Plot, value_axis: str) -> None:
    ax.tick_params(labelfontfamily=plot.family, labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    axis = ax.yaxis if value_axis == "y" else ax.xaxis
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: short_number(v)))
    if plot.integral:
        axis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.grid(axis=value_axis, color="#d9e2ec", linewidth=0.6)
    ax.set_axisbelow(True)
    if plot.unit:
        label = ax.set_ylabel if value_axis == "y" else ax.set_xlabel
        label(f"单位：{plot.unit}", family=plot.family, fontsize=8)


def _legend(ax, plot: _Plot) -> None:
    """Below the axes, where it can hide no bar or line."""
    if len(plot.series) > 1:
        ax.figure.legend(loc="outside lower center", ncols=min(len(plot.series), 4),
                         prop={"family": plot.family, "size": 8}, frameon=False)


def _few_slots(ax, n: int, axis: str) -> None:
    """Keep a bar's width sensible when there are only one or two categories."""
    if n < _MIN_SLOTS:
        spare = (_MIN_SLOTS - n) / 2
        (ax.set_xlim if axis == "x" else ax.set_ylim)(-0.5 - spare, n - 0.5 + spare)


def _category_ticks(ax, plot: _Plot) -> None:
    """Category labels under the x axis, thinned and slanted as their number and length need."""
    n = len(plot.categories)
    step = max(1, math.ceil(n / 24))
    shown = range(0, n, step)
    ax.set_xticks(shown, [plot.categories[i] for i in shown])
    if max(map(display_width, plot.categories)) + 1 > plot.slot_columns(len(shown)):
        for label in ax.get_xticklabels():
            label.set(rotation=40, ha="right", rotation_mode="anchor")


def _value_labels(plot: _Plot, values: np.ndarray, horizontal: bool) -> list[str] | None:
    """Labels over the bars, shortened or left out when they would run into each other."""
    if len(values) > 20:
        return None
    labels = [plot.label(v) for v in values]
    if horizontal:
        return labels
    room = plot.slot_columns(len(values))
    if max(map(len, labels)) > room:
        labels = ["" if math.isnan(v) else short_number(v) for v in values]
    return labels if max(map(len, labels)) <= room else None


def _draw_bar(ax, plot: _Plot) -> bool:
    n, k = len(plot.categories), len(plot.series)
    width = 0.8 / k
    horizontal = horizontal_bars(plot.categories)
    positions = np.arange(n)
    draw = ax.barh if horizontal else ax.bar
    for i, (name, values) in enumerate(plot.series):
        bars = draw(positions + (i - (k - 1) / 2) * width, np.nan_to_num(values), width,
                    label=name, color=PALETTE[i % len(PALETTE)])
        labels = _value_labels(plot, values, horizontal) if k == 1 else None
        if labels:
            ax.bar_label(bars, labels=labels, padding=2, fontsize=7, family=plot.family)
    _style_axes(ax, plot, "x" if horizontal else "y")
    if k == 1 and n <= 20:
        ax.margins(**{"x" if horizontal else "y": 0.1})  # room for the value labels
    _few_slots(ax, n, "y" if horizontal else "x")
    if horizontal:
        ax.set_yticks(positions, plot.categories)
        ax.invert_yaxis()  # the first category on top, as in the table beside it
    else:
        _category_ticks(ax, plot)
    _legend(ax, plot)
    return True


def _draw_line(ax, plot: _Plot) -> bool:
    n = len(plot.categories)
    for i, (name, values) in enumerate(plot.series):
        ax.plot(range(n), values, label=name, linewidth=1.6, marker="o" if n <= 40 else None,
                markersize=3.5, color=PALETTE[i % len(PALETTE)])
    _style_axes(ax, plot, "y")
    _category_ticks(ax, plot)
    ax.margins(x=0.02)
    _legend(ax, plot)
    return True


def _draw_histogram(ax, plot: _Plot) -> bool:
    """Bins are already counted: bars that touch, one colour per series."""
    n, k = len(plot.categories), len(plot.series)
    for i, (name, values) in enumerate(plot.series):
        ax.bar(np.arange(n), np.nan_to_num(values), 1.0, alpha=0.85 if k > 1 else 1,
               label=name, color=PALETTE[i % len(PALETTE)], edgecolor="white", linewidth=0.6)
    _style_axes(ax, plot, "y")
    _few_slots(ax, n, "x")
    _category_ticks(ax, plot)
    _legend(ax, plot)
    return True


def _draw_pie(ax, plot: _Plot) -> bool:
    """The first series as a pie; slices that are missing, zero or negative are left out."""
    keep = [(c, v) for c, v in zip(plot.categories, plot.series[0][1], strict=True) if v > 0]
    if not keep:
        return False
    total = sum(v for _, v in keep)
    wedges, *_ = ax.pie(
        [v for _, v in keep], colors=[PALETTE[i % len(PALETTE)] for i in range(len(keep))],
        startangle=90, counterclock=False, wedgeprops={"edgecolor": "white", "linewidth": 1},
        autopct=lambda pct: f"{pct:.1f}%" if pct >= 4 else "", pctdistance=0.72,
        textprops={"family": plot.family, "fontsize": 7, "color": "white"},
    )
    suffix = f" {plot.unit}" if plot.unit and plot.unit != "%" else ""
    labels = [f"{c}  {plot.label(v)}{suffix}（{v / total:.1%}）" for c, v in keep]
    ax.legend(wedges, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False,
              prop={"family": plot.family, "size": 8})
    ax.set_aspect("equal")
    return True


def _draw_placeholder(ax, family: str) -> None:
    ax.clear()
    ax.set_axis_off()
    ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", transform=ax.transAxes,
            family=family, fontsize=14, color="#829ab1")


_DRAWERS = {"bar": _draw_bar, "line": _draw_line, "pie": _draw_pie,
            "histogram": _draw_histogram}
