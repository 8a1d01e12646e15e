"""Risk event files (风险事件) from TIS agencies: what was found on which project, and its fix.

Every rule the store enforces with a CHECK (closed status ⇔ 销项日期, no date before the day
the event was found) is checked here first, so a clerk gets the row and the column instead
of a database error. An event given with its TIS and inspection stage is linked to that
inspection, which is created when the store does not have it yet.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from geo import programme
from loaders.imports.columns import Column
from loaders.imports.kinds import Context, ImportKind
from loaders.imports.pipeline import Checked

COLUMNS = (
    Column("event_no", "风险事件编号", "text", True, example="RE-530102-2023-0001-001",
           help="事件的唯一编号；再次导入同一编号即更新该事件", aliases=("事件编号", "问题编号")),
    Column("permit_no", "报建号", "text", True, example="530102-2023-0001",
           help="须是库中已有的项目", aliases=("报建编号", "项目编号")),
    Column("category", "风险类别", "label:category", True, example="防水",
           help="、".join(programme.RISK_CATEGORIES.values()), aliases=("问题类别", "风险类型")),
    Column("severity", "风险等级", "label:severity", True, example="较重",
           help="一般、较重、严重", aliases=("严重程度", "问题等级")),
    Column("status", "整改状态", "label:event_status", True, example="已销项",
           help="待整改、整改中、已销项；已销项须填销项日期", aliases=("处理状态", "销项状态")),
    Column("description", "问题描述", "text", example="卫生间防水层局部破损",
           aliases=("风险描述",)),
    Column("location_in_building", "部位", "text", example="3号楼5层",
           aliases=("所在部位", "楼栋部位")),
    Column("found_on", "发现日期", "date", True, example="2024-05-10",
           help="不得晚于数据日期", aliases=("检查日期",)),
    Column("due_on", "整改期限", "date", example="2024-05-25",
           help="不得早于发现日期", aliases=("整改截止日期",)),
    Column("closed_on", "销项日期", "date", example="2024-05-20",
           help="整改完成、销项之日；仅已销项的事件填写", aliases=("整改完成日期", "关闭日期")),
    Column("tis", "风险管理机构", "text", example="建研工程质量风险管理有限公司",
           help="须是库中已登记的风险管理机构", aliases=("TIS", "风控机构")),
    Column("stage", "检查阶段", "label:stage", example="主体结构施工",
           help="与风险管理机构同填时，事件关联到该机构在发现日期对该阶段的检查（没有则新建）",
           aliases=("施工阶段",)),
)

AS_OF = "SELECT COALESCE(as_of, (now() AT TIME ZONE 'Asia/Shanghai')::date) FROM data_version"


def _unread(record: dict, name: str) -> bool:
    """True when the column's cell could not be parsed (its None is not a blank cell)."""
    return record["_headers"].get(name) in record.get("_bad", ())


def check_status(checked: Checked, record: dict) -> None:
    """Closed events have a 销项日期 and open ones none, as the store's CHECK requires."""
    status, closed = record.get("status"), record.get("closed_on")
    if status is None or _unread(record, "closed_on"):
        return  # the cell's own error says enough
    header, label = record["_headers"]["status"], programme.RISK_EVENT_STATUSES[status]
    if status == "closed" and closed is None:
        checked.reject(record, header, label,
                       "已销项的事件须填销项日期 — a closed event needs its closing date")
    elif status != "closed" and closed is not None:
        checked.reject(record, header, label,
                       f"「{label}」的事件不应填销项日期，已整改完毕请填已销项 — "
                       "an event that is not closed has no closing date")


def check_dates(checked: Checked, record: dict, as_of: dt.date) -> None:
    """Nothing is found after the data's day, nor due or closed before it was found."""
    found, headers = record.get("found_on"), record["_headers"]
    if found is None:
        return
    if found > as_of:
        checked.reject(record, headers["found_on"], found,
                       f"发现日期晚于数据日期{as_of} — found after the data's as-of day")
    for name, zh, en in (("due_on", "整改期限", "due"), ("closed_on", "销项日期", "closed")):
        day = record.get(name)
        if day is not None and day < found:
            checked.reject(record, headers[name], day,
                           f"{zh}早于发现日期{found} — {en} before the day it was found")
    closed = record.get("closed_on")
    if closed is not None and closed > as_of:  # an event cannot be closed on a day yet to come
        checked.reject(record, headers["closed_on"], closed,
                       f"销项日期晚于数据日期{as_of} — closed after the data's as-of day")


def check_references(checked: Checked, context: Context) -> None:
    """The project must be in the store, and the TIS, if named, a registered TIS."""
    # a TIS reaches the projects whose policy names it
    permits = context.lookup(
        "SELECT permit_no, id FROM project p WHERE permit_no = ANY(:n) AND (CAST(:org AS int) "
        "IS NULL OR EXISTS (SELECT 1 FROM policy po WHERE po.project_id = p.id "
        "AND po.tis_id = :org))", {r["permit_no"] for r in checked.records if r.get("permit_no")})
    kinds = context.organisation_kinds(r.get("tis") for r in checked.records)
    for record in checked.records:
        permit, tis, headers = record.get("permit_no"), record.get("tis"), record["_headers"]
        if permit is not None and permit not in permits:
            checked.reject(record, headers["permit_no"], permit,
                           "库中无此报建号的项目，请先导入项目 — no project with this permit "
                           "number in the store; import the project first")
        if tis is not None and kinds.get(tis) != "tis":
            checked.reject(record, headers["tis"], tis, _not_a_tis(kinds.get(tis)))
        if record.get("stage") and tis is None and not _unread(record, "tis"):
            checked.warn(record, headers["stage"], programme.PROJECT_STAGES[record["stage"]],
                         "未填风险管理机构，事件不关联检查（检查阶段未导入） — "
                         "without a TIS the event is not linked to an inspection")


def _not_a_tis(kind: str | None) -> str:
    if kind is None:
        return "库中无此风险管理机构，请先导入参与单位 — no TIS of this name in the store"
    return (f"该单位在库中登记为「{programme.ORGANISATION_KINDS.get(kind, kind)}」，"
            "不是风险管理机构 — the organisation is registered as another kind, not a TIS")


def check(checked: Checked, context: Context) -> None:
    as_of = context.conn.execute(text(AS_OF)).scalar_one()
    for record in checked.records:  # every row, so that one pass reports all of a file's problems
        check_status(checked, record)
        check_dates(checked, record, as_of)
    check_references(checked, context)


IMPORT_KIND = ImportKind(
    name="risk-events", title="风险事件", columns=COLUMNS, key="event_no",
    stage_sql="stage_risk_events.sql", stage_table="stage_risk_event",
    upsert_sqls=("upsert_risk_event_inspections.sql", "upsert_risk_events.sql"), check=check)
