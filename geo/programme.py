"""The rules of the IDI programme, in one place.

Source: the Suizhou pilot plan (随州市工程建设项目质量潜在缺陷保险试点方案, 四（二）–（九）)
and the Kunming platform specification. The store seeds its lookup tables from
these constants (migration 0001) and its triggers read them from there, so a
rule is written once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class CoverageSection:
    code: str
    name_zh: str
    period_years: int | None  # None: set per contract (riders)
    is_rider: bool


# 四（二）: the basic cover and the riders an insurer may add.
COVERAGE_SECTIONS: tuple[CoverageSection, ...] = (
    CoverageSection("structure", "地基基础和主体结构工程", 10, False),
    CoverageSection("insulation_waterproofing", "保温和防水工程", 5, False),
    CoverageSection("decoration", "建筑装饰装修工程", None, True),
    CoverageSection("plumbing_heating", "建筑给水排水及供暖工程", None, True),
    CoverageSection("hvac", "通风与空调工程", None, True),
    CoverageSection("electrical", "建筑电气工程", None, True),
    CoverageSection("intelligent", "智能建筑工程", None, True),
    CoverageSection("energy_saving", "建筑节能工程", None, True),
    CoverageSection("lift", "电梯工程", None, True),
)
SECTIONS_BY_CODE = {s.code: s for s in COVERAGE_SECTIONS}
BASIC_SECTIONS = tuple(s for s in COVERAGE_SECTIONS if not s.is_rider)

# 四（二）: liability starts two years after completion acceptance (竣工验收合格);
# before that the developer organises repairs.
LIABILITY_START_YEARS = 2
# 四（七）: delivery after the period ended still allows a claim within 6 months of delivery.
LATE_DELIVERY_CLAIM_MONTHS = 6

# 四（七）: the insurer's deadlines, in days.
SURVEY_DAYS = 2
DECISION_DAYS = 7
DECISION_DAYS_COMPLEX = 30
SETTLEMENT_DAYS = 7
REFUSAL_NOTICE_DAYS = 3

# Repair tracking (Kunming 三（四） 维修单位施工质量跟踪): a claim for the same defect (the same
# unit and coverage section of the same project) filed within this many days of an earlier
# claim's repair or payment (settled_on) reopens it, and counts against that repair.
REOPEN_DAYS = 365

# The rules the store's triggers and the layers' SQL read from table programme_rule.
RULES_IN_STORE = (
    ("liability_start_years", LIABILITY_START_YEARS, "保险责任自竣工验收合格两年之日起算"),
    ("survey_days", SURVEY_DAYS, "收到索赔申请后二日内现场查勘"),
    ("decision_days", DECISION_DAYS, "七日内作出核定"),
    ("decision_days_complex", DECISION_DAYS_COMPLEX, "情形复杂的三十日内作出核定"),
    ("settlement_days", SETTLEMENT_DAYS, "达成赔偿协议之日起七日内履行维修或赔偿义务"),
    ("refusal_notice_days", REFUSAL_NOTICE_DAYS, "作出核定之日起三日内发出不予赔偿通知书"),
)

# 四（三）: causes that are never the insurer's liability.
EXCLUSIONS = {
    "owner_fault": "房屋所有权人或使用人责任",
    "third_party": "第三方造成",
    "force_majeure": "不可抗力",
}

PROJECT_STAGES = {
    "planning": "报建",
    "foundation": "地基基础施工",
    "main_structure": "主体结构施工",
    "finishing": "装饰装修施工",
    "completed": "竣工验收",
    "delivered": "已交付",
}
UNDER_CONSTRUCTION_STAGES = ("foundation", "main_structure", "finishing")

RISK_SEVERITIES = {"minor": "一般", "major": "较重", "severe": "严重"}
# Weights for heat layers and quality grades: a severe event counts as nine minor ones.
SEVERITY_WEIGHTS = {"minor": 1, "major": 3, "severe": 9}
RISK_EVENT_STATUSES = {"open": "待整改", "rectifying": "整改中", "closed": "已销项"}
RISK_CATEGORIES = {
    "foundation": "地基基础",
    "structure": "主体结构",
    "waterproofing": "防水",
    "insulation": "保温",
    "facade": "外墙",
    "windows": "门窗",
    "installation": "机电安装",
    "other": "其他",
}
REPORT_KINDS = {
    "initial": "初步风险分析报告",
    "process": "风险过程评估报告",
    "final": "质量风险最终检查报告",
    "return_visit": "回访报告",
}
POLICY_STATUSES = {
    "submitted": "待确认", "confirmed": "已确认", "returned": "已退回",
    "terminated": "已终止", "cancelled": "已注销",
}
CLAIM_STATUSES = {
    "reported": "已报案", "surveyed": "已查勘", "accepted": "已核定赔付",
    "rejected": "不予赔偿", "agreed": "已达成协议", "settled": "已维修/赔付", "closed": "已结案",
}
ORGANISATION_KINDS = {
    "insurer": "保险公司", "reinsurer": "再保险公司", "tis": "风险管理机构",
    "developer": "建设单位", "contractor": "施工单位", "designer": "设计单位",
    "surveyor": "勘察单位", "supervisor": "监理单位", "repairer": "维修单位",
}


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` later; 29 February falls back to the 28th.

    >>> add_years(dt.date(2024, 2, 29), 2)
    datetime.date(2026, 2, 28)
    """
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, clipped to the month's end.

    >>> add_months(dt.date(2025, 8, 31), 6)
    datetime.date(2026, 2, 28)
    """
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def coverage_period(section: str, completion_accepted: dt.date) -> tuple[dt.date, dt.date]:
    """Start and end of a basic section's cover for a given completion acceptance date.

    >>> coverage_period("structure", dt.date(2020, 6, 30))
    (datetime.date(2022, 6, 30), datetime.date(2032, 6, 30))
    >>> coverage_period("insulation_waterproofing", dt.date(2020, 6, 30))
    (datetime.date(2022, 6, 30), datetime.date(2027, 6, 30))
    """
    rule = SECTIONS_BY_CODE[section]
    if rule.period_years is None:
        raise ValueError(f"{section} is a rider: its period is set by the contract")
    start = add_years(completion_accepted, LIABILITY_START_YEARS)
    return start, add_years(start, rule.period_years)


def may_file_claim(
    reported: dt.date, period_start: dt.date, period_end: dt.date, delivered: dt.date | None
) -> bool:
    """Whether an owner may file a claim on that day (四（七）).

    Within the period, or within 6 months of a delivery that came after the period ended.

    >>> may_file_claim(dt.date(2031, 1, 1), dt.date(2022, 1, 1), dt.date(2032, 1, 1), None)
    True
    >>> may_file_claim(dt.date(2032, 3, 1), dt.date(2022, 1, 1), dt.date(2032, 1, 1),
    ...                dt.date(2032, 2, 1))
    True
    >>> may_file_claim(dt.date(2021, 6, 1), dt.date(2022, 1, 1), dt.date(2032, 1, 1), None)
    False
    """
    if period_start <= reported <= period_end:
        return True
    late = delivered is not None and delivered > period_end
    return late and delivered <= reported <= add_months(delivered, LATE_DELIVERY_CLAIM_MONTHS)


def decision_deadline_days(is_complex: bool) -> int:
    """Days the insurer has to decide a claim (7, or 30 for a complex case).

    >>> decision_deadline_days(False), decision_deadline_days(True)
    (7, 30)
    """
    return DECISION_DAYS_COMPLEX if is_complex else DECISION_DAYS
