"""The complaints section of the statistics (投诉情况): how many were received, are open, were
answered and closed, how long answers took, and where they come from (district, kind of party,
party, category, month).

Figures and charts reuse the statistics' definitions (`layers.statistics.Figure` and `Chart`)
over one set of rows, ``stat_complaint``: the complaints the reader may see (row security: the
city's staff all, a party those about itself), received in the period, in the city's districts
(or about no building), in the district asked for. The insurer and TIS filters narrow to the
complaints about that organisation.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo.complaints import PARTY_KINDS
from geo.jurisdiction import area_params
from layers.filters import Filters
from layers.statistics import Chart, _scalar, figure

TOP_PARTIES = 10
NO_BUILDING = "未指明房屋"

_BASE = """
WITH stat_complaint AS (
  SELECT c.*, COALESCE(riskmap_district_label(d.name, d.city_name, CAST(:prefix AS text)),
                       :no_building) AS district_name,
         to_char(c.received_on, 'YYYY-MM') AS month
  FROM complaint c LEFT JOIN district d ON d.code = c.district_code
  LEFT JOIN project p ON p.id = c.project_id
  WHERE (c.district_code IS NULL OR d.city_code = :city OR starts_with(d.code, :prefix))
    AND (CAST(:date_from AS date) IS NULL OR c.received_on >= :date_from)
    AND (CAST(:date_to AS date) IS NULL OR c.received_on <= :date_to)
    AND (CAST(:district AS text) IS NULL OR c.district_code = :district)
    AND (CAST(:stage AS text) IS NULL OR p.stage = :stage)
    AND (CAST(:insurer AS int) IS NULL
         OR (c.party_kind = 'insurer' AND c.party_id = :insurer))
    AND (CAST(:tis AS int) IS NULL OR (c.party_kind = 'tis' AND c.party_id = :tis))
)
"""
_KIND_ZH = ("CASE party_kind " + " ".join(f"WHEN '{k}' THEN '{v}'"
                                          for k, v in PARTY_KINDS.items()) + " END")
_COUNT = (("投诉数", "count(*)"),)

FIGURES = (
    figure("complaints", 0, _scalar("stat_complaint", "count(*)"), "complaints_received"),
    figure("complaints_open", 0, _scalar(
        "stat_complaint", "count(*) FILTER (WHERE status IN ('received', 'handling'))")),
    figure("complaints_answered", 0,
           _scalar("stat_complaint", "count(*) FILTER (WHERE status = 'answered')")),
    figure("complaints_closed", 0,
           _scalar("stat_complaint", "count(*) FILTER (WHERE status = 'closed')")),
    figure("complaints_days_to_answer", 1,
           _scalar("stat_complaint", "avg(answered_on - received_on)")),
)
_C = {"indicator": "complaints"}
CHARTS = (
    Chart("complaints_by_district", "投诉地区分布", "bar", "件", "stat_complaint",
          "district_name", _COUNT, "value", **_C),
    Chart("complaints_by_party_kind", "投诉对象类别", "pie", "件", "stat_complaint", _KIND_ZH,
          _COUNT, "value", **_C),
    Chart("complaints_by_party", f"被投诉最多的单位（前 {TOP_PARTIES} 名）", "bar", "件",
          "stat_complaint", "party_name", _COUNT, "value", **_C),
    Chart("complaints_by_category", "投诉类别", "bar", "件", "stat_complaint", "category",
          _COUNT, "value", **_C),
    Chart("complaints_by_month", "受理投诉数（按收到月份）", "line", "件", "stat_complaint",
          "month", _COUNT, time="month", **_C),
)


def _sql() -> str:
    columns = [f"{f.select()} AS {f.id}" for f in FIGURES]
    columns += [f"{c.sql()} AS {c.id}" for c in CHARTS]
    return _BASE + "SELECT " + ",\n  ".join(columns)


def complaints_section(conn: Connection, city: str, filters: Filters) -> dict:
    """The complaints section, in the shape of `layers.statistics.section_statistics`."""
    row = conn.execute(text(_sql()), {**filters.params(), **area_params(city),
                                      "no_building": NO_BUILDING}).one()._mapping
    charts = []
    for chart in CHARTS:
        rows = row[chart.id] or []
        if chart.id == "complaints_by_party":
            rows = rows[:TOP_PARTIES]
        charts.append(chart.as_json(rows))
    return {"id": "complaints", "title": "投诉情况",
            "indicators": [f.as_json(row[f.id]) for f in FIGURES], "charts": charts}
