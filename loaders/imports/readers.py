"""Read the tables that insurers and inspection agencies send, whatever the file format.

Every reader returns the same `SourceTable`: header text as written, raw cell values and
the row number a user sees in their own program, so later checks can say "第 7 行" and be
found. Nothing here interprets a value; parsing belongs to the column definitions.

CSV and XLSX files from Chinese offices put title rows above the header and come in
UTF-8, UTF-8 with BOM or GBK; GIS files come as GeoJSON, GeoPackage or Shapefile, the
latter often written by older tools as GBK without a .cpg file (`readers_gis`).

CSV and XLSX are read as a stream of rows (`readers_xlsx` reads XLSX with openpyxl's
read-only mode): only the first rows are held to find the header, and a file with more data
rows than the import's limit (`limits`) is refused as soon as the row after the limit is read,
so memory follows the limit, not the file.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path

from loaders.imports import limits

TEXT_SUFFIXES = (".csv", ".txt")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
GIS_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip")
SUPPORTED = TEXT_SUFFIXES + XLSX_SUFFIXES + GIS_SUFFIXES
HEADER_SEARCH_ROWS = 20
MIN_HEADER_MATCHES = 2
DELIMITERS = (",", "\t", ";")
# Shapefiles without a .cpg from Chinese GIS tools (old ArcGIS, MapGIS, SuperMap) are GBK.
DEFAULT_SHAPEFILE_ENCODING = "GBK"
_ENCODING_CHECK_BYTES = 1024 * 1024
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
    needs_crs: bool = False     # a Shapefile without .prj: its coordinates' system is unknown


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
        from loaders.imports.readers_xlsx import read_xlsx

        return read_xlsx(path, known_headers, sheet)
    from loaders.imports.readers_gis import read_gis  # GDAL and pandas load slowly

    return read_gis(path, sheet, encoding)


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


def _collect_rows(path: Path, body: Iterator[tuple[int, list]],
                  columns: list[tuple[int, str]], missing: object,
                  sheet: str | None) -> list[SourceRow]:
    """Non-blank rows after the header (grid index + 1 is the row number the user sees);
    more than the import's row limit refuses the file."""
    limit = limits.current().max_rows
    rows = []
    for index, row in body:
        cells = {h: row[c] if c < len(row) else missing for c, h in columns}
        if all(_is_blank(v) for v in cells.values()):
            continue
        if len(rows) == limit:
            raise _error(path, f"数据超过 {limit:,} 行的上限，请拆分成几个文件后分别导入",
                         f"more than {limit:,} data rows; split the file and import the parts",
                         sheet=sheet, row=index + 1)
        rows.append(SourceRow(index + 1, cells))
    return rows


def find_header(head: list[list], known_headers: set[str]) -> int | None:
    """Index of the header row among the first rows, None when there is none."""
    return _locate_header(head, {_header_key(h) for h in known_headers})


def grid_table(path: Path, head: list[list], rest: Iterator[list], known_headers: set[str],
               *, missing: object, encoding: str | None = None,
               sheet: str | None = None) -> SourceTable:
    """The table of a stream of rows: ``head`` holds its first rows (at least 21, or all),
    ``rest`` yields the others."""
    known = {_header_key(h) for h in known_headers}
    index = _locate_header(head, known)
    if index is None:
        raise _no_header_error(path, known_headers, sheet)
    columns, start = _header_columns(path, head, index, known, sheet)
    body = chain(enumerate(head[start:], start), enumerate(rest, len(head)))
    return SourceTable(path=path, headers=[h for _, h in columns],
                       rows=_collect_rows(path, body, columns, missing, sheet),
                       header_row=index + 1, encoding=encoding, crs=None, sheet=sheet)


def split_head(rows: Iterator[list]) -> tuple[list[list], Iterator[list]]:
    """The first rows, where the header is looked for, and an iterator of the rest."""
    return list(islice(rows, HEADER_SEARCH_ROWS + 1)), rows


# --- CSV ----------------------------------------------------------------------------------

def _is_encoding(path: Path, encoding: str) -> int | None:
    """None when the whole file decodes as ``encoding``, else the offset of the first bad byte
    (read in chunks: the file is never held whole)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with open(path, "rb") as source:
        while chunk := source.read(_ENCODING_CHECK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return offset + max(exc.start, 0)
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset
    return None


def _encoding(path: Path, encoding: str | None) -> str:
    """The file's text encoding: as given (checked), else UTF-16 by BOM, UTF-8, GB18030."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise _error(path, f"未知的文字编码 {encoding}",
                         f"unknown text encoding {encoding}") from None
        bad = _is_encoding(path, encoding)
        if bad is not None:
            raise _error(path, f"文件不是 {encoding} 编码（第 {bad} 字节）",
                         f"file is not valid {encoding} (byte {bad})")
        return encoding
    with open(path, "rb") as source:
        start = source.read(4)
    # Excel's "Unicode 文本" export is UTF-16 with a BOM; GB18030 would decode it as garbage.
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _is_encoding(path, "utf-8") is None:
        return "utf-8-sig" if start.startswith(codecs.BOM_UTF8) else "utf-8"
    # GB18030 is a superset of GBK and GB2312, the encodings of Excel/WPS on Chinese Windows.
    if _is_encoding(path, "gb18030") is None:
        return "gb18030"
    raise _error(path, "无法识别文字编码（既不是 UTF-8 也不是 GBK/GB18030），请另存为 UTF-8",
                 "text encoding not recognised (neither UTF-8 nor GBK/GB18030); "
                 "save the file as UTF-8")


def _csv_rows(path: Path, source, delimiter: str) -> Iterator[list]:
    """One record per spreadsheet row, which is how Excel/WPS number a CSV's rows."""
    reader = csv.reader(source, delimiter=delimiter)
    try:
        yield from reader
    except csv.Error as exc:
        raise _error(path, f"CSV 格式错误：{exc}", f"malformed CSV: {exc}",
                     row=reader.line_num) from None


def _pick_delimiter(path: Path, encoding: str, known: set[str]) -> str:
    """The delimiter that splits the most known column names out of one of the first rows.

    csv.Sniffer judges by consistent column counts, which title rows above the header break.
    """
    def score(delimiter: str) -> int:
        with open(path, encoding=encoding, newline="") as source:
            head = list(islice(_csv_rows(path, source, delimiter), HEADER_SEARCH_ROWS))
        return max((len(_matches(row, known)) for row in head), default=0)
    return max(DELIMITERS, key=score)  # max keeps the first on ties, so "," wins


def _read_csv(path: Path, known_headers: set[str], encoding: str | None) -> SourceTable:
    used = _encoding(path, encoding)
    delimiter = _pick_delimiter(path, used, {_header_key(h) for h in known_headers})
    with open(path, encoding=used, newline="") as source:
        head, rest = split_head(_csv_rows(path, source, delimiter))
        return grid_table(path, head, rest, known_headers, missing="", encoding=used)


_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\\/\s:'\"()]+)+[\\/]([^\\/\s:'\"()]+)")


def without_paths(message: str) -> str:
    """A library's message with every file path cut to the file's name: a message never
    shows where the service keeps files.

    >>> without_paths("'/tmp/riskmap-unzip-x1/a/b.shp' not recognized; see /srv/up/c.dbf")
    "'b.shp' not recognized; see c.dbf"
    """
    return _PATH.sub(lambda m: m[1], message)
