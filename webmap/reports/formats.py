"""The formats a report can be written in, and the file name it is given."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    id: str
    label: str
    mimetype: str
    extension: str
    needs_map: bool = False

    def render(self, report: dict, progress: Callable[[str, float], None] | None = None) -> bytes:
        # the writers load WeasyPrint, matplotlib and GDAL: only when a report is made
        if self.id == "pdf":
            from webmap.reports.pdf import render_pdf
            return render_pdf(report, progress=progress)
        if self.id == "xlsx":
            from webmap.reports.workbook import render_xlsx
            return render_xlsx(report, progress=progress)
        from webmap.reports import tabular
        return {"csv": tabular.render_csv, "geojson": tabular.render_geojson,
                "gpkg": tabular.render_gpkg}[self.id](report)


FORMATS = {f.id: f for f in (
    Format("pdf", "PDF", "application/pdf", "pdf"),
    Format("xlsx", "Excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "xlsx"),
    Format("csv", "CSV", "text/csv; charset=utf-8", "csv"),
    Format("geojson", "GeoJSON", "application/geo+json", "geojson", needs_map=True),
    Format("gpkg", "GeoPackage", "application/geopackage+sqlite3", "gpkg", needs_map=True),
)}
DISTRICT_FORMATS = tuple(FORMATS)
PERIODIC_FORMATS = ("pdf", "xlsx")


def report_filename(report: dict, fmt: Format) -> str:
    """A file name that says what the report is, safe on every file system.

    >>> report_filename({"kind": "district", "district": {"code": "530102", "name": "五华区"},
    ...                  "filters": [["统计期间", "2024-01-01 至 2024-12-31"]]}, FORMATS["pdf"])
    '五华区区域报告_530102_2024-01-01至2024-12-31.pdf'
    >>> report_filename({"kind": "periodic", "district": None, "subtitle": "统计期间 2024-Q2（…）",
    ...                  "filters": [["统计期间", "…"]]}, FORMATS["xlsx"])
    '平台统计报表_2024-Q2.xlsx'
    """
    if report["kind"] == "district":
        period = dict(report["filters"]).get("统计期间", "全部").replace(" ", "")
        stem = f"{report['district']['name']}区域报告_{report['district']['code']}_{period}"
    else:
        stem = "平台统计报表_" + report["subtitle"].split()[1].split("（")[0]
    return re.sub(r'[\\/:*?"<>|\s]+', "_", stem) + "." + fmt.extension
