"""Every indicator the platform shows, defined once: its name, unit, formula in words, what it
counts and at which share an insurer sees it.

The map's district layers (`layers.catalogue`), the statistics' figures (`layers.statistics`,
`layers.service`, `layers.complaints`) and the reports take their names, units and
definitions from here, so one meaning has one name and one definition wherever it is shown
(a test fails when two indicators share a name or a definition). Ratios take numerator and
denominator at the same share: an insurer's premium at its co-insurance share is divided by
the construction cost (or floor area) at that same share.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo import programme

# The share basis, as an insurer reads its own figures (the regulator's are whole).
SHARE = "保险公司查看时按其共保份额计"
WHOLE = "保险公司查看时按整件计（不按份额拆分）"
SAME_SHARE = "保险公司查看时分子、分母都按其共保份额计"
RATIO_WHOLE = "分子、分母都按整项目计，与共保份额无关"
OWN_PARTY = "保险公司、风险管理机构查看时为针对本单位的投诉"

POLICY = "期间按保单签发日期；只计有效保单（不含已退回、已注销）"
EVENT = "期间按风险事件发现日期"
CLAIM = "期间按报案日期"
COMPLAINT = "期间按投诉收到日期"
NOW = "当前数，不随期间变化"


@dataclass(frozen=True)
class Indicator:
    key: str
    name: str
    unit: str
    formula: str        # how it is computed, in words
    counts: str         # which rows, and the date the period applies to
    share: str          # how an insurer's own view counts it

    @property
    def definition(self) -> str:
        """The whole definition in one line: the tooltip and 指标说明 text."""
        return f"{self.formula}。{self.counts}。{self.share}。"

    def as_json(self) -> dict:
        return {"key": self.key, "name": self.name, "unit": self.unit, "formula": self.formula,
                "counts": self.counts, "share": self.share, "definition": self.definition}


_DEADLINES = (f"查勘超过{programme.SURVEY_DAYS}日、核定超过{programme.DECISION_DAYS}日"
              f"（复杂案件{programme.DECISION_DAYS_COMPLEX}日）、协议后{programme.SETTLEMENT_DAYS}"
              f"日未完成维修或赔付、拒赔后{programme.REFUSAL_NOTICE_DAYS}日未发出通知；"
              "尚未完成的环节计算到今天")

INDICATORS: tuple[Indicator, ...] = (
    # 承保
    Indicator("policies", "保单数", "件", "有效保单张数", POLICY, WHOLE),
    Indicator("projects", "承保项目数", "个", "期间内有保单签发的项目数，一个项目只计一次",
              POLICY, WHOLE),
    Indicator("premium", "总保费", "万元", "保费合计", POLICY, SHARE),
    Indicator("sum_insured", "保险金额", "万元", "保险金额合计", POLICY, SHARE),
    Indicator("insured_area", "承保面积", "万m²", "承保项目建筑面积合计，一个项目只计一次",
              POLICY, WHOLE),
    Indicator("rate", "平均费率", "%",
              "保费合计 ÷ 各保单所保项目建安造价合计 × 100（按造价加权的平均费率）",
              POLICY, SAME_SHARE),
    Indicator("premium_per_m2", "单方保费", "元/m²", "保费合计 ÷ 各保单所保项目建筑面积合计",
              POLICY, SAME_SHARE),
    Indicator("cost_per_m2", "平均建安造价", "元/m²",
              "承保项目建安造价合计 ÷ 建筑面积合计（按面积加权），一个项目只计一次",
              POLICY, RATIO_WHOLE),
    # 风险
    Indicator("under_construction", "施工中项目数", "个",
              "处于地基基础、主体结构或装饰装修施工阶段的项目数", NOW, WHOLE),
    Indicator("risk_reports", "风险评估报告数", "份", "风险管理机构提交的报告数",
              "期间按报告提交日期", WHOLE),
    Indicator("risk_events", "风险事件数", "件", "风险管理机构检查发现的风险事件数", EVENT, WHOLE),
    Indicator("severe_risk_events", "严重风险事件数", "件", "等级为严重的风险事件数", EVENT, WHOLE),
    Indicator("open_risk_events", "未销项风险事件数", "件",
              "尚未销项（待整改或整改中）的风险事件数", EVENT, WHOLE),
    Indicator("overdue_risk_events", "逾期未整改风险事件数", "件",
              "未销项且已过整改期限的风险事件数", EVENT, WHOLE),
    Indicator("rectification_rate", "风险事件整改率", "%", "已销项风险事件数 ÷ 风险事件数 × 100",
              EVENT, WHOLE),
    Indicator("risk_events_per_10k_m2", "每万平方米风险事件", "件/万m²",
              "风险事件数 ÷ 承保项目建筑面积合计 × 10000", EVENT + "；面积为全部承保项目", WHOLE),
    Indicator("grade_mix", "C/D级项目占比", "%",
              "当前评为C级或D级的项目数 ÷ 已评级项目数 × 100"
              "（A–D 级按每万平方米加权风险事件、未销项严重事件和按期整改率评定）",
              "当前评级，不随期间变化", WHOLE),
    # 理赔
    Indicator("claims", "理赔案件数", "件", "报案的理赔案件数", CLAIM, WHOLE),
    Indicator("filed_claims", "立案数", "件", "核定属于保险责任的案件数", CLAIM, WHOLE),
    Indicator("filing_rate", "立案率", "%", "立案数 ÷ 理赔案件数 × 100", CLAIM, WHOLE),
    Indicator("paid", "赔付金额", "万元", "已核定的赔付金额合计", CLAIM, SHARE),
    Indicator("closed_claims", "结案数", "件", "状态为已结案的案件数", CLAIM, WHOLE),
    Indicator("closed_paid", "结案金额", "万元", "已结案案件的赔付金额合计", CLAIM, SHARE),
    Indicator("deadline_breaches", "超时限案件数", "件", "任一环节超过时限的案件数：" + _DEADLINES,
              CLAIM, WHOLE),
    Indicator("on_time_rate", "时限达标率", "%",
              "已到期的查勘、核定、履行、拒赔通知环节中按时完成的环节数 ÷ 已到期环节数 × 100",
              CLAIM, WHOLE),
    Indicator("claims_per_1000_units", "千户报案率", "件/千户",
              "理赔案件数 ÷ 已进入保险责任期的承保户数 × 1000", CLAIM, WHOLE),
    Indicator("loss_ratio", "赔付率", "%",
              "赔付金额 ÷ 已赚保费 × 100（保费按十年主体结构责任期均匀赚取）", CLAIM, SAME_SHARE),
    # 服务评价
    Indicator("owner_ratings", "业主评价数", "件", "结案后业主以案件号和查询密码提交的评价数",
              CLAIM, WHOLE),
    Indicator("owner_score", "业主平均评分", "分", "业主评价的平均分（1–5 分）", CLAIM, WHOLE),
    Indicator("reopened_claims", "返修案件数", "件",
              f"同一房屋同一部位在前案维修或赔付后{programme.REOPEN_DAYS}日内再次报案的案件数",
              CLAIM, WHOLE),
    Indicator("reopen_rate", "返修率", "%", "返修案件数 ÷ 已维修或赔付案件数 × 100", CLAIM, WHOLE),
    Indicator("tis_ratings", "风险管理机构评价数", "件",
              "保险公司审核最终检查报告时对风险管理机构的评价数", "全部评价", WHOLE),
    Indicator("tis_score", "风险管理机构平均评分", "分",
              "保险公司对风险管理机构评价的平均分（1–5 分）", "全部评价", WHOLE),
    # 投诉
    Indicator("complaints", "受理投诉数", "件",
              "收到的对保险公司、风险管理机构、维修单位、建设单位的投诉数（按房屋所在区县）",
              COMPLAINT, OWN_PARTY),
    Indicator("complaints_open", "未答复投诉数", "件", "已受理或处理中、尚未答复的投诉数",
              COMPLAINT, OWN_PARTY),
    Indicator("complaints_answered", "已答复待办结投诉数", "件", "已答复、尚未办结的投诉数",
              COMPLAINT, OWN_PARTY),
    Indicator("complaints_closed", "已办结投诉数", "件", "已办结的投诉数", COMPLAINT, OWN_PARTY),
    Indicator("complaints_days_to_answer", "平均答复用时", "天",
              "已答复投诉从收到到答复的天数的平均值", COMPLAINT, OWN_PARTY),
)

BY_KEY = {i.key: i for i in INDICATORS}
assert len(BY_KEY) == len(INDICATORS), "indicator keys must be unique"


def get(key: str) -> Indicator:
    """The indicator with this key; KeyError names it otherwise."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise KeyError(f"no indicator {key!r}") from None


def glossary(keys) -> list[dict]:
    """The 指标说明 of the given indicators, in catalogue order, each once."""
    wanted = set(keys)
    return [i.as_json() for i in INDICATORS if i.key in wanted]
