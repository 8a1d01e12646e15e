"""Reports as data: a district's report and the regulator's periodic statistics report.

Each builds the plain dict that ``webmap.reports`` documents and renders as PDF, XLSX, CSV,
GeoJSON or GeoPackage. Everything is read through the caller's connection, so a report holds
only what its reader may see; an insurer's report is its own portfolio.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo import store
from geo.jurisdiction import area_params
from geo.tenancy import ROLE_ZH, Tenant
from layers import basemap, indicators
from layers.districts import district_metrics, district_summary, plain_row
from layers.filters import FilterError, Filters, parse_period, shown
from layers.sections import all_sections
from layers.sql import read_sql

CHINA = ZoneInfo("Asia/Shanghai")
_PERIODIC = re.compile(r"^\d{4}-(Q[1-4]|\d{2})$", re.ASCII)


def _columns(*spec: tuple) -> list[dict]:
    return [{"id": c[0], "title": c[1], "unit": c[2] if len(c) > 2 else "",
             "decimals": c[3] if len(c) > 3 else None} for c in spec]


PROJECT_COLUMNS = _columns(
    ("permit_no", "报建号"), ("name", "项目名称"), ("community", "小区"), ("stage", "阶段"),
    ("developer", "建设单位"), ("insurers", "主承保公司"), ("tis", "风险管理机构"),
    ("gross_floor_area_m2", "建筑面积", "m²", 0), ("units", "户数", "户", 0),
    ("premium_wan", "保费", "万元", 2), ("sum_insured_wan", "保险金额", "万元", 2),
    ("risk_events", "风险事件", "件", 0), ("open_risk_events", "未销项", "件", 0),
    ("severe_open_risk_events", "未销项严重", "件", 0), ("claims", "理赔案件", "件", 0),
    ("paid_wan", "理赔金额", "万元", 2))
SEVERE_EVENT_COLUMNS = _columns(
    ("event_no", "事件编号"), ("project", "项目"), ("category", "类型"), ("status", "状态"),
    ("location_in_building", "部位"), ("tis", "风险管理机构"), ("found_on", "发现日期"),
    ("due_on", "整改期限"), ("overdue_days", "逾期", "天", 0))
CLAIM_COLUMNS = _columns(
    ("claim_no", "案件编号"), ("project", "项目"), ("unit_no", "房号"), ("section", "责任范围"),
    ("status", "状态"), ("insurer", "首席承保公司"), ("reported_on", "报案日期"),
    ("surveyed_on", "查勘日期"), ("decided_on", "核定日期"), ("settled_on", "履行日期"),
    ("paid_wan", "赔付金额", "万元", 2), ("breaches", "时限履行"))
DISTRICT_COLUMNS = _columns(
    ("code", "区县代码"), ("name", "区县"), ("projects", "承保项目", "个", 0),
    ("premium_wan", "保费", "万元", 2), ("sum_insured_wan", "保险金额", "万元", 2),
    ("risk_events", "风险事件", "件", 0), ("severe_risk_events", "严重风险事件", "件", 0),
    ("open_risk_events", "未销项", "件", 0), ("claims", "理赔案件", "件", 0),
    ("paid_wan", "赔付金额", "万元", 2), ("deadline_breaches", "超时限案件数", "件", 0))


def _cell(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _table(table_id: str, title: str, columns: list[dict], rows: list[dict]) -> dict:
    keep = [c["id"] for c in columns]
    return {"id": table_id, "title": title, "columns": columns,
            "rows": [{k: _cell(r.get(k)) for k in keep} for r in rows]}


def _rows(conn: Connection, sql_name: str, params: dict, hash_joins: bool = False
          ) -> list[dict]:
    """The rows of a report's list. ``hash_joins``: for a list of every project of a district,
    whose scope CTEs carry no statistics — the planner took 37,000 projects for 77 and looped
    over them, aggregating each project's events and claims again per project (more than ten
    minutes at 200,000 projects); joined by hashing, five seconds."""
    sql = read_sql("scope.sql") + read_sql("stats_base.sql") + read_sql(sql_name)
    if hash_joins:
        conn.execute(text("SET LOCAL enable_nestloop = off"))
    try:
        return [plain_row(r) for r in conn.execute(text(sql), params)]
    finally:
        if hash_joins:
            conn.execute(text("SET LOCAL enable_nestloop = on"))


def filter_labels(conn: Connection, filters: Filters) -> list[list[str]]:
    """The filters in words, as a report's reader needs them."""
    def name(org_id):
        return conn.execute(text("SELECT name FROM organisation WHERE id = :id"),
                            {"id": org_id}).scalar() or f"#{org_id}"
    period = "全部"
    if filters.date_from or filters.date_to:
        period = f"{filters.date_from or '…'} 至 {filters.date_to or '…'}"
    labels = [["统计期间", period],
              ["区县", conn.execute(text("SELECT name FROM district WHERE code = :c"),
                                    {"c": filters.district}).scalar() if filters.district
               else "全市"],
              ["保险公司", name(filters.insurer) if filters.insurer else "全部"],
              ["风险管理机构", name(filters.tis) if filters.tis else "全部"]]
    if filters.stage:
        labels.append(["项目阶段", conn.execute(text(
            "SELECT name_zh FROM project_stage WHERE code = :c"), {"c": filters.stage}).scalar()])
    return labels


def scope_note(conn: Connection, tenant: Tenant) -> str:
    """Whose business a report holds when its reader sees only part of the city's."""
    if tenant.sees_all:
        return ""
    name = conn.execute(text("SELECT name FROM organisation WHERE id = :id"),
                        {"id": tenant.organisation_id}).scalar()
    return f"本报告仅含{ROLE_ZH[tenant.role]}“{name}”可见的项目与业务。"


def _header(conn, city, kind, filters, tenant, made_at) -> dict:
    city_name = conn.execute(text("SELECT min(city_name) FROM district WHERE city_code = :city"),
                             {"city": city}).scalar() or ""
    made_at = made_at or dt.datetime.now(CHINA)
    return {"kind": kind, "title": "", "subtitle": "", "city_name": city_name,
            "made_at": made_at.strftime("%Y-%m-%d %H:%M"),
            "data_version": store.data_version(conn),
            "filters": filter_labels(conn, filters), "scope_note": scope_note(conn, tenant)}


def _within_district(sections: list[dict], shown: set[str]) -> list[dict]:
    """The sections without the charts that compare districts (one bar says nothing) and
    without the figures the key indicators already show beside the city's (one figure is
    shown once, under one name)."""
    return [{**s, "charts": [c for c in s["charts"] if not c["id"].endswith("_by_district")],
             "indicators": [i for i in s["indicators"] if i.get("indicator") not in shown]}
            for s in sections]


# the one-screen overview at the top of the statistics and district pages
KPI_STATISTICS = ("premium", "policies", "rate", "risk_events", "open_risk_events",
                  "rectification_rate", "claims", "paid", "on_time_rate", "owner_score",
                  "complaints_received")
KPI_DISTRICT = ("premium_total", "projects", "average_rate", "risk_events", "open_risk_events",
                "grade_mix", "claims", "paid", "loss_ratio", "deadline_breaches")


def kpis(report: dict) -> list[dict]:
    """The key figures of a page, in the overview's order: a district's (beside the city's)
    when it has them, else the statistics' own."""
    if report.get("district"):
        found = {i["id"]: i for i in report.get("indicators") or []}
        return [found[k] for k in KPI_DISTRICT if k in found]
    found = {i["id"]: i for s in report.get("sections") or [] for i in s["indicators"]}
    return [found[k] for k in KPI_STATISTICS if k in found]


def chart_links(conn: Connection, city: str) -> dict:
    """What a chart's category names filter by: a district's code, an insurer's or a TIS's id
    (charts name organisations by their short name)."""
    districts = {r.name: r.code.strip() for r in conn.execute(text(
        "SELECT riskmap_district_label(name, city_name, CAST(:prefix AS text)) AS name, code "
        "FROM district WHERE city_code = :city OR starts_with(code, :prefix)"),
        area_params(city))}
    orgs: dict[str, dict] = {"insurer": {}, "tis": {}}
    for r in conn.execute(text("SELECT kind, id, COALESCE(short_name, name) AS name "
                               "FROM organisation WHERE kind IN ('insurer', 'tis')")):
        orgs[r.kind][r.name] = r.id
    return {"districts": districts, "insurers": orgs["insurer"], "tis": orgs["tis"]}


def glossary(report: dict) -> list[dict]:
    """The 指标说明 of every indicator a report (or page) shows, each once."""
    keys = {i.get("indicator") for i in report.get("indicators") or []}
    for section in report.get("sections") or []:
        keys |= {i.get("indicator") for i in section["indicators"]}
    return indicators.glossary(keys - {None, ""})


def district_report(conn: Connection, city: str, code: str, filters: Filters, tenant: Tenant,
                    made_at: dt.datetime | None = None) -> dict | None:
    """A district's report, or None when the city has no such district."""
    citywide = replace(filters, district=None)
    summary = district_summary(conn, code, city, citywide)
    if summary is None:
        return None
    local = replace(filters, district=code)
    params = {**local.params(), **area_params(city), "code": code}
    projects = _rows(conn, "report_projects.sql", params, hash_joins=True)
    boundary = conn.execute(text("SELECT ST_AsGeoJSON(boundary, 6) FROM district "
                                 "WHERE code = :code"), {"code": code}).scalar_one()
    period = filter_labels(conn, filters)[0][1]
    report = _header(conn, city, "district", local, tenant, made_at)
    report["title"] = f"{summary['name']}住宅工程质量潜在缺陷保险区域报告"
    report["subtitle"] = f"{report['city_name']}{summary['name']}（{code}）· 统计期间 {period}"
    shown = {i["indicator"] for i in summary["indicators"]}
    out = {
        **report, "district": {"code": code, "name": summary["name"]},
        "indicators": summary["indicators"],
        "sections": _within_district(all_sections(conn, city, local), shown),
        "tables": [
            _table("projects", "项目清单", PROJECT_COLUMNS, projects),
            _table("severe_risk_events", "未销项严重风险事件", SEVERE_EVENT_COLUMNS,
                   _rows(conn, "report_severe_events.sql", params)),
            _table("claims", "理赔案件及时限履行", CLAIM_COLUMNS,
                   _rows(conn, "report_claims.sql", params)),
        ],
        "map": {"boundary": json.loads(boundary), "outline": _neighbours(conn, city, code),
                "projects": [{**_table("p", "", PROJECT_COLUMNS, [p])["rows"][0],
                              "lon": p["lon"], "lat": p["lat"]} for p in projects]},
    }
    out["glossary"] = glossary(out)
    return out


def _neighbours(conn: Connection, city: str, code: str) -> list[dict]:
    """The offline outline basemap around a district's map (layers.basemap): the city's other
    districts and the province's other cities, each with its name and a point for it."""
    return [{"level": f["properties"]["level"], "name": f["properties"]["name"],
             "geometry": f["geometry"], "label": f["properties"]["label"]}
            for f in basemap.outline(conn, city)["features"]
            if f["properties"]["level"] != "province" and f["properties"]["code"] != code
            and f["properties"]["code"] != city]


def periodic_filters(period: str) -> Filters:
    """The filters of a monthly or quarterly statistics report.

    >>> periodic_filters("2024-Q2").date_to
    datetime.date(2024, 6, 30)
    >>> periodic_filters("2024")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    layers.filters.FilterError: period='2024': a periodic report is monthly (2024-05) ...
    """
    if not _PERIODIC.match(period):
        raise FilterError(f"period={shown(period)}: a periodic report is monthly (2024-05) "
                          "or quarterly (2024-Q2)")
    date_from, date_to = parse_period(period)
    return Filters(date_from=date_from, date_to=date_to)


def periodic_report(conn: Connection, city: str, period: str, tenant: Tenant,
                    made_at: dt.datetime | None = None) -> dict:
    """The platform's statistics report (平台统计报表) for a month or a quarter, city-wide."""
    filters = periodic_filters(period).for_tenant(tenant)
    kind = "季度" if "Q" in period else "月度"
    report = _header(conn, city, "periodic", filters, tenant, made_at)
    report["title"] = f"{report['city_name']}住宅工程质量潜在缺陷保险平台统计报表（{kind}）"
    report["subtitle"] = f"统计期间 {period}（{filters.date_from} 至 {filters.date_to}）"
    sections = all_sections(conn, city, filters)
    districts = [{**r, "premium_wan": r["premium_yuan"] / 1e4,
                  "sum_insured_wan": r["sum_insured_yuan"] / 1e4, "paid_wan": r["paid_yuan"] / 1e4}
                 for r in district_metrics(conn, city, filters)]
    out = {
        **report, "district": None,
        "indicators": [{**i, "group": s["title"], "city": None}
                       for s in sections for i in s["indicators"]],
        "sections": sections,
        "tables": [_table("districts", "各区县统计", DISTRICT_COLUMNS, districts)],
        "map": None,
    }
    out["glossary"] = glossary(out)
    return out
