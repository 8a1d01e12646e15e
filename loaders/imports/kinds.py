"""What every kind of import file is: its columns, its natural key, its checks and its SQL.

A new kind is one module that builds an `ImportKind` and one line in `registry.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from loaders.demo import District
from loaders.imports.columns import Column
from loaders.imports.pipeline import Checked


@dataclass(frozen=True)
class Context:
    """What checks may need besides the rows: the store, the city, the coordinate system, and
    whose reach the file is limited to.

    ``reach_org`` is the uploading insurer's or TIS's organisation (None for the city's staff
    and the command line): lookups bind it as ``:org`` and find only rows in its reach, so a
    row outside it gets the very answer an unknown one gets.
    """

    conn: Connection
    city: str
    city_name: str
    districts: list[District]
    crs: object
    reach_org: int | None = None

    def lookup(self, sql: str, keys) -> dict:
        """The first column of ``sql`` mapped to its second, for the keys bound as ``:n``
        (and the uploader's reach as ``:org``)."""
        keys = sorted({k for k in keys if k})
        if not keys:
            return {}
        return dict(self.conn.execute(text(sql), {"n": keys, "org": self.reach_org}).all())

    def organisation_kinds(self, names) -> dict[str, str]:
        """The kind of each named organisation the store knows."""
        return self.lookup("SELECT name, kind FROM organisation WHERE name = ANY(:n)", names)


@dataclass(frozen=True)
class ImportKind:
    name: str                          # as on the command line: projects, risk-events …
    title: str                         # Chinese, for templates and messages
    columns: tuple[Column, ...]
    key: str                           # the natural key column; twice in a file is an error
    stage_sql: str                     # CREATE TEMP TABLE … with the columns in this order
    stage_table: str
    upsert_sqls: tuple[str, ...]       # run in order; the last returns (inserted, updated)
    check: Callable[[Checked, Context], None] = lambda checked, context: None
    located: bool = False              # rows carry a point (lon/lat, or the file's geometry)
    current_sql: str | None = None     # stored rows under the column names: what a file that
    #                                    leaves a column out keeps
