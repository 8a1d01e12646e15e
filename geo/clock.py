"""The platform's clock: Beijing time for every moment shown, the real date for live actions.

The store keeps every moment with its time zone (timestamptz); a page, report or export
shows it in Asia/Shanghai. Two "todays" exist and must not be confused:

- ``real_today()``: the calendar day in Beijing. A live action (a claim filed, a step taken,
  a complaint received, a notice printed) happens on this day.
- ``data_day(conn)``: the day the figures are for, ``data_version.as_of`` when a data set
  pins one, else the real day. Only figures (earned premium, a step still waiting measured
  to today) read it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Connection

CHINA = ZoneInfo("Asia/Shanghai")


def now() -> dt.datetime:
    """The current moment in Beijing time."""
    return dt.datetime.now(CHINA)


def real_today() -> dt.date:
    """Today's date in Beijing (not the server's zone: 01:00 in Beijing is still yesterday
    in UTC)."""
    return now().date()


def data_day(conn: Connection) -> dt.date:
    """The day the figures are for: the data's as-of day when pinned, else today in Beijing."""
    pinned = conn.execute(text("SELECT as_of FROM data_version")).scalar()
    return pinned or real_today()


def beijing(moment: dt.datetime | None, seconds: bool = False) -> str:
    """A stored moment as Beijing time (a naive one is taken as UTC, the store's zone).

    >>> beijing(dt.datetime(2026, 12, 3, 7, 19, 38, tzinfo=dt.timezone.utc))
    '2026-12-03 15:19'
    >>> beijing(dt.datetime(2026, 12, 3, 17, 0), seconds=True)
    '2026-12-04 01:00:00'
    """
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S" if seconds else
                                             "%Y-%m-%d %H:%M")
