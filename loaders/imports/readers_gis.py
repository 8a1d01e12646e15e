"""GIS files read with pyogrio (GDAL): GeoJSON, GeoPackage, Shapefile and zipped Shapefile.

A zip is checked member by member (count, unpacked size, expansion) before it is unpacked,
beside the upload, never into a shared temporary folder. A Shapefile without its .prj is
marked as needing a stated coordinate system. GDAL's messages name files by their path on
the server: only the file's name is passed on.
"""

from __future__ import annotations

import math
import re
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from loaders.imports import limits
from loaders.imports.readers import (
    DEFAULT_SHAPEFILE_ENCODING,
    SourceRow,
    SourceTable,
    _error,
    without_paths,
)


def _cpg_encoding(shp: Path) -> str | None:
    """The encoding named by the .cpg next to a shapefile, None when there is none."""
    cpg = next((p for p in (shp.with_suffix(".cpg"), shp.with_suffix(".CPG")) if p.is_file()),
               None)
    text = cpg.read_text(encoding="ascii", errors="ignore").strip() if cpg else ""
    return _codepage_name(text) if text else None


def _codepage_name(name: str) -> str:
    """An encoding name GDAL understands, from a codec name or an ArcGIS code page number.

    pyogrio hands `encoding` to GDAL, which knows "CP936" but not "936" or "ANSI 936";
    an encoding GDAL does not know silently leaves GBK bytes undecoded.

    >>> [_codepage_name(n) for n in ("ANSI 936", "936", "65001", "88591", " UTF-8 ", "GBK")]
    ['CP936', 'CP936', 'UTF-8', 'ISO-8859-1', 'UTF-8', 'GBK']
    """
    digits = re.fullmatch(r"(?:ANSI|CP|OEM)?\s*(\d+)", name.strip(), re.IGNORECASE)
    if digits is None:
        return name.strip()
    number = digits[1]
    if number.startswith("8859"):  # "88591" is ISO-8859-1 in .cpg files
        return f"ISO-8859-{number[4:]}"
    return "UTF-8" if number == "65001" else f"CP{number}"


def _unzip_shapefile(path: Path, into: Path) -> Path:
    try:
        limits.extract(path, into)  # checked member by member before anything is unpacked
    except zipfile.BadZipFile:
        raise _error(path, "不是有效的 zip 文件", "not a valid zip file") from None
    except limits.ArchiveRefused as exc:
        raise _error(path, exc.zh, exc.en) from None
    found = [p for p in into.rglob("*") if p.suffix.lower() == ".shp"
             and "__MACOSX" not in p.parts]
    if len(found) != 1:
        names = "、".join(p.name for p in found) or "无 / none"
        raise _error(path, f"zip 中应恰好有一个 Shapefile (.shp)，实际：{names}",
                     f"the zip must hold exactly one shapefile (.shp); found: {names}")
    return found[0]


def read_gis(path: Path, layer: str | None, encoding: str | None) -> SourceTable:
    if path.suffix.lower() != ".zip":
        return _read_dataset(path, path, layer, encoding)
    with tempfile.TemporaryDirectory(prefix="riskmap-unzip-", dir=path.parent) as tmp:
        return _read_dataset(_unzip_shapefile(path, Path(tmp)), path, None, encoding)


def _gpkg_layer(path: Path, layer: str | None) -> str:
    try:
        layers = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except pyogrio.errors.DataSourceError as exc:
        raise _error(path, f"无法打开 GeoPackage：{exc}",
                     f"cannot open GeoPackage: {exc}") from None
    if layer is None and layers:
        return layers[0]
    if layer not in layers:
        listed = "、".join(layers)
        raise _error(path, f"找不到图层「{layer}」，文件中的图层有：{listed}",
                     f"no layer named '{layer}'; the layers are: {', '.join(layers)}")
    return layer


def _read_dataset(source: Path, shown: Path, layer: str | None,
                  encoding: str | None) -> SourceTable:
    """Read one GIS layer with pyogrio; `shown` is the file the user sent (maybe a zip)."""
    if source.suffix.lower() == ".shp":
        # pyogrio/GDAL read a .dbf without .cpg as Latin-1, turning GBK into mojibake.
        given = _codepage_name(encoding) if encoding else None
        encoding = given or _cpg_encoding(source) or DEFAULT_SHAPEFILE_ENCODING
    if source.suffix.lower() == ".gpkg":
        layer = _gpkg_layer(source, layer)
    try:
        df = pyogrio.read_dataframe(source, layer=layer, encoding=encoding)
    except (RuntimeError, ValueError) as exc:  # pyogrio errors, UnicodeDecodeError
        said = without_paths(str(exc))  # GDAL names the file by its path on this server
        raise _error(shown, f"无法读取 GIS 文件：{said}", f"cannot read GIS file: {said}",
                     sheet=layer) from None
    if len(df) > limits.current().max_rows:
        limit = limits.current().max_rows
        raise _error(shown, f"数据超过 {limit:,} 行的上限，请拆分成几个文件后分别导入",
                     f"more than {limit:,} features; split the file and import the parts",
                     sheet=layer)
    # A layer without geometry (a plain GeoPackage table) comes back as a pandas DataFrame.
    geometry = df.geometry if isinstance(df, gpd.GeoDataFrame) else None
    attributes = df.drop(columns=[geometry.name]) if geometry is not None else df
    headers = [str(c) for c in attributes.columns]
    records = attributes.astype(object).itertuples(index=False, name=None)
    shapes = geometry.array if geometry is not None else [None] * len(df)
    rows = [SourceRow(i + 1, {**{h: _plain(v) for h, v in zip(headers, values, strict=True)},
                              **_geometry_cells(shape)})
            for i, (values, shape) in enumerate(zip(records, shapes, strict=True))]
    crs = _crs_text(df.crs) if geometry is not None else None
    # a Shapefile keeps its coordinate system in the .prj beside it; without one the
    # coordinates may be in any system, and guessing WGS84 would misplace every project
    needs_crs = source.suffix.lower() == ".shp" and geometry is not None and crs is None
    return SourceTable(path=shown, headers=headers, rows=rows, header_row=None,
                       encoding=encoding, crs=crs, sheet=layer, needs_crs=needs_crs)


def _plain(value: object) -> object:
    """pandas' missing markers become None and Timestamps datetimes, for uniform checking."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _geometry_cells(geom) -> dict[str, object]:
    if geom is None or geom.is_empty:
        return {}
    if geom.geom_type == "Point":
        return {"__x": geom.x, "__y": geom.y}
    try:
        # A point inside the shape, unlike the centroid of an L-shaped or multi-part footprint.
        point = geom.representative_point()
    except shapely.errors.GEOSException:
        point = shapely.make_valid(geom).representative_point()
    cells: dict[str, object] = {} if point.is_empty else {"__x": point.x, "__y": point.y}
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        cells["__footprint_wkb"] = shapely.to_wkb(shapely.force_2d(geom))
    return cells


def _crs_text(crs) -> str | None:
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()

