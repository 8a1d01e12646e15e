"""XLSX read as a stream: openpyxl's read-only mode gives one row at a time, so memory
follows the rows kept (at most the import's row limit), not the sheet's size.

Read-only mode does not report merged cells, which Chinese offices use for titles and
two-row headers, so the merged ranges are taken from the sheet's XML directly (they follow
its data) and each is filled with its top-left value as the rows go by. An XLSX is a zip:
its members are checked against the import's limits before openpyxl unpacks anything.
"""

from __future__ import annotations

import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.exceptions import InvalidFileException

from loaders.imports import limits
from loaders.imports.readers import (
    SourceTable,
    _error,
    _no_header_error,
    find_header,
    grid_table,
    split_head,
)

_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Z]+[0-9]+:[A-Z]+[0-9]+)\"")
_CHUNK = 1024 * 1024


def _open_workbook(path: Path):
    try:
        with zipfile.ZipFile(path) as archive:
            limits.check_archive(archive)
        # data_only=True gives cached formula results
        return load_workbook(path, read_only=True, data_only=True)
    except limits.ArchiveRefused as exc:
        raise _error(path, exc.zh, exc.en) from None
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise _error(path, f"无法作为 Excel (.xlsx) 文件打开：{exc}",
                     f"cannot be opened as an Excel .xlsx file: {exc}") from None


def merged_ranges(archive: zipfile.ZipFile, member: str) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row) of each merged range of a sheet, read from its XML
    in chunks."""
    found, tail = [], b""
    with archive.open(member) as source:
        while chunk := source.read(_CHUNK):
            text = tail + chunk
            last = 0
            for match in _MERGE.finditer(text):
                found.append(range_boundaries(match[1].decode("ascii")))
                last = match.end()
            tail = text[max(last, len(text) - 256):]  # a tag cut by the chunk's end
    return found


def _filled(rows: Iterator[tuple], merges: list[tuple[int, int, int, int]]) -> Iterator[list]:
    """The sheet's rows, each merged range filled with its top-left value."""
    starting = defaultdict(list)
    for bounds in merges:
        starting[bounds[1]].append(bounds)
    active: list[tuple[tuple[int, int, int, int], object]] = []
    for number, values in enumerate(rows, 1):
        row = list(values)
        for bounds in starting.pop(number, ()):
            active.append((bounds, row[bounds[0] - 1] if bounds[0] <= len(row) else None))
        for (min_col, _, max_col, _), value in active:
            row.extend([None] * (max_col - len(row)))
            row[min_col - 1:max_col] = [value] * (max_col - min_col + 1)
        active = [(bounds, value) for bounds, value in active if bounds[3] > number]
        yield row


def _sheet_rows(workbook, name: str) -> Iterator[list]:
    sheet = workbook[name]
    sheet.reset_dimensions()  # some writers record wrong dimensions; read what is there
    merges = merged_ranges(workbook._archive, sheet._worksheet_path)
    return _filled(sheet.iter_rows(values_only=True), merges)


def read_xlsx(path: Path, known_headers: set[str], sheet: str | None) -> SourceTable:
    workbook = _open_workbook(path)
    try:
        names = list(workbook.sheetnames)
        if sheet is not None and sheet not in names:
            listed = "、".join(names)
            raise _error(path, f"找不到工作表「{sheet}」，文件中的工作表有：{listed}",
                         f"no sheet named '{sheet}'; the sheets are: {', '.join(names)}")
        for name in [sheet] if sheet is not None else names:
            head, rest = split_head(_sheet_rows(workbook, name))
            # Without a named sheet, take the first one that has a header (skipping notes).
            if sheet is not None or find_header(head, known_headers) is not None:
                return grid_table(path, head, rest, known_headers, missing=None, sheet=name)
        raise _no_header_error(path, known_headers, None)
    finally:
        workbook.close()  # read-only mode keeps the file open until closed
