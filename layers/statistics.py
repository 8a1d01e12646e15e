"""The regulator's statistics (查询统计模块): underwriting, risk and claims in figures and charts.

Each figure and chart is defined once below as SQL over the rows of ``sql/stats_base.sql``
(the code's own text, never the user's); all sections are computed in one query. The shared
filters apply throughout, and the caller's connection carries the reader's row security, so
an insurer's statistics are its own portfolio's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo import programme
from geo.jurisdiction import area_params
from layers import indicators
from layers.filters import Filters
from layers.sql import area_scope, read_sql

WAN = 10_000
WORK_MEM = "128MB"  # for the statistics' one query only (SET LOCAL: its transaction)
_UNDER_CONSTRUCTION = ", ".join(f"'{s}'" for s in programme.UNDER_CONSTRUCTION_STAGES)


@dataclass(frozen=True)
class Cube:
    """A source's rows counted (and ``sums`` added up) by every column its figures and charts
    group or filter by.

    A city of 200,000 projects has some 1.7 million risk events and 580,000 claims; read once
    into a few thousand cells, each figure and chart sums the cells instead of reading every
    row again (a source used more than once is materialised, and each read of it re-scans it).
    Every aggregate over a cubed source must be a count (``count(*)``, with or without
    ``FILTER``) or a sum of one of ``sums``, filtered and grouped by key columns only:
    ``on_cube`` refuses any other aggregate. A cube keeps dates as months (their first day):
    a chart over it may group them by month, quarter or year, not by day or week.
    """
    name: str
    source: str
    keys: tuple[tuple[str, str], ...]   # (column, expression over the source)
    sums: tuple[str, ...] = ()          # columns of the source added up in each cell
    file: str = ""                      # its SQL written out in layers/sql (same columns)

    def sql(self) -> str:
        if self.file:
            return read_sql(self.file)
        keys = ", ".join(f"{expr} AS {col}" for col, expr in self.keys)
        sums = "".join(f", sum({col}) AS {col}" for col in self.sums)
        group = ", ".join(str(i + 1) for i in range(len(self.keys)))
        return (f", {self.name} AS (SELECT {keys}, count(*) AS n{sums} "  # noqa: S608
                f"FROM {self.source} GROUP BY {group})\n")


# months are what the charts show of a date: a month's first day counts as the month
EVENT_CUBE = Cube("event_cube", "stat_event", (
    ("tis_name", "tis_name"), ("category_zh", "category_zh"), ("severity_zh", "severity_zh"),
    ("status_zh", "status_zh"), ("severity", "severity"), ("status", "status"),
    ("overdue", "overdue"), ("found_on", "date_trunc('month', found_on)::date")),
    file="event_cube.sql")
_LATE_STEPS = ("survey_late", "decision_late", "settlement_late", "refusal_notice_late")
CLAIM_CUBE = Cube("claim_cube", "stat_claim", (
    ("district_name", "district_name"), ("lead_insurer_name", "lead_insurer_name"),
    ("reported_on", "date_trunc('month', reported_on)::date"), ("status", "status"),
    ("filed", "filed"), *((step, step) for step in _LATE_STEPS)), ("paid_share_yuan",),
    file="claim_cube.sql")
# each claim's deadline steps, from the claims' cube (claim_step in stats_base.sql, counted)
CLAIM_STEP_CUBE = Cube("claim_step_cube", "claim_step", (
    ("lead_insurer_name", "lead_insurer_name"), ("name", "name"), ("late", "late")),
    file="claim_step_cube.sql")
INSURER_CLAIM_CUBE = Cube("insurer_claim_cube", "insurer_claim", (
    ("insurer_name", "insurer_name"), ("filed", "filed")), ("paid_share_yuan",))
# in the order they are written: a cube may read one before it
CUBES = {c.source: c for c in (EVENT_CUBE, CLAIM_CUBE, CLAIM_STEP_CUBE, INSURER_CLAIM_CUBE)}
_COUNT = re.compile(r"count\(\*\)( FILTER \(WHERE [^()]*\))?")
_SUM = re.compile(r"\bsum\((\w+)\)")
_CALL = re.compile(r"\b(\w+)\s*\(")
_ON_CELLS = {"sum", "coalesce", "nullif", "filter"}  # all a cube's aggregate may call


def on_cube(source: str, aggregate: str) -> tuple[str, str]:
    """The (source, aggregate) to compute from: the source's cube, the counts as sums of its
    cells, when it has one.

    >>> on_cube("stat_event", "count(*) FILTER (WHERE severity = 'severe')")
    ('event_cube', "COALESCE(sum(n) FILTER (WHERE severity = 'severe'), 0)")
    >>> on_cube("stat_claim", "COALESCE(sum(paid_share_yuan), 0) / 10000")
    ('claim_cube', 'COALESCE(sum(paid_share_yuan), 0) / 10000')
    >>> on_cube("stat_policy", "count(*)")
    ('stat_policy', 'count(*)')
    >>> on_cube("stat_claim", "count(DISTINCT policy_id)")
    Traceback (most recent call last):
    ValueError: stat_claim has a cube: count(DISTINCT policy_id) is no count or sum of its cells
    >>> on_cube("stat_claim", "sum(paid_share_yuan * 2)")
    Traceback (most recent call last):
    ValueError: stat_claim has a cube: sum(paid_share_yuan * 2) is no count or sum of its cells
    """
    if source not in CUBES:
        return source, aggregate
    cube = CUBES[source]
    cubed = _COUNT.sub(lambda m: f"COALESCE(sum(n){m[1] or ''}, 0)", aggregate)
    calls, sums = [c.lower() for c in _CALL.findall(cubed)], _SUM.findall(cubed)
    if (set(calls) - _ON_CELLS or calls.count("sum") != len(sums)
            or not set(sums) <= {"n", *cube.sums}):
        raise ValueError(f"{source} has a cube: {aggregate} is no count or sum of its cells")
    return cube.name, cubed


@dataclass(frozen=True)
class Scalar:
    """One value over a source's rows: ``(SELECT aggregate FROM source)``."""
    source: str
    aggregate: str

    def sql(self, cubed: bool = True) -> str:
        source, aggregate = on_cube(self.source, self.aggregate) if cubed else \
            (self.source, self.aggregate)
        return f"(SELECT {aggregate} FROM {source})"  # noqa: S608


@dataclass(frozen=True)
class Figure:
    """One indicator: a scalar SQL expression over the statistics' rows."""
    id: str
    title: str
    unit: str
    decimals: int
    sql: str | Scalar
    description: str = ""
    indicator: str = ""                 # its key in layers.indicators

    def select(self, cubed: bool = True) -> str:
        return self.sql if isinstance(self.sql, str) else self.sql.sql(cubed)

    def as_json(self, value) -> dict:
        return {"id": self.id, "title": self.title, "unit": self.unit,
                "decimals": self.decimals, "value": _plain(value),
                "description": self.description, "indicator": self.indicator}


def figure(key: str, decimals: int, sql: str | Scalar, id_: str | None = None) -> Figure:
    """The figure of an indicator of ``layers.indicators``: its name, unit and definition."""
    ind = indicators.get(key)
    return Figure(id_ or key, ind.name, ind.unit, decimals, sql, ind.definition, key)


@dataclass(frozen=True)
class Chart:
    """One chart: rows of ``source`` grouped by ``category``, one aggregate per series."""
    id: str
    title: str
    kind: str                           # bar | line | pie | histogram
    unit: str
    source: str
    category: str
    series: tuple[tuple[str, str], ...]  # (name, aggregate)
    order: str = "category"             # category | value (largest first)
    decimals: int = 0
    indicator: str = ""                 # what its values are (layers.indicators), if one
    note: str = ""                      # how it groups or what else it shows
    time: str = ""                      # month | quarter: categories are periods in order
    additive: bool = True               # periods may be summed into longer ones

    @property
    def definition(self) -> str:
        parts = [self.note] if self.note else []
        if self.indicator:
            ind = indicators.get(self.indicator)
            parts.append(f"{ind.name}：{ind.definition}")
        return " ".join(parts)

    def sql(self, cubed: bool = True) -> str:
        pairs = [on_cube(self.source, agg) if cubed else (self.source, agg)
                 for _, agg in self.series]
        source = pairs[0][0]
        values = ", ".join(f"{agg} AS v{i}" for i, (_, agg) in enumerate(pairs))
        order = "category" if self.order == "category" else "v0 DESC NULLS LAST, category"
        cells = ", ".join(f"v{i}" for i in range(len(self.series)))
        return (f"(SELECT json_agg(json_build_array(category, {cells}) ORDER BY {order}) "  # noqa: S608
                f"FROM (SELECT {self.category} AS category, {values} FROM {source} "
                f"GROUP BY 1) g)")

    def as_json(self, rows) -> dict:
        rows = rows or []
        return {"id": self.id, "title": self.title, "kind": self.kind, "unit": self.unit,
                "decimals": self.decimals, "definition": self.definition,
                "time": self.time, "additive": self.additive,
                "categories": [str(r[0]) for r in rows],
                "series": [{"name": name, "values": [_plain(r[i + 1]) for r in rows]}
                           for i, (name, _) in enumerate(self.series)]}


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    figures: tuple[Figure, ...]
    charts: tuple[Chart, ...]


def _plain(value):
    return None if value is None else (value if isinstance(value, str) else float(value))


def _scalar(source: str, aggregate: str) -> Scalar:
    return Scalar(source, aggregate)


def _rate(numerator: str, denominator: str) -> str:
    return f"100.0 * ({numerator}) / NULLIF({denominator}, 0)"


_MONTH = "to_char({}, 'YYYY-MM')"
_QUARTER = "to_char({0}, 'YYYY') || '-Q' || to_char({0}, 'Q')"
# 500 元/m² bins, labelled by their range
_COST_BIN = ("(floor(cost_per_m2 / 500) * 500)::int || '–' "
             "|| (floor(cost_per_m2 / 500) * 500 + 500)::int")

_RATE = "100.0 * sum(premium_yuan) / NULLIF(sum(rated_cost_yuan), 0)"
_COST = "sum(construction_cost_yuan) / NULLIF(sum(gross_floor_area_m2), 0)"
_BY_INSURER = "按共保份额分到各保险公司，合计等于总保费口径。"

UNDERWRITING = Section("underwriting", "承保统计", (
    figure("policies", 0, _scalar("stat_policy", "count(*)")),
    figure("projects", 0, _scalar("stat_project", "count(*)")),
    figure("cost_per_m2", 0, _scalar("stat_project", _COST)),
    figure("rate", 3, _scalar("stat_policy", _RATE)),
    figure("premium", 2, _scalar("stat_policy", f"COALESCE(sum(premium_yuan), 0) / {WAN}")),
    figure("sum_insured", 2,
           _scalar("stat_policy", f"COALESCE(sum(sum_insured_yuan), 0) / {WAN}")),
    figure("insured_area", 2,
           _scalar("stat_project", f"COALESCE(sum(gross_floor_area_m2), 0) / {WAN}")),
), (
    Chart("cost_per_m2_by_district", "各区平均建安造价", "bar", "元/m²", "stat_project",
          "district_name", (("平均建安造价", _COST),), "value", indicator="cost_per_m2"),
    Chart("cost_per_m2_distribution", "项目建安造价分布（元/m²，每档500元）", "histogram", "个",
          "stat_project", _COST_BIN, (("项目数", "count(*)"),),
          note="每个承保项目的建安造价 ÷ 建筑面积落在各档的项目数。", indicator="projects"),
    Chart("rate_by_quarter", "平均费率（按签单季度）", "line", "%", "stat_policy",
          _QUARTER.format("issue_date"), (("平均费率", _RATE),), decimals=3, indicator="rate",
          time="quarter", additive=False),
    Chart("rate_by_insurer", "各保险公司费率（最低、平均、最高）", "bar", "%", "insurer_policy",
          "insurer_name", (("平均费率", _RATE), ("最低", "min(rate) * 100"),
                           ("最高", "max(rate) * 100")), "value", 3,
          note="最低、最高为该公司参与的单张保单费率；平均为平均费率。", indicator="rate"),
    Chart("premium_by_insurer", "各保险公司保费（按共保份额）", "bar", "万元", "insurer_policy",
          "insurer_name", (("保费", f"sum(premium_yuan) / {WAN}"),), "value", 2,
          note=_BY_INSURER, indicator="premium"),
    Chart("sum_insured_by_insurer", "各保险公司保险金额（按共保份额）", "bar", "万元",
          "insurer_policy", "insurer_name",
          (("保险金额", f"sum(sum_insured_yuan) / {WAN}"),), "value", 2,
          note=_BY_INSURER, indicator="sum_insured"),
    Chart("projects_by_insurer", "各保险公司承保项目数", "bar", "个", "insurer_policy",
          "insurer_name", (("项目数", "count(DISTINCT project_id)"),), "value",
          note="共保项目计入每家参与的保险公司。", indicator="projects"),
    Chart("premium_by_district", "各区保费", "bar", "万元", "stat_policy", "district_name",
          (("保费", f"sum(premium_yuan) / {WAN}"),), "value", 2, indicator="premium"),
    Chart("sum_insured_by_district", "各区保险金额", "bar", "万元", "stat_policy",
          "district_name", (("保险金额", f"sum(sum_insured_yuan) / {WAN}"),), "value", 2,
          indicator="sum_insured"),
    Chart("cover_start_by_year", "保险起期分布（按年）", "bar", "件", "stat_policy",
          "COALESCE(to_char(cover_starts_on, 'YYYY'), '未起期')", (("保单数", "count(*)"),),
          note="主体结构保险责任开始的年份；竣工验收未满两年的为未起期。", indicator="policies",
          time="year"),
    Chart("projects_by_issue_month", "承保项目数（按签单月份）", "bar", "个", "stat_policy",
          _MONTH.format("issue_date"), (("项目数", "count(DISTINCT project_id)"),),
          indicator="projects", time="month"),
    Chart("premium_by_issue_month", "保费（按签单月份）", "bar", "万元", "stat_policy",
          _MONTH.format("issue_date"), (("保费", f"sum(premium_yuan) / {WAN}"),), decimals=2,
          indicator="premium", time="month"),
))

_CLOSED = "count(*) FILTER (WHERE status = 'closed')"

RISK = Section("risk", "风险统计", (
    figure("under_construction", 0, _scalar(
        "city_project", f"count(*) FILTER (WHERE stage IN ({_UNDER_CONSTRUCTION}))")),
    figure("risk_reports", 0, _scalar("stat_report", "count(*)")),
    figure("risk_events", 0, _scalar("stat_event", "count(*)")),
    figure("severe_risk_events", 0,
           _scalar("stat_event", "count(*) FILTER (WHERE severity = 'severe')")),
    figure("open_risk_events", 0,
           _scalar("stat_event", "count(*) FILTER (WHERE status <> 'closed')")),
    figure("overdue_risk_events", 0, _scalar("stat_event", "count(*) FILTER (WHERE overdue)")),
    figure("rectification_rate", 1, _scalar("stat_event", _rate(_CLOSED, "count(*)"))),
), (
    Chart("projects_by_tis", "各风险管理机构项目数量", "bar", "个", "tis_project", "tis_name",
          (("项目数", "count(*)"),), "value", note="项目计入其保单指定的风险管理机构。",
          indicator="projects"),
    Chart("risk_events_by_tis", "各风险管理机构上报风险事件数", "bar", "件", "stat_event",
          "tis_name", (("风险事件", "count(*)"),
                       ("严重", "count(*) FILTER (WHERE severity = 'severe')")), "value",
          note="事件计入发现它的检查所属的风险管理机构。", indicator="risk_events"),
    Chart("risk_events_by_category", "风险事件类型", "bar", "件", "stat_event", "category_zh",
          (("风险事件", "count(*)"),), "value", indicator="risk_events"),
    Chart("risk_events_by_severity", "风险事件等级", "pie", "件", "stat_event", "severity_zh",
          (("风险事件", "count(*)"),), "value", indicator="risk_events"),
    Chart("risk_events_by_status", "风险事件状态", "pie", "件", "stat_event", "status_zh",
          (("风险事件", "count(*)"),), "value", indicator="risk_events"),
    Chart("rectification_rate_by_tis", "各风险管理机构风险事件整改率", "bar", "%", "stat_event",
          "tis_name", (("整改率", _rate(_CLOSED, "count(*)")),), "value", 1,
          indicator="rectification_rate"),
    Chart("risk_events_by_month", "风险事件数（按发现月份）", "line", "件", "stat_event",
          _MONTH.format("found_on"), (("风险事件", "count(*)"),), indicator="risk_events",
          time="month"),
))

_STEP_ZH = ("CASE name WHEN 'survey' THEN '①查勘（2日）' WHEN 'decision' THEN '②核定（7/30日）' "
            "WHEN 'settlement' THEN '③履行（7日）' ELSE '④拒赔通知（3日）' END")
_LATE = "survey_late OR decision_late OR settlement_late OR refusal_notice_late"
_FILED = "count(*) FILTER (WHERE filed)"
_CLOSED_PAID = f"COALESCE(sum(paid_share_yuan) FILTER (WHERE status = 'closed'), 0) / {WAN}"
_STEPS = (("按时", "count(*) FILTER (WHERE NOT late)"), ("超时", "count(*) FILTER (WHERE late)"))

CLAIMS = Section("claims", "理赔统计", (
    figure("claims", 0, _scalar("stat_claim", "count(*)")),
    figure("filed_claims", 0, _scalar("stat_claim", _FILED)),
    figure("filing_rate", 1, _scalar("stat_claim", _rate(_FILED, "count(*)"))),
    figure("paid", 2, _scalar("stat_claim", f"COALESCE(sum(paid_share_yuan), 0) / {WAN}")),
    figure("closed_claims", 0, _scalar("stat_claim", _CLOSED)),
    figure("closed_paid", 2, _scalar("stat_claim", _CLOSED_PAID)),
    figure("deadline_breaches", 0,
           _scalar("stat_claim", f"count(*) FILTER (WHERE {_LATE})")),
    figure("on_time_rate", 1,
           _scalar("claim_step", _rate("count(*) FILTER (WHERE NOT late)", "count(*)"))),
), (
    Chart("claims_by_insurer", "各保险公司理赔案件数", "bar", "件", "insurer_claim",
          "insurer_name", (("案件数", "count(*)"),), "value",
          note="共保保单的案件计入每家参与的保险公司。", indicator="claims"),
    Chart("paid_by_insurer", "各保险公司赔付金额（按共保份额）", "bar", "万元", "insurer_claim",
          "insurer_name", (("赔付金额", f"sum(paid_share_yuan) / {WAN}"),), "value", 2,
          note="按共保份额分到各保险公司。", indicator="paid"),
    Chart("claims_by_district", "理赔案件数（按区县）", "bar", "件", "stat_claim",
          "district_name", (("理赔案件数", "count(*)"),), "value", indicator="claims"),
    Chart("claims_by_month", "理赔案件数（按报案月份）", "line", "件", "stat_claim",
          _MONTH.format("reported_on"), (("理赔案件数", "count(*)"),), indicator="claims",
          time="month"),
    Chart("filing_rate_by_insurer", "各保险公司立案率", "bar", "%", "insurer_claim",
          "insurer_name", (("立案率", _rate(_FILED, "count(*)")),), "value", 1,
          indicator="filing_rate"),
    Chart("closed_paid_by_month", "结案金额（按报案月份）", "bar", "万元", "stat_claim",
          _MONTH.format("reported_on"), (("结案金额", _CLOSED_PAID),), decimals=2,
          indicator="closed_paid", time="month"),
    Chart("deadlines_by_insurer", "各首席承保公司时限履行情况", "bar", "个环节", "claim_step",
          "lead_insurer_name", _STEPS, "value", note="各首席承保公司已到期环节中按时与超时的个数。",
          indicator="on_time_rate"),
    Chart("deadlines_by_step", "各环节时限履行情况", "bar", "个环节", "claim_step", _STEP_ZH,
          _STEPS, "category", note="各环节已到期的个数中按时与超时的个数。",
          indicator="on_time_rate"),
))

SECTIONS = (UNDERWRITING, RISK, CLAIMS)
SECTIONS_BY_ID = {s.id: s for s in SECTIONS}


def _sections_sql(sections: tuple[Section, ...], cubed: bool = True) -> str:
    """One query for all the sections: the rows of stats_base.sql (common table expressions,
    materialised once) are read once for every figure and chart, not once per section; the
    risk events, claims, their deadline steps and insurers' parts through their cubes
    (``cubed=False``: every row read for each, the plain computation the tests hold the cubes
    to)."""
    columns = [f"{f.select(cubed)} AS {s.id}__{f.id}" for s in sections for f in s.figures]
    columns += [f"{c.sql(cubed)} AS {s.id}__{c.id}" for s in sections for c in s.charts]
    return (area_scope() + read_sql("stats_base.sql")
            + "".join(c.sql() for c in CUBES.values())
            + "SELECT " + ",\n  ".join(columns))


def _section_json(section: Section, row) -> dict:
    return {"id": section.id, "title": section.title,
            "indicators": [f.as_json(row[f"{section.id}__{f.id}"]) for f in section.figures],
            "charts": [c.as_json(row[f"{section.id}__{c.id}"]) for c in section.charts]}


def section_statistics(conn: Connection, section: Section, city: str, filters: Filters) -> dict:
    """One section's indicators and charts for ``filters``, as the reader may see them."""
    return statistics(conn, city, filters, (section,))[0]


def statistics(conn: Connection, city: str, filters: Filters,
               sections: tuple[Section, ...] = SECTIONS, cubed: bool = True) -> list[dict]:
    """Every section's indicators and charts, in one pass over the rows."""
    # the event cube groups every risk event of the city (1.7 million at 200,000 projects)
    # into some 15,000 cells, but the planner expects a million: below ~128 MB it sorts the
    # events on disk instead of hashing them (EXPLAIN ANALYZE at 200,000: 32 MB 20.2 s,
    # 128 MB 16.0 s; the hash really takes ~50 MB)
    conn.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    row = conn.execute(text(_sections_sql(sections, cubed)),
                       {**filters.params(), **area_params(city)}).one()._mapping
    return [_section_json(s, row) for s in sections]


def statistics_query(city: str, filters: Filters) -> tuple[str, dict]:
    """The SQL and parameters statistics() runs (after SET LOCAL work_mem = WORK_MEM), for
    the benchmark's plans."""
    return _sections_sql(SECTIONS), {**filters.params(), **area_params(city)}
