"""The filters every layer takes: period, insurer, TIS, district and project stage.

Filters travel in the URL (``?period=2024&insurer=3``) so that a view can be
shared; `Filters.from_args` parses them and `Filters.params` gives the bound
parameters every layer's SQL expects (NULL meaning "no filter").
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo import codes, programme
from geo.tenancy import Tenant

# ASCII digits only: "２０２４" is not a period (\d alone would match any script's digits)
_PERIOD = re.compile(r"^(\d{4})(?:-(?:Q([1-4])|(\d{2})))?$", re.ASCII)


class FilterError(ValueError):
    """A filter value the user can correct; the message names the parameter."""


def shown(value: str, limit: int = 40) -> str:
    """A value as a message quotes it back: in quotes, and cut short when long.

    >>> shown("2024-13"), shown("9" * 50)
    ("'2024-13'", "'9999999999999999999999999999999999999999…'")
    """
    return repr(value if len(value) <= limit else value[:limit] + "…")


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """First and last day of a year, quarter or month.

    >>> parse_period("2024")
    (datetime.date(2024, 1, 1), datetime.date(2024, 12, 31))
    >>> parse_period("2024-Q2")
    (datetime.date(2024, 4, 1), datetime.date(2024, 6, 30))
    >>> parse_period("2024-02")
    (datetime.date(2024, 2, 1), datetime.date(2024, 2, 29))
    """
    match = _PERIOD.match(text.strip())
    if not match:
        raise FilterError(f"期间 {shown(text)} 有误：应为年份（2024）、季度（2024-Q2）或月份"
                          f"（2024-05）。period={shown(text)}: use a year (2024), a quarter "
                          "(2024-Q2) or a month (2024-05)")
    year, quarter, month = int(match[1]), match[2], match[3]
    if quarter:
        first_month, last_month = 3 * int(quarter) - 2, 3 * int(quarter)
    elif month:
        if not 1 <= int(month) <= 12:
            raise FilterError(f"期间 {shown(text)} 有误：月份应为 01–12。"
                              f"period={shown(text)}: month must be 01–12")
        first_month = last_month = int(month)
    else:
        first_month, last_month = 1, 12
    last_day = calendar.monthrange(year, last_month)[1]
    return dt.date(year, first_month, 1), dt.date(year, last_month, last_day)


def _date(name: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise FilterError(f"日期 {shown(value)} 有误：应为 2024-05-01 这样的日期。"
                          f"{name}={shown(value)}: use a date like 2024-05-01") from exc


def _int(name: str, value: str) -> int:
    # the length first: int() refuses (ValueError) a string of more than 4,300 digits
    if not (value.isascii() and value.isdigit() and len(value) <= 10
            and 0 < int(value) < 2**31):
        raise FilterError(f"机构编号 {shown(value)} 有误：应为数字。"
                          f"{name}={shown(value)}: expected an organisation id (a number)")
    return int(value)


@dataclass(frozen=True)
class Filters:
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    insurer: int | None = None
    tis: int | None = None
    district: str | None = None
    stage: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        """Filters from URL arguments; unknown arguments are ignored, bad values refused.

        >>> Filters.from_args({"period": "2024-Q1", "insurer": "3"}).params()["date_to"]
        datetime.date(2024, 3, 31)
        """
        date_from = date_to = None
        if args.get("period"):
            date_from, date_to = parse_period(args["period"])
        if args.get("from"):
            date_from = _date("from", args["from"])
        if args.get("to"):
            date_to = _date("to", args["to"])
        if date_from and date_to and date_from > date_to:
            raise FilterError("起始日期晚于截止日期。from is after to")
        district = args.get("district") or None
        if district is not None and not codes.is_gb2260(district):
            raise FilterError(f"区县代码 {shown(district)} 有误：应为六位 GB/T 2260 行政区划代码。"
                              f"district={shown(district)}: expected a six-digit GB/T 2260 code")
        stage = args.get("stage") or None
        if stage is not None and stage not in programme.PROJECT_STAGES:
            raise FilterError(f"项目阶段 {shown(stage)} 有误。stage={shown(stage)}: one of "
                              f"{', '.join(programme.PROJECT_STAGES)}")
        return cls(
            date_from=date_from, date_to=date_to,
            insurer=_int("insurer", args["insurer"]) if args.get("insurer") else None,
            tis=_int("tis", args["tis"]) if args.get("tis") else None,
            district=district, stage=stage,
        )

    def for_tenant(self, tenant: Tenant) -> Filters:
        """These filters narrowed to what ``tenant`` may ask for.

        An insurer's view is always its own portfolio (so that money counts at its share), a
        TIS's the projects it is assigned; asking for another's is refused, not widened.

        >>> Filters().for_tenant(Tenant("insurer", 3)).insurer
        3
        >>> Filters(insurer=4).for_tenant(Tenant("insurer", 3))
        Traceback (most recent call last):
        ...
        layers.filters.FilterError: 只能查看本单位的业务。insurer=4: you may only see your own \
organisation's business (3)
        """
        own = {"insurer": "insurer", "tis": "tis"}.get(tenant.role)
        if own is None:
            return self
        asked = getattr(self, own)
        if asked is not None and asked != tenant.organisation_id:
            raise FilterError(f"只能查看本单位的业务。{own}={asked}: you may only see your own "
                              "organisation's "
                              f"business ({tenant.organisation_id})")
        return replace(self, **{own: tenant.organisation_id})

    def params(self) -> dict:
        """Bound parameters for the layers' SQL."""
        return asdict(self)

    def query(self) -> dict[str, str]:
        """The filters as URL arguments (for links that keep the view)."""
        out = {"from": self.date_from, "to": self.date_to, "insurer": self.insurer,
               "tis": self.tis, "district": self.district, "stage": self.stage}
        return {k: str(v) for k, v in out.items() if v is not None}


def whole_programme(conn: Connection, filters: Filters, keyed_by: frozenset[str]) -> bool:
    """Whether a summary kept for the whole programme answers a request: the caller is one
    of the city's staff (the summaries answer for its jurisdiction's districts, as row
    security would), and filters only by what the summary is keyed by (of "district", "stage" and
    "period"; never an insurer or TIS, which narrow the policies themselves)."""
    asked = {name for name, value in (
        ("insurer", filters.insurer), ("tis", filters.tis), ("district", filters.district),
        ("stage", filters.stage), ("period", filters.date_from or filters.date_to))
        if value is not None}
    if asked - keyed_by:
        return False
    # staff within their jurisdiction: the summaries answer for its districts only
    return bool(conn.execute(text("SELECT riskmap_area() IS NOT NULL")).scalar_one())
