"""Read the tables that insurers and inspection agencies send, whatever the file format.

Every reader returns the same `SourceTable`: header text as written, raw cell values and
the row number a user sees in their own program, so later checks can say "第 7 行" and be
found. Nothing here interprets a value; parsing belongs to the column definitions.

CSV and XLSX files from Chinese offices put title rows above the header and come in
UTF-8, UTF-8 with BOM or GBK; GIS files come as GeoJSON, GeoPackage or Shapefile, the
latter often written by older tools as GBK without a .cpg file.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

TEXT_SUFFIXES = (".csv", ".txt")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
GIS_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip")
SUPPORTED = TEXT_SUFFIXES + XLSX_SUFFIXES + GIS_SUFFIXES
HEADER_SEARCH_ROWS = 20
MIN_HEADER_MATCHES = 2
DELIMITERS = (",", "\t", ";")
# Shapefiles without a .cpg from Chinese GIS tools (old ArcGIS, MapGIS, SuperMap) are GBK.
DEFAULT_SHAPEFILE_ENCODING = "GBK"
_BRACKETS = str.maketrans("（）【】［］｛｝", "()[][]{}")


@dataclass
class SourceRow:
    number: int                 # row number as the user sees it (spreadsheet row / feature + 1)
    cells: dict[str, object]    # header text as written -> raw value


@dataclass
class SourceTable:
    path: Path
    headers: list[str]
    rows: list[SourceRow]
    header_row: int | None      # 1-based; None for GIS files, whose columns are named
    encoding: str | None        # text encoding used for CSV / Shapefile attributes
    crs: str | None             # "EPSG:nnnn" when known, else WKT, else None
    sheet: str | None           # XLSX sheet or GeoPackage layer that was read


class SourceError(ValueError):
    """A file that cannot be read as a table; the message is for the person who sent it."""


def _error(path: Path, zh: str, en: str, *, sheet: str | None = None,
           row: int | None = None) -> SourceError:
    where_zh = path.name + (f" 工作表「{sheet}」" if sheet else "")
    where_zh += f" 第 {row} 行" if row else ""
    where_en = path.name + (f", sheet '{sheet}'" if sheet else "") + (f", row {row}" if row else "")
    return SourceError(f"{where_zh}：{zh} / {where_en}: {en}")


def read_table(path: str | Path, *, known_headers: set[str], sheet: str | None = None,
               encoding: str | None = None) -> SourceTable:
    """Read a CSV, XLSX, GeoJSON, GeoPackage, Shapefile or zipped Shapefile."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise _error(path, "不支持旧版 Excel（.xls）文件，请在 Excel/WPS 中另存为 .xlsx 后再上传",
                     "old Excel .xls files are not supported; save the file as .xlsx and retry")
    if suffix not in SUPPORTED:
        formats = "、".join(SUPPORTED)
        raise _error(path, f"不支持的文件格式，支持：{formats}",
                     f"unsupported file type; supported formats: {', '.join(SUPPORTED)}")
    if not path.is_file():
        raise _error(path, "文件不存在", "file not found")
    if suffix in TEXT_SUFFIXES:
        return _read_csv(path, known_headers, encoding)
    if suffix in XLSX_SUFFIXES:
        return _read_xlsx(path, known_headers, sheet)
    return _read_gis(path, sheet, encoding)


# --- header detection, shared by CSV and XLSX -------------------------------------------

def _header_key(text: object) -> str:
    """Header text reduced for finding the header row: no spaces, ASCII brackets, casefolded.

    >>> _header_key(" 建筑面积（m²） "), _header_key("Project_Name")
    ('建筑面积(m²)', 'project_name')
    """
    return re.sub(r"\s+", "", _cell_text(text)).translate(_BRACKETS).casefold()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    # Excel stores a header typed as 2024 as the float 2024.0.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _matches(row: list, known: set[str]) -> set[str]:
    return {n for n in map(_header_key, row) if n in known}


def _locate_header(grid: list[list], known: set[str]) -> int | None:
    """Index of the row among the first 20 naming the most known columns (first on ties)."""
    best, best_count = None, MIN_HEADER_MATCHES - 1
    for index, row in enumerate(grid[:HEADER_SEARCH_ROWS]):
        # Distinct names, so one merged cell repeated across columns cannot pass for a header.
        count = len(_matches(row, known))
        if count > best_count:
            best, best_count = index, count
    return best


def _examples(known_headers: set[str], count: int = 6) -> list[str]:
    """A few expected names, Chinese first, one spelling of each (not both bracket widths)."""
    chosen: dict[str, str] = {}
    for name in sorted(known_headers, key=lambda h: (h.isascii(), h)):
        chosen.setdefault(_header_key(name), name)
    return list(chosen.values())[:count]


def _no_header_error(path: Path, known_headers: set[str], sheet: str | None) -> SourceError:
    examples = _examples(known_headers)
    zh_examples = "、".join(examples)
    return _error(
        path, f"前 {HEADER_SEARCH_ROWS} 行中未找到包含已知列名的表头行（应包含如：{zh_examples}）",
        f"no header row with known column names was found in the first {HEADER_SEARCH_ROWS} "
        f"rows (expected names such as: {', '.join(examples)})", sheet=sheet)


def _header_columns(path: Path, grid: list[list], index: int, known: set[str],
                    sheet: str | None) -> tuple[list[tuple[int, str]], int]:
    """(column index, header) pairs and the index of the first data row.

    A two-row header ("保险金额" over "金额（元）" and "比例") is merged into one: the lower
    cell wins where it is a known column name, the upper one elsewhere.
    """
    upper = grid[index]
    lower = grid[index + 1] if index + 1 < len(grid) else []
    extra = _matches(lower, known) - _matches(upper, known)
    width = max(len(upper), len(lower))
    if len(extra) >= MIN_HEADER_MATCHES:
        cells = [_pick_header(_at(upper, c), _at(lower, c), known) for c in range(width)]
        start = index + 2
    else:
        cells, start = list(upper), index + 1
    columns = [(c, _cell_text(v)) for c, v in enumerate(cells) if _cell_text(v)]
    repeated = [h for h, n in Counter(h for _, h in columns).items() if n > 1]
    if repeated:
        names = "、".join(repeated)
        raise _error(path, f"表头中有重复的列名：{names}", f"duplicate column names: {names}",
                     sheet=sheet, row=index + 1)
    return columns, start


def _at(row: list, column: int) -> object:
    return row[column] if column < len(row) else None


def _pick_header(upper: object, lower: object, known: set[str]) -> object:
    return lower if _header_key(lower) in known else upper


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _collect_rows(grid: list[list], start: int, columns: list[tuple[int, str]],
                  missing: object) -> list[SourceRow]:
    """Non-blank rows after the header; grid index + 1 is the row number the user sees."""
    rows = []
    for index in range(start, len(grid)):
        row = grid[index]
        cells = {h: row[c] if c < len(row) else missing for c, h in columns}
        if not all(_is_blank(v) for v in cells.values()):
            rows.append(SourceRow(index + 1, cells))
    return rows


def _grid_table(path: Path, grid: list[list], known_headers: set[str], *, missing: object,
                encoding: str | None = None, sheet: str | None = None) -> SourceTable:
    known = {_header_key(h) for h in known_headers}
    index = _locate_header(grid, known)
    if index is None:
        raise _no_header_error(path, known_headers, sheet)
    columns, start = _header_columns(path, grid, index, known, sheet)
    return SourceTable(path=path, headers=[h for _, h in columns],
                       rows=_collect_rows(grid, start, columns, missing), header_row=index + 1,
                       encoding=encoding, crs=None, sheet=sheet)


# --- CSV ----------------------------------------------------------------------------------

def _decode(path: Path, encoding: str | None) -> tuple[str, str]:
    data = path.read_bytes()
    if encoding:
        try:
            return data.decode(encoding), encoding
        except LookupError:
            raise _error(path, f"未知的文字编码 {encoding}",
                         f"unknown text encoding {encoding}") from None
        except UnicodeDecodeError as exc:
            raise _error(path, f"文件不是 {encoding} 编码（第 {exc.start} 字节）",
                         f"file is not valid {encoding} (byte {exc.start})") from None
    # Excel's "Unicode 文本" export is UTF-16 with a BOM; GB18030 would decode it as garbage.
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        text = data.decode("utf-8-sig")
        return text, "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        # GB18030 is a superset of GBK and GB2312, the encodings of Excel/WPS on Chinese Windows.
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise _error(path, "无法识别文字编码（既不是 UTF-8 也不是 GBK/GB18030），请另存为 UTF-8",
                     "text encoding not recognised (neither UTF-8 nor GBK/GB18030); "
                     "save the file as UTF-8") from None


def _parse_csv(path: Path, text: str, delimiter: str, limit: int | None = None) -> list[list]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        # One record per spreadsheet row, which is how Excel/WPS number a CSV's rows.
        return list(islice(reader, limit))
    except csv.Error as exc:
        raise _error(path, f"CSV 格式错误：{exc}", f"malformed CSV: {exc}",
                     row=reader.line_num) from None


def _pick_delimiter(path: Path, text: str, known: set[str]) -> str:
    """The delimiter that splits the most known column names out of one of the first rows.

    csv.Sniffer judges by consistent column counts, which title rows above the header break.
    """
    def score(delimiter: str) -> int:
        head = _parse_csv(path, text, delimiter, HEADER_SEARCH_ROWS)
        return max((len(_matches(row, known)) for row in head), default=0)
    return max(DELIMITERS, key=score)  # max keeps the first on ties, so "," wins


def _read_csv(path: Path, known_headers: set[str], encoding: str | None) -> SourceTable:
    text, used = _decode(path, encoding)
    known = {_header_key(h) for h in known_headers}
    grid = _parse_csv(path, text, _pick_delimiter(path, text, known))
    return _grid_table(path, grid, known_headers, missing="", encoding=used)


# --- XLSX ---------------------------------------------------------------------------------

def _open_workbook(path: Path):
    try:
        # read_only=False keeps merged ranges; data_only=True gives cached formula results.
        return load_workbook(path, read_only=False, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise _error(path, f"无法作为 Excel (.xlsx) 文件打开：{exc}",
                     f"cannot be opened as an Excel .xlsx file: {exc}") from None


def _sheet_grid(ws) -> list[list]:
    """Cell values by row, each merged range filled with its top-left value."""
    grid = [list(row) for row in ws.iter_rows(min_row=1, min_col=1, values_only=True)]
    for merged in ws.merged_cells.ranges:
        value = ws.cell(merged.min_row, merged.min_col).value
        for r in range(merged.min_row - 1, min(merged.max_row, len(grid))):
            row = grid[r]
            for c in range(merged.min_col - 1, min(merged.max_col, len(row))):
                row[c] = value
    return grid


def _read_xlsx(path: Path, known_headers: set[str], sheet: str | None) -> SourceTable:
    workbook = _open_workbook(path)
    names = [ws.title for ws in workbook.worksheets]
    if sheet is not None and sheet not in names:
        listed = "、".join(names)
        raise _error(path, f"找不到工作表「{sheet}」，文件中的工作表有：{listed}",
                     f"no sheet named '{sheet}'; the sheets are: {', '.join(names)}")
    known = {_header_key(h) for h in known_headers}
    for name in [sheet] if sheet is not None else names:
        grid = _sheet_grid(workbook[name])
        # Without a named sheet, take the first one that has a header (skipping cover/notes).
        if sheet is not None or _locate_header(grid, known) is not None:
            return _grid_table(path, grid, known_headers, missing=None, sheet=name)
    raise _no_header_error(path, known_headers, None)


# --- GeoJSON, GeoPackage, Shapefile -------------------------------------------------------

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
        with zipfile.ZipFile(path) as archive:
            archive.extractall(into)  # extractall drops ".." and absolute member paths
    except zipfile.BadZipFile:
        raise _error(path, "不是有效的 zip 文件", "not a valid zip file") from None
    found = [p for p in into.rglob("*") if p.suffix.lower() == ".shp"
             and "__MACOSX" not in p.parts]
    if len(found) != 1:
        names = "、".join(p.name for p in found) or "无 / none"
        raise _error(path, f"zip 中应恰好有一个 Shapefile (.shp)，实际：{names}",
                     f"the zip must hold exactly one shapefile (.shp); found: {names}")
    return found[0]


def _read_gis(path: Path, layer: str | None, encoding: str | None) -> SourceTable:
    if path.suffix.lower() != ".zip":
        return _read_dataset(path, path, layer, encoding)
    with tempfile.TemporaryDirectory(prefix="idi-import-") as tmp:
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
        raise _error(shown, f"无法读取 GIS 文件：{exc}", f"cannot read GIS file: {exc}",
                     sheet=layer) from None
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
    return SourceTable(path=shown, headers=headers, rows=rows, header_row=None,
                       encoding=encoding, crs=crs, sheet=layer)


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
