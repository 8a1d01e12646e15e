"""The programme's four lifecycles as state machines: one home for their rules.

Each lifecycle (policy review, risk management, risk event, claim) lists its states and its
transitions: which states a step leaves from, the state it reaches, which roles may take it,
what it needs (fields and documents) and which deadline it starts or stops. Pages, the JSON
API and imports all go through `geo.workflow.advance`, which checks a step here first.

Sources: the Kunming specification 四（一）保险审核, 四（二）风险管理, 四（三）理赔, and the
Suizhou plan 四（六）–（九） (consent of purchasers, claim deadlines, disputes, emergencies).
"""

from __future__ import annotations

from dataclasses import dataclass

from geo import programme


class LifecycleError(ValueError):
    """A step that cannot be taken; the message names the current state and what is allowed."""


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"          # text | date | int | money | bool | choice | rating
    required: bool = True
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: tuple[str, ...]    # () : the step that creates the record
    target: str
    roles: tuple[str, ...]
    fields: tuple[Field, ...] = ()
    documents: tuple[str, ...] = ()   # kinds of document the step needs
    starts: tuple[str, ...] = ()      # deadlines it starts
    stops: tuple[str, ...] = ()       # deadlines it meets


@dataclass(frozen=True)
class Lifecycle:
    name: str
    label: str
    states: dict[str, str]
    transitions: tuple[Transition, ...]

    def get(self, name: str) -> Transition:
        for t in self.transitions:
            if t.name == name:
                return t
        raise LifecycleError(f"{self.label}没有“{name}”这一步。{self.name} has no step {name!r}; "
                             f"steps: {', '.join(t.name for t in self.transitions)}")

    def allowed(self, state: str | None, role: str) -> list[Transition]:
        """The steps ``role`` may take from ``state`` (None: the record does not exist yet)."""
        return [t for t in self.transitions
                if role in t.roles and (state in t.sources if state else not t.sources)]

    def reachable(self, state: str | None) -> set[str]:
        """The states some sequence of steps leads to from ``state`` (None: a new record).

        >>> sorted(CLAIM.reachable("settled"))
        ['closed', 'settled']
        """
        found, todo = set(), [state]
        while todo:
            here = todo.pop()
            for t in self.transitions:
                if (here in t.sources if here else not t.sources):
                    target = t.target or here
                    if target not in found:
                        found.add(target)
                        todo.append(target)
        return found

    def check(self, state: str | None, name: str, role: str) -> Transition:
        """The step, if ``role`` may take it from ``state``; else a LifecycleError that says
        where the record is and what may be done from there.

        >>> CLAIM.check("reported", "survey", "insurer").target
        'surveyed'
        >>> CLAIM.check("reported", "close", "insurer")
        Traceback (most recent call last):
        ...
        geo.lifecycle.LifecycleError: 理赔案件当前为“已报案”，不能“结案”；可以：先行应急维修、查勘。claim is 'reported': 'close' is not allowed; allowed: start_emergency_repair, survey
        """
        step = self.get(name)
        here = self.states.get(state, "新建") if state else "新建"
        if state not in step.sources and (state or step.sources):
            may = self.allowed(state, role)
            raise LifecycleError(
                f"{self.label}当前为“{here}”，不能“{step.label}”；可以：{'、'.join(t.label for t in may) or '无'}。"
                f"{self.name} is {state!r}: {name!r} is not allowed; allowed: "
                f"{', '.join(t.name for t in may) or 'nothing'}")
        if role not in step.roles:
            roles = "、".join(ROLE_LABELS.get(r, r) for r in step.roles)
            raise LifecycleError(f"“{step.label}”须由{roles}办理。{name!r} is for "
                                 f"{', '.join(step.roles)}, not {role}")
        return step


ROLE_LABELS = {"public": "业主", "insurer": "保险公司", "tis": "风险管理机构",
               "regulator": "住建局", "contractor": "施工单位", "developer": "建设单位",
               "system": "平台"}
_REASON = Field("reason", "理由")
_ON = Field("on", "日期", "date")

POLICY = Lifecycle("policy", "保单", dict(programme.POLICY_STATUSES), (
    Transition("submit", "提交保单", (), "submitted", ("insurer",), (
        Field("policy_no", "保单号"), Field("permit_no", "报建号"),
        Field("premium_yuan", "保费（元）", "money"), Field("rate_pct", "费率（%）", "money"),
        Field("sum_insured_yuan", "保险金额（元）", "money"), Field("on", "签单日期", "date"),
        Field("tis", "风险管理机构（名称）"),
        Field("coinsurers", "共保公司及份额（名称:百分比，逗号分隔）", required=False),
        Field("reinsurers", "再保险公司及份额（名称:百分比）", required=False)),
        ("quote", "coinsurance_agreement", "policy_document"), starts=("confirmation",)),
    Transition("confirm", "确认承保", ("submitted",), "confirmed", ("regulator",),
               stops=("confirmation",)),
    Transition("return", "退回", ("submitted",), "returned", ("regulator",), (_REASON,),
               stops=("confirmation",)),
    Transition("resubmit", "重新提交", ("returned",), "submitted", ("insurer",),
               (Field("note", "修改说明"),), starts=("confirmation",)),
    # a change names the figures it changes; the step keeps each one before and after
    Transition("change", "变更保单", ("confirmed",), "submitted", ("insurer",),
               (Field("note", "变更内容"),
                Field("premium_yuan", "保费（元）", "money", required=False),
                Field("rate_pct", "费率（%）", "money", required=False),
                Field("sum_insured_yuan", "保险金额（元）", "money", required=False)),
               ("purchaser_consent",), starts=("confirmation",)),
    Transition("cancel", "解除合同", ("submitted", "confirmed"), "cancelled", ("insurer",),
               (_REASON,), ("purchaser_consent",)),
    Transition("terminate", "终止保险（重大缺陷未整改）", ("confirmed",), "terminated",
               ("insurer",), (_REASON,), ("final_report",)),
))

RISK_PLAN_STATES = {
    "plan_submitted": "风险检查计划待审核", "plan_returned": "计划已退回", "inspecting": "施工阶段检查中",
    "final_submitted": "最终检查报告待审核", "final_approved": "最终检查报告已审核",
    "cover_ended": "已终止保险", "return_visit_due": "回访待进行",
    "return_visit_submitted": "回访报告待审核", "closed": "风险管理已结束",
}
STAGES = tuple((k, v) for k, v in programme.PROJECT_STAGES.items()
               if k in ("foundation", "main_structure", "finishing", "completed"))
RISK_MANAGEMENT = Lifecycle("risk_management", "风险管理", RISK_PLAN_STATES, (
    Transition("submit_plan", "提交风险交底及检查计划", (), "plan_submitted", ("tis",),
               (Field("summary", "风险交底要点"),), ("risk_briefing", "inspection_plan"),
               starts=("plan_review",)),
    Transition("resubmit_plan", "重新提交计划", ("plan_returned",), "plan_submitted", ("tis",),
               (Field("summary", "修改说明"),), ("inspection_plan",), starts=("plan_review",)),
    Transition("approve_plan", "审核通过计划", ("plan_submitted",), "inspecting", ("insurer",),
               stops=("plan_review",)),
    Transition("return_plan", "退回计划", ("plan_submitted",), "plan_returned", ("insurer",),
               (_REASON,), stops=("plan_review",)),
    Transition("inspect", "现场检查", ("inspecting",), "inspecting", ("tis",),
               (Field("stage", "检查阶段", "choice", choices=STAGES),
                Field("on", "检查日期", "date"), Field("findings", "检查情况"))),
    Transition("submit_process_report", "提交风险过程评估报告", ("inspecting",), "inspecting",
               ("tis",), (Field("summary", "报告摘要"),), ("process_report",)),
    Transition("submit_final", "提交质量风险最终检查报告", ("inspecting",), "final_submitted",
               ("tis",), (Field("summary", "报告摘要"),), ("final_report",),
               starts=("final_review",)),
    Transition("approve_final", "审核最终检查报告", ("final_submitted",), "final_approved",
               ("insurer",), (Field("rating", "对风险管理机构的评价（1–5）", "rating"),
                              Field("comment", "评价意见", required=False)),
               stops=("final_review",)),
    Transition("end_cover", "终止保险（重大缺陷未整改）", ("final_submitted",), "cover_ended",
               ("insurer",), (_REASON,), stops=("final_review",)),
    Transition("open_return_visit", "生成回访任务", ("final_approved",), "return_visit_due",
               ("system",), starts=("return_visit",)),
    Transition("submit_return_visit", "提交回访报告", ("return_visit_due",),
               "return_visit_submitted", ("tis",), (Field("summary", "复查结论及维修责任"),),
               ("return_visit_report",), stops=("return_visit",)),
    Transition("approve_return_visit", "审核回访报告", ("return_visit_submitted",), "closed",
               ("insurer",)),
))

RISK_EVENT = Lifecycle("risk_event", "风险事件", dict(programme.RISK_EVENT_STATUSES), (
    Transition("report", "上报风险事件", (), "open", ("tis",), (
        Field("category", "风险类别", "choice", choices=tuple(programme.RISK_CATEGORIES.items())),
        Field("severity", "风险等级", "choice", choices=tuple(programme.RISK_SEVERITIES.items())),
        Field("location_in_building", "部位"), Field("description", "问题描述"),
        Field("on", "发现日期", "date"))),
    Transition("request_rectification", "下发整改通知", ("open",), "rectifying", ("tis",),
               (Field("due_on", "整改期限", "date"),), starts=("rectification",)),
    Transition("submit_evidence", "提交整改材料", ("rectifying",), "rectifying", ("contractor",),
               (Field("note", "整改说明"),), ("rectification_evidence",)),
    Transition("close", "确认整改并销项", ("rectifying",), "closed", ("tis",),
               (_ON,), stops=("rectification",)),
    Transition("urge", "催办整改", ("open", "rectifying"), "", ("insurer",),
               (Field("note", "催办意见"),)),
))

_EXCLUSIONS = tuple(programme.EXCLUSIONS.items())
_SECTIONS = tuple((s.code, s.name_zh) for s in programme.COVERAGE_SECTIONS)
CLAIM = Lifecycle("claim", "理赔案件", dict(programme.CLAIM_STATUSES), (
    Transition("file", "报案", (), "reported", ("public", "insurer"),
               (Field("unit_no", "房号"), Field("section", "缺陷部位（责任范围）", "choice",
                                                choices=_SECTIONS),
                Field("cause", "缺陷情况"), Field("reporter_name", "报案人"),
                Field("reporter_phone", "联系电话"),
                Field("is_emergency", "影响基本生活（应急）", "bool", required=False),
                # the day the owner reported it (an insurer recording a call); the public
                # files today (geo.claims.file_public_claim)
                Field("on", "报案日期", "date", required=False)),
               starts=("survey", "decision")),
    Transition("start_emergency_repair", "先行应急维修", ("reported",), "reported",
               ("insurer",), (_ON,)),
    Transition("survey", "查勘", ("reported",), "surveyed", ("insurer",),
               (_ON, Field("is_complex", "情形复杂（30日核定）", "bool", required=False)),
               stops=("survey",)),
    Transition("accept", "核定属于保险责任", ("surveyed",), "accepted", ("insurer",),
               (_ON,), stops=("decision",)),
    Transition("reject", "核定不予赔偿", ("surveyed",), "rejected", ("insurer",),
               (_ON, Field("exclusion", "除外原因", "choice", choices=_EXCLUSIONS), _REASON),
               stops=("decision",), starts=("refusal_notice",)),
    Transition("notify_refusal", "发出不予赔偿通知书", ("rejected",), "rejected", ("insurer",),
               (_ON,), stops=("refusal_notice",)),
    Transition("agree", "达成赔偿协议", ("accepted",), "agreed", ("insurer",),
               (_ON, Field("repairer_id", "维修单位", "int", required=False)),
               starts=("settlement",)),
    Transition("settle", "完成维修/赔付", ("agreed",), "settled", ("insurer",),
               (_ON, Field("paid_amount_yuan", "赔付金额（元）", "money")),
               stops=("settlement",)),
    Transition("close", "结案", ("settled",), "closed", ("insurer",)),
    # the owner applies to the insurer, who records it: the public reads no claim's record
    Transition("open_dispute", "申请第三方鉴定", ("rejected", "settled", "closed"),
               "", ("insurer",), (Field("appraiser", "鉴定机构"), _REASON)),
    Transition("record_appraisal", "记录鉴定结果", ("rejected", "settled", "closed"), "",
               ("insurer",), (Field("covered", "鉴定结果属于保险责任", "bool", required=False),
                              Field("cost_yuan", "鉴定费用（元）", "money"))),
    Transition("record_subrogation", "记录追偿", ("settled", "closed"), "", ("insurer",),
               (Field("against", "追偿对象"), Field("amount_yuan", "追偿金额（元）", "money"))),
))

LIFECYCLES = {lc.name: lc for lc in (POLICY, RISK_MANAGEMENT, RISK_EVENT, CLAIM)}

# Deadline name -> (days, label, the programme's words). None: set by a setting or the record.
DEADLINES = {
    "survey": (programme.SURVEY_DAYS, "查勘", "收到索赔申请后二日内现场查勘"),
    "decision": (programme.DECISION_DAYS, "核定", "七日内作出核定；情形复杂的三十日内"),
    "settlement": (programme.SETTLEMENT_DAYS, "履行", "达成协议之日起七日内维修或赔偿"),
    "refusal_notice": (programme.REFUSAL_NOTICE_DAYS, "拒赔通知", "核定之日起三日内发出通知书"),
    "confirmation": (5, "确认承保", "住建局确认保单（平台约定五个工作日）"),
    "plan_review": (7, "审核检查计划", "保险公司审核风险检查计划"),
    "final_review": (15, "审核最终报告", "保险公司审核最终检查报告"),
    "rectification": (None, "整改", "整改通知的期限"),
    "return_visit": (None, "回访", "竣工验收合格两年之日前"),
}
