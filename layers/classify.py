"""Class breaks and legends for choropleths, through mapclassify."""

from __future__ import annotations

import bisect
import warnings

import mapclassify
import numpy as np

from layers.catalogue import NO_DATA_COLOUR, Layer

K = 5


def class_breaks(layer: Layer, values: list[float | None]) -> list[float]:
    """Upper bounds of each class for the layer's method (fewer when values are few).

    >>> from layers.catalogue import get
    >>> [round(b, 1) for b in class_breaks(get("projects"), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])]
    [2.8, 4.6, 6.4, 8.2, 10.0]
    >>> class_breaks(get("rectification_rate"), [50, 99])
    [80.0, 90.0, 95.0, 98.0, 100.0]
    """
    if layer.classification == "fixed":
        return [float(b) for b in layer.breaks]
    data = np.array([v for v in values if v is not None], dtype=float)
    distinct = np.unique(data)
    if distinct.size == 0:
        return []
    if distinct.size <= K:
        return [float(v) for v in distinct]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mapclassify warns about ties; breaks stay usable
        if layer.classification == "natural_breaks":
            classifier = mapclassify.NaturalBreaks(data, k=K)
        else:
            classifier = mapclassify.Quantiles(data, k=K)
    return [float(b) for b in np.unique(classifier.bins)]


def class_of(value: float | None, breaks: list[float]) -> int | None:
    """Index of the class a value falls in (the last class takes anything above).

    >>> class_of(3, [2.0, 4.0, 6.0]), class_of(99, [2.0, 4.0]), class_of(None, [1.0])
    (1, 1, None)
    """
    if value is None or not breaks:
        return None
    return min(bisect.bisect_left(breaks, value), len(breaks) - 1)


def legend(layer: Layer, breaks: list[float]) -> dict:
    """Legend entries: a label with the range and unit, and the colour of each class."""
    colours = layer.colours(K)
    step = max(len(colours) // max(len(breaks), 1), 1)
    picked = [colours[min(i * step + (step - 1), len(colours) - 1)] for i in range(len(breaks))]
    if len(breaks) == len(colours):
        picked = colours
    labels, lower = [], None
    for upper in breaks:
        low = "" if lower is None else f"{lower:,.{layer.decimals}f}"
        labels.append(f"{low} – {upper:,.{layer.decimals}f}" if low else
                      f"≤ {upper:,.{layer.decimals}f}")
        lower = upper
    return {
        "title": layer.title_zh, "unit": layer.unit, "breaks": breaks,
        "colours": picked, "labels": labels, "no_data": {"colour": NO_DATA_COLOUR,
                                                         "label": "无数据"},
    }
