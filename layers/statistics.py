"""The regulator's statistics (查询统计模块): underwriting, risk and claims in figures and charts.

Each figure and chart is defined once below as SQL over the rows of ``sql/stats_base.sql``
(the code's own text, never the user's); all sections are computed in one query. The shared
filters apply throughout, and the caller's connection carries the reader's row security, so
an insurer's statistics are its own portfolio's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo import programme
from layers.filters import Filters
from layers.sql import read_sql

WAN = 10_000
_UNDER_CONSTRUCTION = ", ".join(f"'{s}'" for s in programme.UNDER_CONSTRUCTION_STAGES)


@dataclass(frozen=True)
class Figure:
    """One indicator: a scalar SQL expression over the statistics' rows."""
    id: str
    title: str
    unit: str
    decimals: int
    sql: str
    description: str = ""

    def as_json(self, value) -> dict:
        return {"id": self.id, "title": self.title, "unit": self.unit,
                "decimals": self.decimals, "value": _plain(value),
                "description": self.description}


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

    def sql(self) -> str:
        values = ", ".join(f"{agg} AS v{i}" for i, (_, agg) in enumerate(self.series))
        order = "category" if self.order == "category" else "v0 DESC NULLS LAST, category"
        cells = ", ".join(f"v{i}" for i in range(len(self.series)))
        return (f"(SELECT json_agg(json_build_array(category, {cells}) ORDER BY {order}) "  # noqa: S608
                f"FROM (SELECT {self.category} AS category, {values} FROM {self.source} "
                f"GROUP BY 1) g)")

    def as_json(self, rows) -> dict:
        rows = rows or []
        return {"id": self.id, "title": self.title, "kind": self.kind, "unit": self.unit,
                "decimals": self.decimals, "categories": [str(r[0]) for r in rows],
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


def _scalar(source: str, aggregate: str) -> str:
    return f"(SELECT {aggregate} FROM {source})"  # noqa: S608


def _rate(numerator: str, denominator: str) -> str:
    return f"100.0 * ({numerator}) / NULLIF({denominator}, 0)"


_MONTH = "to_char({}, 'YYYY-MM')"
_QUARTER = "to_char({0}, 'YYYY') || '-Q' || to_char({0}, 'Q')"
# 500 元/m² bins, labelled by their range
_COST_BIN = ("(floor(cost_per_m2 / 500) * 500)::int || '–' "
             "|| (floor(cost_per_m2 / 500) * 500 + 500)::int")

UNDERWRITING = Section("underwriting", "承保统计", (
    Figure("policies", "保单数", "件", 0, _scalar("stat_policy", "count(*)")),
    Figure("projects", "承保项目数", "个", 0, _scalar("stat_project", "count(*)")),
    Figure("cost_per_m2", "平米平均造价均值", "元/m²", 0,
           _scalar("stat_project", "avg(cost_per_m2)"),
           "各承保项目建安造价 ÷ 建筑面积 的平均值"),
    Figure("rate", "平均保险费率", "%", 3, _scalar("stat_policy", "avg(rate) * 100"),
           "各保单费率的平均值"),
    Figure("premium", "总保费", "万元", 2,
           _scalar("stat_policy", f"COALESCE(sum(premium_yuan), 0) / {WAN}")),
    Figure("sum_insured", "总保险金额", "万元", 2,
           _scalar("stat_policy", f"COALESCE(sum(sum_insured_yuan), 0) / {WAN}")),
    Figure("insured_area", "总承保面积", "m²", 0,
           _scalar("stat_project", "COALESCE(sum(gross_floor_area_m2), 0)")),
), (
    Chart("cost_per_m2_by_district", "各区平米平均造价", "bar", "元/m²", "stat_project",
          "district_name", (("平米造价均值", "avg(cost_per_m2)"),), "value"),
    Chart("cost_per_m2_distribution", "平米平均造价分布", "histogram", "个", "stat_project",
          _COST_BIN, (("项目数", "count(*)"),)),
    Chart("rate_by_quarter", "保险费率均值（按签单季度）", "line", "%", "stat_policy",
          _QUARTER.format("issue_date"), (("平均费率", "avg(rate) * 100"),), decimals=3),
    Chart("rate_by_insurer", "各保险公司费率分布", "bar", "%", "insurer_policy",
          "insurer_name", (("最低", "min(rate) * 100"), ("平均", "avg(rate) * 100"),
                           ("最高", "max(rate) * 100")), "value", 3),
    Chart("premium_by_insurer", "各保险公司保费（按共保份额）", "bar", "万元", "insurer_policy",
          "insurer_name", (("保费", f"sum(premium_yuan) / {WAN}"),), "value", 2),
    Chart("sum_insured_by_insurer", "各保险公司保险金额（按共保份额）", "bar", "万元",
          "insurer_policy", "insurer_name",
          (("保险金额", f"sum(sum_insured_yuan) / {WAN}"),), "value", 2),
    Chart("projects_by_insurer", "各保险公司承保项目数", "bar", "个", "insurer_policy",
          "insurer_name", (("项目数", "count(DISTINCT project_id)"),), "value"),
    Chart("premium_by_district", "各区保费", "bar", "万元", "stat_policy", "district_name",
          (("保费", f"sum(premium_yuan) / {WAN}"),), "value", 2),
    Chart("sum_insured_by_district", "各区保险金额", "bar", "万元", "stat_policy",
          "district_name", (("保险金额", f"sum(sum_insured_yuan) / {WAN}"),), "value", 2),
    Chart("cover_start_by_year", "保险起期分布", "bar", "件", "stat_policy",
          "COALESCE(to_char(cover_starts_on, 'YYYY'), '未起期')", (("保单数", "count(*)"),)),
    Chart("projects_by_issue_month", "保单签发日期项目数量", "bar", "个", "stat_policy",
          _MONTH.format("issue_date"), (("项目数", "count(DISTINCT project_id)"),)),
    Chart("premium_by_issue_month", "保单签发日期项目保费", "bar", "万元", "stat_policy",
          _MONTH.format("issue_date"), (("保费", f"sum(premium_yuan) / {WAN}"),), decimals=2),
))

RISK = Section("risk", "风险统计", (
    Figure("under_construction", "施工中项目数", "个", 0,
           _scalar("city_project", f"count(*) FILTER (WHERE stage IN ({_UNDER_CONSTRUCTION}))"),
           "当前处于地基基础、主体结构或装饰装修施工阶段的项目"),
    Figure("risk_reports", "风险评估报告数", "份", 0, _scalar("stat_report", "count(*)")),
    Figure("risk_events", "风险事件数", "件", 0, _scalar("stat_event", "count(*)")),
    Figure("severe_risk_events", "严重风险事件数", "件", 0,
           _scalar("stat_event", "count(*) FILTER (WHERE severity = 'severe')")),
    Figure("open_risk_events", "未销项风险事件数", "件", 0,
           _scalar("stat_event", "count(*) FILTER (WHERE status <> 'closed')")),
    Figure("overdue_risk_events", "逾期未整改风险事件数", "件", 0,
           _scalar("stat_event", "count(*) FILTER (WHERE overdue)")),
    Figure("rectification_rate", "风险事件整改率", "%", 1,
           _scalar("stat_event", _rate("count(*) FILTER (WHERE status = 'closed')", "count(*)")),
           "已销项风险事件 ÷ 风险事件"),
), (
    Chart("projects_by_tis", "各风险管理机构项目数量", "bar", "个", "tis_project", "tis_name",
          (("项目数", "count(*)"),), "value"),
    Chart("risk_events_by_tis", "各风险管理机构上报风险事件数", "bar", "件", "stat_event",
          "tis_name", (("风险事件", "count(*)"),
                       ("严重", "count(*) FILTER (WHERE severity = 'severe')")), "value"),
    Chart("risk_events_by_category", "风险事件类型", "bar", "件", "stat_event", "category_zh",
          (("风险事件", "count(*)"),), "value"),
    Chart("risk_events_by_severity", "风险事件等级", "pie", "件", "stat_event", "severity_zh",
          (("风险事件", "count(*)"),), "value"),
    Chart("risk_events_by_status", "风险事件状态", "pie", "件", "stat_event", "status_zh",
          (("风险事件", "count(*)"),), "value"),
    Chart("rectification_rate_by_tis", "各风险管理机构风险事件整改率", "bar", "%", "stat_event",
          "tis_name", (("整改率", _rate("count(*) FILTER (WHERE status = 'closed')",
                                        "count(*)")),), "value", 1),
    Chart("risk_events_by_month", "风险事件发现数（按月）", "line", "件", "stat_event",
          _MONTH.format("found_on"), (("风险事件", "count(*)"),)),
))

_STEP_ZH = ("CASE name WHEN 'survey' THEN '①查勘（2日）' WHEN 'decision' THEN '②核定（7/30日）' "
            "WHEN 'settlement' THEN '③履行（7日）' ELSE '④拒赔通知（3日）' END")

CLAIMS = Section("claims", "理赔统计", (
    Figure("claims", "理赔案件数", "件", 0, _scalar("stat_claim", "count(*)")),
    Figure("filed_claims", "立案数", "件", 0,
           _scalar("stat_claim", "count(*) FILTER (WHERE filed)"), "核定属于保险责任的案件"),
    Figure("filing_rate", "立案率", "%", 1,
           _scalar("stat_claim", _rate("count(*) FILTER (WHERE filed)", "count(*)")),
           "立案数 ÷ 报案数"),
    Figure("paid", "理赔金额", "万元", 2,
           _scalar("stat_claim", f"COALESCE(sum(paid_share_yuan), 0) / {WAN}")),
    Figure("closed_claims", "结案数", "件", 0,
           _scalar("stat_claim", "count(*) FILTER (WHERE status = 'closed')")),
    Figure("closed_paid", "结案金额", "万元", 2, _scalar(
        "stat_claim", f"COALESCE(sum(paid_share_yuan) FILTER (WHERE status = 'closed'), 0) "
                      f"/ {WAN}")),
    Figure("deadline_breaches", "超时限案件数", "件", 0, _scalar(
        "stat_claim", "count(*) FILTER (WHERE survey_late OR decision_late OR settlement_late "
                      "OR refusal_notice_late)"), "查勘、核定、履行或拒赔通知任一环节超过时限"),
    Figure("on_time_rate", "时限达标率", "%", 1, _scalar(
        "claim_step", _rate("count(*) FILTER (WHERE NOT late)", "count(*)")),
        "已到期的查勘、核定、履行、拒赔通知环节中按时完成的比例"),
), (
    Chart("claims_by_insurer", "各保险公司理赔案件数", "bar", "件", "insurer_claim",
          "insurer_name", (("案件数", "count(*)"),), "value"),
    Chart("paid_by_insurer", "各保险公司理赔金额（按共保份额）", "bar", "万元", "insurer_claim",
          "insurer_name", (("理赔金额", f"sum(paid_share_yuan) / {WAN}"),), "value", 2),
    Chart("claims_by_district", "报案地区分布", "bar", "件", "stat_claim", "district_name",
          (("报案数", "count(*)"),), "value"),
    Chart("claims_by_month", "报案数（按月）", "line", "件", "stat_claim",
          _MONTH.format("reported_on"), (("报案数", "count(*)"),)),
    Chart("filing_rate_by_insurer", "各保险公司立案率", "bar", "%", "insurer_claim",
          "insurer_name", (("立案率", _rate("count(*) FILTER (WHERE filed)", "count(*)")),),
          "value", 1),
    Chart("closed_paid_by_month", "结案金额（按报案月）", "bar", "万元", "stat_claim",
          _MONTH.format("reported_on"),
          (("结案金额", f"COALESCE(sum(paid_share_yuan) FILTER (WHERE status = 'closed'), 0) "
                        f"/ {WAN}"),), decimals=2),
    Chart("deadlines_by_insurer", "各首席承保公司时限履行情况", "bar", "个环节", "claim_step",
          "lead_insurer_name", (("按时", "count(*) FILTER (WHERE NOT late)"),
                                ("超时", "count(*) FILTER (WHERE late)")), "value"),
    Chart("deadlines_by_step", "各环节时限履行情况", "bar", "个环节", "claim_step", _STEP_ZH,
          (("按时", "count(*) FILTER (WHERE NOT late)"),
           ("超时", "count(*) FILTER (WHERE late)")), "category"),
))

SECTIONS = (UNDERWRITING, RISK, CLAIMS)
SECTIONS_BY_ID = {s.id: s for s in SECTIONS}


def _sections_sql(sections: tuple[Section, ...]) -> str:
    """One query for all the sections: the rows of stats_base.sql (common table expressions,
    materialised once) are read once for every figure and chart, not once per section."""
    columns = [f"{f.sql} AS {s.id}__{f.id}" for s in sections for f in s.figures]
    columns += [f"{c.sql()} AS {s.id}__{c.id}" for s in sections for c in s.charts]
    return (read_sql("scope.sql") + read_sql("stats_base.sql")
            + "SELECT " + ",\n  ".join(columns))


def _section_json(section: Section, row) -> dict:
    return {"id": section.id, "title": section.title,
            "indicators": [f.as_json(row[f"{section.id}__{f.id}"]) for f in section.figures],
            "charts": [c.as_json(row[f"{section.id}__{c.id}"]) for c in section.charts]}


def section_statistics(conn: Connection, section: Section, city: str, filters: Filters) -> dict:
    """One section's indicators and charts for ``filters``, as the reader may see them."""
    return statistics(conn, city, filters, (section,))[0]


def statistics(conn: Connection, city: str, filters: Filters,
               sections: tuple[Section, ...] = SECTIONS) -> list[dict]:
    """Every section's indicators and charts, in one pass over the rows."""
    row = conn.execute(text(_sections_sql(sections)),
                       {**filters.params(), "city": city}).one()._mapping
    return [_section_json(s, row) for s in sections]
