"""Service evaluation (服务评价) and repair tracking (维修单位施工质量跟踪).

The owners' ratings (1–5) of their closed claims, the claims that reopened an earlier repair of
the same defect (geo.claims.mark_reopened), and the insurers' ratings of the TIS after the
final report: a statistics section (the shape of `layers.statistics.section_statistics`) and
tables per insurer, per TIS and per repairer. The rows are the statistics' own claims
(``sql/stats_base.sql``: reported in the period, in the filters' scope, an insurer's view its
own portfolio) and the caller's connection carries the reader's row security.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo.jurisdiction import area_params
from layers.filters import Filters
from layers.sql import read_sql
from layers.statistics import Chart, Section, figure


def _scalar(source: str, aggregate: str) -> str:
    return f"(SELECT {aggregate} FROM {source})"  # noqa: S608


_REOPENED = "count(*) FILTER (WHERE reopens_claim_id IS NOT NULL)"
_SETTLED = "count(*) FILTER (WHERE settled_on IS NOT NULL)"

SERVICE = Section("service", "服务评价", (
    figure("owner_ratings", 0, _scalar("service_claim", "count(score)")),
    figure("owner_score", 2, _scalar("service_claim", "avg(score)")),
    figure("reopened_claims", 0, _scalar("service_claim", _REOPENED)),
    figure("reopen_rate", 1,
           _scalar("service_claim", f"100.0 * {_REOPENED} / NULLIF({_SETTLED}, 0)")),
    figure("tis_ratings", 0, _scalar("tis_rated", "count(*)")),
    figure("tis_score", 2, _scalar("tis_rated", "avg(rating)")),
), (
    Chart("owner_score_by_insurer", "各保险公司业主平均评分", "bar", "分", "rated_claim",
          "lead_insurer_name", (("平均评分", "avg(score)"),), "value", 2,
          note="按案件的首席承保公司。", indicator="owner_score"),
    Chart("owner_score_by_repairer", "各维修单位业主平均评分", "bar", "分",
          "(SELECT * FROM rated_claim WHERE repairer_name IS NOT NULL) r", "repairer_name",
          (("平均评分", "avg(score)"),), "value", 2, note="按案件的维修单位。",
          indicator="owner_score"),
    Chart("tis_rating_by_tis", "各风险管理机构评分", "bar", "分", "tis_rated", "tis_name",
          (("平均评分", "avg(rating)"),), "value", 2, indicator="tis_score"),
))


def _base() -> str:
    return read_sql("scope.sql") + read_sql("stats_base.sql") + read_sql("service_base.sql")


def _params(city: str, filters: Filters) -> dict:
    return {**filters.params(), **area_params(city)}


def service_section(conn: Connection, city: str, filters: Filters) -> dict:
    """The service evaluation's indicators and charts, as the reader may see them."""
    columns = [f"{f.select()} AS {f.id}" for f in SERVICE.figures]
    columns += [f"{c.sql()} AS {c.id}" for c in SERVICE.charts]
    sql = _base() + "SELECT " + ",\n  ".join(columns)
    row = conn.execute(text(sql), _params(city, filters)).one()._mapping
    return {"id": SERVICE.id, "title": SERVICE.title,
            "indicators": [f.as_json(row[f.id]) for f in SERVICE.figures],
            "charts": [c.as_json(row[c.id]) for c in SERVICE.charts]}


def _plain(value):
    return float(value) if isinstance(value, Decimal) else value


def _table(conn: Connection, name: str, city: str, filters: Filters) -> list[dict]:
    rows = conn.execute(text(_base() + read_sql(name)), _params(city, filters))
    return [{k: _plain(v) for k, v in r._mapping.items()} for r in rows]


def repairers(conn: Connection, city: str, filters: Filters) -> list[dict]:
    """Each repairer: claims repaired (settled or closed, with it as repairer), the claims
    that reopened them, the reopen rate (%) and the owners' ratings of those claims."""
    return _table(conn, "service_repairers.sql", city, filters)


def insurers(conn: Connection, city: str, filters: Filters) -> list[dict]:
    """Each lead insurer: its claims, repairs, reopened claims and owners' ratings."""
    return _table(conn, "service_insurers.sql", city, filters)


def tis(conn: Connection, city: str, filters: Filters) -> list[dict]:
    """Each TIS: the insurers' ratings of it after its final reports."""
    return _table(conn, "service_tis.sql", city, filters)
