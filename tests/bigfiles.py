"""Large and hostile files made on the spot: a big XLSX written straight as its XML (openpyxl
would take minutes for a million rows), a zip bomb, a polygon of many vertices."""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape

_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
        'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
        'worksheet+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="项目" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
}


def _cell(value) -> str:
    if isinstance(value, (int, float)):
        return f"<c><v>{value}</v></c>"
    return f'<c t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def write_xlsx(path: Path, headers: list[str], rows: Iterable[list]) -> Path:
    """An XLSX of one sheet: the header row, then ``rows``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, content in _PARTS.items():
            archive.writestr(name, content)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet '
                        b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                        b"<sheetData>")
            batch = []
            for row in _with_header(headers, rows):
                batch.append("<row>" + "".join(map(_cell, row)) + "</row>")
                if len(batch) == 2000:
                    sheet.write("".join(batch).encode())
                    batch.clear()
            sheet.write(("".join(batch) + "</sheetData></worksheet>").encode())
    return path


def _with_header(headers: list[str], rows: Iterable[list]) -> Iterable[list]:
    yield headers
    yield from rows


def zip_bomb(path: Path, member: str = "项目.shp", gib: float = 1.0) -> Path:
    """A small zip whose one member unpacks to ``gib`` GiB of zeros."""
    chunk = bytes(1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open(member, "w", force_zip64=True) as sink:
            for _ in range(int(gib * 1024)):
                sink.write(chunk)
    return path


def polygon_geojson(path: Path, properties: dict, centre: tuple[float, float],
                    vertices: int, radius_deg: float = 0.002) -> Path:
    """A GeoJSON of one project whose footprint is a circle of ``vertices`` points."""
    lon, lat = centre
    ring = [[lon + radius_deg * math.cos(2 * math.pi * i / vertices),
             lat + radius_deg * math.sin(2 * math.pi * i / vertices)] for i in range(vertices)]
    ring.append(ring[0])
    feature = {"type": "Feature", "properties": properties,
               "geometry": {"type": "Polygon", "coordinates": [ring]}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]},
                               ensure_ascii=False), encoding="utf-8")
    return path
