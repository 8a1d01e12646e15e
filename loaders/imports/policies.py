"""Policy files from insurers: the policy, its lead and co-insurers, reinsurers, TIS and riders.

Shares are written the way offices write them, in one cell: "泰和财产保险股份有限公司 30%；
恒信财产保险股份有限公司 20%". The lead's share may be left blank when co-insurers are
listed: it is what remains to 100 %.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

from geo import programme
from loaders.imports import values
from loaders.imports.columns import Column
from loaders.imports.kinds import Context, ImportKind
from loaders.imports.pipeline import Checked

RIDERS = {s.code: s.name_zh for s in programme.COVERAGE_SECTIONS if s.is_rider}

COLUMNS = (
    Column("policy_no", "保单号", "text", True, example="IDI2023530100000001", help="保单的唯一编号；再次导入即更新", aliases=("保险单号", "保单编号")),
    Column("permit_no", "报建号", "text", True, example="530102-2023-0001", help="须是库中已有的项目"),
    Column("lead_insurer", "主承保公司", "text", True, example="安澜财产保险股份有限公司", help="须是库中已登记的保险公司", aliases=("主承保人", "首席承保人")),
    Column("lead_share", "主承保比例", "share", False, "%", "60", help="空则为 100% 减去共保比例之和", aliases=("首席比例",)),
    Column("co_insurers", "共保公司及比例", "text", example="泰和财产保险股份有限公司 40%", help="每家写“名称 比例”，多家用；分隔；主承保比例与之合计须为100%", aliases=("共保公司", "共保比例", "共保人")),
    Column("reinsurers", "再保险公司及比例", "text", example="中安再保险股份有限公司 20%", help="分出比例，多家用；分隔，合计不超过100%", aliases=("再保险公司", "再保人")),
    Column("tis", "风险管理机构", "text", example="建研工程质量风险管理有限公司", help="须是库中已登记的风险管理机构", aliases=("TIS", "风控机构")),
    Column("premium", "保费", "money", True, "万元", "675", aliases=("保险费", "premium_yuan")),
    Column("rate", "费率", "rate", True, "%", "1.5", help="1.5% 或 0.015"),
    Column("sum_insured", "保险金额", "money", True, "万元", "45000", aliases=("保额", "sum_insured_yuan")),
    Column("issue_date", "签单日期", "date", True, example="2023-03-01", aliases=("保单签发日期", "签发日期", "出单日期")),
    Column("status", "保单状态", "label:policy_status", example="已确认", help="待确认、已确认、已退回、已终止、已注销；空为已确认"),
    Column("riders", "附加险", "text", example="电梯工程(2026-07-01至2029-06-30)", help="附加险名称，可在括号中写明保险期间；多项用；分隔", aliases=("附加险种",)),
)

_ITEM = re.compile(r"^(?P<name>.+?)[\s:：（(]*(?P<share>[0-9.]+\s*[%％]?)\s*[)）]?$")
_RIDER = re.compile(r"^(?P<name>[^(（]+?)\s*(?:[(（](?P<start>[^至~～)）]+?)\s*[至~～]\s*(?P<end>[^)）]+)[)）])?$")


def split_shares(cell: str | None) -> list[tuple[str, Decimal]]:
    """Names with shares from one cell.

    >>> split_shares("泰和财险 30%；恒信财险（20%）")
    [('泰和财险', Decimal('0.3')), ('恒信财险', Decimal('0.2'))]
    """
    items = []
    for part in re.split(r"[；;、，,\n]+", cell or ""):
        if not part.strip():
            continue
        match = _ITEM.match(part.strip())
        if not match:
            raise ValueError(f"「{part.strip()}」应写作“名称 比例”，如“泰和财险 30%” — write name and share")
        items.append((match["name"].strip(), values.parse_share(match["share"])))
    return items


def split_riders(cell: str | None) -> list[dict]:
    """Riders with their contract periods, if given.

    >>> split_riders("电梯工程(2026-07-01至2029-06-30)；建筑节能工程")
    [{'section': 'lift', 'starts_on': '2026-07-01', 'ends_on': '2029-06-30'}, {'section': 'energy_saving', 'starts_on': None, 'ends_on': None}]
    """
    riders = []
    for part in re.split(r"[；;、\n]+", cell or ""):
        match = _RIDER.match(part.strip()) if part.strip() else None
        if match is None:
            if part.strip():
                raise ValueError(f"「{part.strip()}」: 附加险写作“名称(起日至止日)”")
            continue
        section = values.parse_label(match["name"], values.SECTIONS, "附加险")
        if section not in RIDERS:
            raise ValueError(f"「{match['name']}」不是附加险 — not a rider")
        start = values.parse_date(match["start"]) if match["start"] else None
        end = values.parse_date(match["end"]) if match["end"] else None
        riders.append({"section": section, "starts_on": start and start.isoformat(),
                       "ends_on": end and end.isoformat()})
    return riders


def _split_cell(checked: Checked, record: dict, column: str, header: str):
    """The names and shares of one cell, and its header; None and a row error if unreadable."""
    header = record["_headers"].get(column, header)
    try:
        return split_shares(record.get(column)), header
    except ValueError as exc:
        checked.reject(record, header, record.get(column), str(exc))
        return None, header


def _shares(checked: Checked, record: dict, insurers: dict) -> list[dict] | None:
    """Lead and co-insurers with shares summing to exactly 100 %, or a row error."""
    co, header = _split_cell(checked, record, "co_insurers", "共保公司及比例")
    if co is None:
        return None
    lead = record.get("lead_insurer")
    lead_share = record.get("lead_share") or Decimal(1) - sum((s for _, s in co), Decimal(0))
    everyone = [(lead, lead_share)] + co
    if lead_share <= 0 or any(s != s.quantize(Decimal("0.0001")) for _, s in everyone):
        checked.reject(record, header, record.get("co_insurers"),
                       "主承保须有份额，各家比例最多精确到0.01% — the lead needs a share; "
                       "shares to 0.01 %")
        return None
    for name, _ in everyone:
        if name and insurers.get(name) != "insurer":
            checked.reject(record, header if name != lead else record["_headers"]["lead_insurer"],
                           name, "库中无此保险公司，请先导入参与单位 — unknown insurer")
            return None
    total = sum((s for _, s in everyone), Decimal(0))
    if total != 1 or len({n for n, _ in everyone}) != len(everyone):
        checked.reject(record, header, record.get("co_insurers"),
                       f"主承保与共保比例合计为{total * 100:g}%，须为100%且各家不重复 — "
                       "shares must add up to 100 %")
        return None
    return [{"name": n, "share": str(s), "lead": i == 0} for i, (n, s) in enumerate(everyone)]


def _reinsurance(checked: Checked, record: dict, insurers: dict) -> list[dict] | None:
    ceded, header = _split_cell(checked, record, "reinsurers", "再保险公司及比例")
    if ceded is None:
        return None
    for name, _ in ceded:
        if insurers.get(name) != "reinsurer":
            checked.reject(record, header, name, "库中无此再保险公司 — unknown reinsurer")
            return None
    if sum((s for _, s in ceded), Decimal(0)) > 1:
        checked.reject(record, header, record.get("reinsurers"), "分出比例合计超过100%")
        return None
    return [{"name": n, "share": str(s)} for n, s in ceded]


def _riders(checked: Checked, record: dict) -> list[dict] | None:
    try:
        return split_riders(record.get("riders"))
    except ValueError as exc:
        checked.reject(record, record["_headers"].get("riders", "附加险"), record.get("riders"),
                       str(exc))
        return None


def check(checked: Checked, context: Context) -> None:
    """Projects, insurers, reinsurers and TIS must exist; shares add up; premium ≤ sum insured."""
    records = checked.valid_records()
    # an insurer reaches its own projects and those nobody else insures (migration 0008)
    projects = context.lookup(
        "SELECT permit_no, construction_cost_yuan FROM project WHERE permit_no = ANY(:n) "
        "AND (CAST(:org AS int) IS NULL OR riskmap_may_insure(:org, id))",
        {r["permit_no"] for r in records})
    names = {n for r in records for n in (r.get("lead_insurer"), r.get("tis")) if n}
    for r in records:
        for cell in (r.get("co_insurers"), r.get("reinsurers")):
            names.update(n for n, _ in _safe_split(cell))
    kinds = context.organisation_kinds(names)
    for record in records:
        _check_one(checked, record, projects, kinds, quote_cost=context.reach_org is None)


def _safe_split(cell) -> list:
    try:
        return split_shares(cell)
    except ValueError:
        return []


def _check_one(checked: Checked, record: dict, projects: dict, kinds: dict,
               quote_cost: bool = True) -> None:
    headers = record["_headers"]
    if record["permit_no"] not in projects:
        checked.reject(record, headers["permit_no"], record["permit_no"],
                       "库中无此报建号的项目，请先导入项目 — unknown project")
    if record.get("tis") and kinds.get(record["tis"]) != "tis":
        checked.reject(record, headers["tis"], record["tis"],
                       "库中无此风险管理机构 — unknown TIS")
    if record.get("premium") and record.get("sum_insured") \
            and record["premium"] > record["sum_insured"]:
        checked.reject(record, headers["premium"], record["premium"],
                       "保费大于保险金额 — premium above the sum insured")
    shares, ceded, riders = (_shares(checked, record, kinds),
                             _reinsurance(checked, record, kinds), _riders(checked, record))
    if None in (shares, ceded, riders):
        return
    record.update(co_insurers=json.dumps(shares, ensure_ascii=False),
                  reinsurers=json.dumps(ceded, ensure_ascii=False),
                  riders=json.dumps(riders, ensure_ascii=False),
                  _asked_status=record.get("status"),
                  status=record.get("status") or "confirmed")
    _warn_rate(checked, record, projects.get(record["permit_no"]), quote_cost)


def _warn_rate(checked: Checked, record: dict, cost, quote_cost: bool = True) -> None:
    """Premium is the rate times the construction cost; a gap over 2 % is worth a look. An
    insurer's upload is not told the cost the store holds (a project it may insure but does
    not yet is not its to read), only that the figures disagree."""
    if cost and record.get("rate") and record.get("premium"):
        expected = Decimal(cost) * record["rate"]
        if abs(record["premium"] - expected) > expected * Decimal("0.02"):
            figure = f"（{expected:.2f}元）" if quote_cost else ""
            checked.warn(record, record["_headers"]["premium"], record["premium"],
                         f"保费与 费率×建安造价{figure}相差超过2% — check premium and rate")


IMPORT_KIND = ImportKind(
    name="policies", title="保单", columns=COLUMNS, key="policy_no",
    stage_sql="stage_policies.sql", stage_table="stage_policy",
    upsert_sqls=("upsert_policies.sql", "upsert_policy_shares.sql",
                 "upsert_policy_cover.sql", "count_policies.sql"),
    check=check, current_sql="current_policies.sql")
