"""Claim files from insurers (理赔案件): each owner's claim on a policy, its dates and decision.

Every CHECK the store puts on a claim is checked here first, row by row, so that a clerk
reads a row, a column and a reason instead of a database error. A claim reported outside
the cover period is still recorded, with a warning: the insurer keeps the claim and its
refusal on file, and the regulator wants to see both.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import text

from geo import programme
from loaders.imports import values
from loaders.imports.columns import Column
from loaders.imports.kinds import Context, ImportKind
from loaders.imports.pipeline import Checked
from loaders.imports.sql import read_sql

COLUMNS = (
    Column("claim_no", "案件号", "text", True, example="CL2025000001",
           help="理赔案件的唯一编号；再次导入同一案件号即更新该案件",
           aliases=("报案号", "理赔编号")),
    Column("policy_no", "保单号", "text", True, example="IDI2023530100000001",
           help="须是库中已有的保单"),
    Column("unit_no", "房号", "text", True, example="3栋2单元1502",
           aliases=("出险房屋", "房屋号")),
    Column("reporter_name", "报案人", "text", True, example="张女士"),
    Column("reporter_phone", "联系电话", "text", example="13800000000"),
    Column("section", "保险责任", "label:section", True, example="保温防水",
           help="地基基础和主体结构工程、保温和防水工程，或该保单的附加险",
           aliases=("责任类别", "出险部位类别")),
    Column("cause", "出险原因", "text", example="卫生间防水层渗漏"),
    Column("exclusion", "除外原因", "label:exclusion", example="",
           help="房屋所有权人或使用人责任、第三方造成、不可抗力；核定赔付的案件不填"),
    Column("is_complex", "复杂案件", "bool", example="否", help="是：核定时限为30日，否则7日"),
    Column("is_emergency", "应急维修", "bool", example="否"),
    Column("reported_on", "报案日期", "date", True, example="2025-03-02"),
    Column("surveyed_on", "查勘日期", "date", example="2025-03-03"),
    Column("decided_on", "核定日期", "date", example="2025-03-08",
           help="与核定结果同时填写"),
    Column("decision", "核定结果", "label:decision", example="赔付", help="赔付 或 拒赔"),
    Column("decision_reason", "核定理由", "text", example="属于保温和防水工程质量缺陷",
           help="拒赔时必填", aliases=("拒赔理由",)),
    Column("refusal_notified_on", "拒赔通知日期", "date", example="",
           help="不予赔偿通知书发出之日，仅拒赔时填写"),
    Column("agreed_on", "协议日期", "date", example="2025-03-12",
           help="达成赔偿协议之日，仅核定赔付时填写", aliases=("赔偿协议日期",)),
    Column("settled_on", "维修或赔付完成日期", "date", example="2025-03-18",
           help="须先填协议日期", aliases=("结案日期", "赔付日期")),
    Column("claimed_amount", "索赔金额", "money", unit="元", example="20000",
           help="表头写明单位：元 或 万元"),
    Column("paid_amount", "赔付金额", "money", unit="元", example="18000",
           help="空为0；拒赔时须为0"),
    Column("repairer", "维修单位", "text", example="安居房屋维修服务有限公司",
           help="须是库中已登记的维修单位"),
    Column("status", "案件状态", "label:claim_status", example="已维修/赔付",
           help="已报案、已查勘、已核定赔付、不予赔偿、已达成协议、已维修/赔付、已结案；"
                "空则按所填日期推定"),
)

# Codes are shown to clerks as the labels they typed, not as the store's codes.
SHOWN = {"status": values.CLAIM_STATUSES, "decision": values.DECISIONS,
         "exclusion": values.EXCLUSIONS, "section": values.SECTIONS}
MAX_YUAN = Decimal("1e12")  # numeric(14, 2)


def derive_status(record: dict) -> str:
    """Where a claim is, from the furthest step its dates and decision reach.

    >>> derive_status({"surveyed_on": 1}), derive_status({"decision": "rejected"})
    ('surveyed', 'rejected')
    >>> derive_status({"decision": "accepted", "agreed_on": 1}), derive_status({})
    ('agreed', 'reported')
    """
    if record.get("settled_on"):
        return "settled"
    if record.get("agreed_on"):
        return "agreed"
    if record.get("decision") in ("accepted", "rejected"):
        return record["decision"]
    return "surveyed" if record.get("surveyed_on") else "reported"


def _before(later, earlier) -> bool:
    """True when both dates are given and the one that must come later does not."""
    return later is not None and earlier is not None and later < earlier


def _status_disagrees(r: dict) -> bool:
    status = r.get("status")
    if status in ("reported", "surveyed"):
        return r.get("decision") is not None
    return r.get("decision") != ("rejected" if status == "rejected" else "accepted")


def _too_much(amount) -> bool:
    return amount is not None and amount >= MAX_YUAN


# One per CHECK on table claim (geo/sql/0001_operations.sql), in the order a clerk fills the
# row in: (column blamed, whether the row breaks the rule, reason). The store lets a NULL
# decision slip through some of its CHECKs; these do not, as the rules mean.
Rule = tuple[str, Callable[[dict], bool], str]
RULES: tuple[Rule, ...] = (
    ("surveyed_on", lambda r: _before(r.get("surveyed_on"), r.get("reported_on")),
     "查勘日期早于报案日期 — survey before the report"),
    ("decided_on", lambda r: _before(r.get("decided_on"), r.get("reported_on")),
     "核定日期早于报案日期 — decision before the report"),
    ("decided_on", lambda r: r.get("decision") is not None and r.get("decided_on") is None,
     "填了核定结果须填核定日期 — a decision needs its date"),
    ("decision", lambda r: r.get("decided_on") is not None and r.get("decision") is None,
     "填了核定日期须填核定结果（赔付或拒赔）— a decision date needs the decision"),
    ("exclusion", lambda r: r.get("exclusion") is not None and r.get("decision") == "accepted",
     "核定赔付的案件不能有除外原因 — an excluded cause cannot be accepted"),
    ("decision_reason", lambda r: r.get("decision") == "rejected" and not r.get(
        "decision_reason"), "拒赔须填核定理由 — a refusal needs its reason"),
    ("paid_amount", lambda r: r.get("decision") == "rejected" and r.get("paid_amount") != 0,
     "拒赔案件的赔付金额须为0 — a refused claim pays nothing"),
    ("refusal_notified_on", lambda r: r.get("refusal_notified_on") is not None
     and r.get("decision") != "rejected",
     "只有拒赔的案件才有拒赔通知日期 — a refusal notice needs a refusal"),
    ("refusal_notified_on", lambda r: _before(r.get("refusal_notified_on"), r.get("decided_on")),
     "拒赔通知日期早于核定日期 — refusal notice before the decision"),
    ("agreed_on", lambda r: r.get("agreed_on") is not None and r.get("decision") != "accepted",
     "只有核定赔付的案件才有协议日期 — an agreement needs an accepted claim"),
    ("agreed_on", lambda r: _before(r.get("agreed_on"), r.get("decided_on")),
     "协议日期早于核定日期 — agreement before the decision"),
    ("settled_on", lambda r: r.get("settled_on") is not None and r.get("agreed_on") is None,
     "填了维修或赔付完成日期须填协议日期 — settlement needs an agreement"),
    ("settled_on", lambda r: _before(r.get("settled_on"), r.get("agreed_on")),
     "维修或赔付完成日期早于协议日期 — settled before the agreement"),
    ("status", _status_disagrees,
     "案件状态与核定结果不符：已报案、已查勘的不应有核定结果，不予赔偿的须为拒赔，其余须为赔付"
     " — status and decision disagree"),
    ("status", lambda r: r.get("status") in ("settled", "closed") and not r.get("settled_on"),
     "已维修/赔付或已结案的案件须填维修或赔付完成日期 — settled_on missing"),
    ("status", lambda r: r.get("status") == "agreed" and not r.get("agreed_on"),
     "已达成协议的案件须填协议日期 — agreed_on missing"),
    ("claimed_amount", lambda r: r.get("claimed_amount") == 0,
     "索赔金额须大于0，不知道时留空 — a claimed amount must be above 0 (or blank)"),
    ("claimed_amount", lambda r: _too_much(r.get("claimed_amount")),
     "索赔金额过大 — amount too large"),
    ("paid_amount", lambda r: _too_much(r.get("paid_amount")), "赔付金额过大 — amount too large"),
)


def _header(record: dict, column: str) -> str:
    zh = next(c.zh for c in COLUMNS if c.name == column)
    return record["_headers"].get(column, zh)


def _shown(record: dict, column: str):
    value = record.get(column)
    return SHOWN[column].get(value, value) if column in SHOWN else value


def _complete(record: dict) -> None:
    """What a blank cell means for the store: no payment, not complex, status from the dates."""
    record["paid_amount"] = record.get("paid_amount") or Decimal(0)
    record["is_complex"] = bool(record.get("is_complex"))
    record["is_emergency"] = bool(record.get("is_emergency"))
    record["status"] = record.get("status") or derive_status(record)


def check_rules(checked: Checked, record: dict) -> None:
    """The first rule the row breaks, as a row error (later ones often follow from it)."""
    for column, broken, reason in RULES:
        if broken(record):
            checked.reject(record, _header(record, column), _shown(record, column), reason)
            return


def _lookup(context: Context, sql_name: str, keys: set) -> list:
    if not keys:
        return []
    return context.conn.execute(text(read_sql(sql_name)),
                                {"keys": sorted(keys), "org": context.reach_org}).all()


def check_store(checked: Checked, context: Context) -> None:
    """The policy must be in the store, the repairer too, and registered as a repairer."""
    records = [r for r in checked.records if r.get("policy_no")]
    policies = {row.policy_no for row in _lookup(
        context, "claim_policies.sql", {r["policy_no"] for r in records})}
    for record in records:
        if record["policy_no"] not in policies:
            checked.reject(record, _header(record, "policy_no"), record["policy_no"],
                           "库中无此保单号，请先导入保单 — no such policy in the store")
    named = [r for r in checked.records if r.get("repairer")]
    kinds = context.organisation_kinds(r["repairer"] for r in named)
    for record in named:
        kind = kinds.get(record["repairer"])
        if kind is None:
            checked.reject(record, _header(record, "repairer"), record["repairer"],
                           "库中无此维修单位，请先导入参与单位 — unknown repairer")
        elif kind != "repairer":
            label = programme.ORGANISATION_KINDS.get(kind, kind)
            checked.reject(record, _header(record, "repairer"), record["repairer"],
                           f"该单位在库中登记为「{label}」，不是维修单位 — not a repairer")


def check_cover(checked: Checked, context: Context) -> None:
    """The policy must cover the claim's section; a claim outside the cover is only reported."""
    records = checked.valid_records()
    cover = {(row.policy_no, row.section): row for row in _lookup(
        context, "claim_cover.sql", {r["policy_no"] for r in records})}
    for record in records:
        section = cover.get((record["policy_no"], record["section"]))
        if section is None:
            covered = "、".join(values.SECTIONS[s] for p, s in cover if p == record["policy_no"])
            checked.reject(record, _header(record, "section"), _shown(record, "section"),
                           f"该保单未承保此项责任（承保：{covered or '无'}）— "
                           "the policy does not cover this section")
        elif section.starts_on is None:
            checked.warn(record, _header(record, "section"), _shown(record, "section"),
                         "该项保险责任尚无保险期间（项目未竣工验收），案件照常记录 — "
                         "the cover has no dates yet; the claim is recorded")
        elif not programme.may_file_claim(record["reported_on"], section.starts_on,
                                          section.ends_on, section.delivery_date):
            checked.warn(record, _header(record, "reported_on"), record["reported_on"],
                         f"报案日期不在保险期间（{section.starts_on}至{section.ends_on}）内，"
                         "案件照常记录 — reported outside the cover period; the claim is "
                         "recorded with the insurer's decision")


def check(checked: Checked, context: Context) -> None:
    check_store(checked, context)
    check_cover(checked, context)
    # rows with a cell that did not parse are left out: the missing value would only
    # produce errors that fixing the cell makes go away
    for record in checked.valid_records():
        _complete(record)
        check_rules(checked, record)


IMPORT_KIND = ImportKind(
    name="claims", title="理赔案件", columns=COLUMNS, key="claim_no",
    stage_sql="stage_claims.sql", stage_table="stage_claim",
    upsert_sqls=("upsert_claims.sql",), check=check)
