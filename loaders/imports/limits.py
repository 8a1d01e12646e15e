"""What one import file may cost: rows, and for zips (a zipped Shapefile, an XLSX) the files
they hold and what they unpack to, checked from the zip's directory before anything is
unpacked, so that a small file cannot fill the disk or the memory (a zip bomb).

The limits in force are set per import (`using`), from the service's settings; the defaults
are the settings' defaults.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024
# small members (.prj, .cpg, styles) may compress very well without harm
_RATIO_EXEMPT_BYTES = MB


@dataclass(frozen=True)
class ImportLimits:
    max_rows: int = 100_000
    unpacked_max_mb: int = 500
    max_members: int = 200
    max_ratio: int = 200


_LIMITS: contextvars.ContextVar[ImportLimits | None] = contextvars.ContextVar(
    "import_limits", default=None)


def current() -> ImportLimits:
    return _LIMITS.get() or ImportLimits()


@contextlib.contextmanager
def using(limits: ImportLimits) -> Iterator[None]:
    token = _LIMITS.set(limits)
    try:
        yield
    finally:
        _LIMITS.reset(token)


def from_config(config) -> ImportLimits:
    return ImportLimits(int(config["IMPORT_MAX_ROWS"]), int(config["IMPORT_UNPACKED_MAX_MB"]),
                        int(config["IMPORT_MAX_MEMBERS"]), int(config["IMPORT_MAX_RATIO"]))


class ArchiveRefused(ValueError):
    """A zip that must not be unpacked: (Chinese, English) reasons."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en


def check_archive(archive: zipfile.ZipFile, limits: ImportLimits | None = None) -> None:
    """Refuse a zip whose directory promises too many files, too many bytes or a bomb's
    expansion. The sizes are the ones zipfile will enforce while unpacking: it never gives
    more bytes than a member's header declares."""
    limits = limits or current()
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise ArchiveRefused(
            f"压缩包内有 {len(members)} 个文件，超过 {limits.max_members} 个的上限",
            f"the zip holds {len(members)} files, more than the {limits.max_members} allowed")
    total = sum(m.file_size for m in members)
    if total > limits.unpacked_max_mb * MB:
        raise ArchiveRefused(
            f"压缩包解压后为 {total / MB:,.0f} MB，超过 {limits.unpacked_max_mb} MB 的上限",
            f"the zip unpacks to {total / MB:,.0f} MB, more than the "
            f"{limits.unpacked_max_mb} MB allowed")
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_EXEMPT_BYTES and ratio > limits.max_ratio:
            name = Path(member.filename).name
            raise ArchiveRefused(f"压缩包中的「{name}」压缩比为 {ratio:,.0f} 倍（上限 "
                                 f"{limits.max_ratio} 倍），疑为“压缩炸弹”，已拒绝",
                                 f"member '{name}' expands {ratio:,.0f} times (limit "
                                 f"{limits.max_ratio}): refused as a zip bomb")


def _safe_member_path(into: Path, name: str) -> Path | None:
    """Where a member goes inside ``into``; None for folders and paths that leave it."""
    parts = [p for p in re.split(r"[\\/]+", name) if p not in ("", ".")]
    if not parts or ".." in parts or name.endswith(("/", "\\")):
        return None
    return into.joinpath(*parts)


def extract(path: Path, into: Path, limits: ImportLimits | None = None) -> None:
    """Check the zip, then unpack it member by member into ``into`` (never outside it)."""
    with zipfile.ZipFile(path) as archive:
        check_archive(archive, limits)
        for member in archive.infolist():
            target = _safe_member_path(into, member.filename)
            if target is None:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink, MB)


class TooManyRows(ValueError):
    def __init__(self, limit: int):
        super().__init__(limit)
        self.limit = limit


def capped(rows: Iterator, limit: int | None = None) -> Iterator:
    """``rows``, refusing the file as soon as it holds more than the row limit."""
    limit = current().max_rows if limit is None else limit
    for count, row in enumerate(rows, 1):
        if count > limit:
            raise TooManyRows(limit)
        yield row
