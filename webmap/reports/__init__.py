"""Reports: a district's report and the regulator's periodic statistics report, written
as PDF, XLSX, CSV, GeoJSON or GeoPackage.

A report is built once as a plain dict (`layers.reports`) and every format renders that
same dict, so the figures of a PDF and of its XLSX cannot disagree. Its shape:

``kind``
    ``"district"`` or ``"periodic"``.
``title``, ``subtitle``, ``city_name``, ``made_at`` (text, local time), ``data_version``
``district``
    ``{"code": "530102", "name": "五华区"}``; ``None`` in a periodic report.
``filters``
    ``[[label, value], ...]`` in Chinese, e.g. ``[["统计期间", "2024-01-01 至 2024-12-31"]]``.
``scope_note``
    Whose business the report covers when the reader only sees part of it ("" otherwise).
``indicators``
    The key figures: ``{"id", "title", "unit", "decimals", "group", "value", "city"}``;
    ``city`` is the whole city's figure beside the district's (``None`` when there is none).
    Values are already in ``unit`` (万元, m², %, 个 …).
``sections``
    ``layers.statistics`` sections: ``{"id", "title", "indicators", "charts", "tables"}``;
    a section's indicators have the shape above without ``city``.
``charts`` (inside sections)
    ``{"id", "title", "kind", "unit", "categories", "series": [{"name", "values"}]}`` with
    ``kind`` one of ``bar``, ``line``, ``pie``, ``histogram`` (categories are the bins).
``tables``
    ``{"id", "title", "columns": [{"id", "title", "unit", "decimals"}], "rows": [dict]}``;
    a column whose ``decimals`` is ``None`` holds text (dates as ``YYYY-MM-DD``).
``map``
    ``{"boundary": GeoJSON geometry, "projects": [dict]}`` or ``None``: each project has
    ``lon`` and ``lat`` (EPSG:4326) and the columns of the ``projects`` table; ``outline``,
    the neighbours drawn as the offline basemap; ``basemap``, the tile source to draw under
    the PDF's map (added by `with_basemap` from the settings, absent otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping


def with_basemap(report: dict, config: Mapping, fmt: str) -> dict:
    """The report with the configured tile basemap (if any) on its map when it is made as a
    PDF; other formats never carry it (its URL may hold the Tianditu key)."""
    from webmap.basemaps import for_print

    if fmt == "pdf" and report.get("map") is not None:
        report["map"]["basemap"] = for_print(config)
    return report
