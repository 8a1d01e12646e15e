"""Each role's task list, from the lifecycles' states and the programme's deadlines; the
return visits the platform opens on its own; and the facts of the record a task links to.

A task is a dict: ``lifecycle`` and ``id`` (the record, also as ``link``), ``title`` (its
number or project), ``project``, ``step`` (what would be done), ``what`` (in Chinese),
``whom`` (who must do it), ``due`` (a date, or None where no deadline applies),
``days_left`` (negative: late) and ``state``: 'late', 'due_soon' (at most 3 days left) or
'open'. Row security restricts what each tenant's connection reads; the queries also keep to
the organisation that must act (the lead insurer, the project's TIS or contractor).

A task links to its record's page: `record_facts`, `record_history` and `documents` give
what that page shows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo import clock, programme
from geo.lifecycle import DEADLINES, LIFECYCLES, ROLE_LABELS, Lifecycle
from geo.workflow import advance, history

DUE_SOON_DAYS = 3
STATE_ZH = {"late": "已逾期", "due_soon": "即将到期", "open": "待办"}


@dataclass(frozen=True)
class SystemActor:
    """The platform itself, for the steps only it takes (role "system" in geo.lifecycle).

    `geo.tenancy.Tenant` refuses a role no account may have, so the platform is not a Tenant;
    `geo.workflow.advance` reads only these four attributes, and the step is recorded with
    role "system", no user and no organisation.
    """

    role: str = "system"
    organisation_id: int | None = None
    username: str = "system"
    user_id: int | None = None


SYSTEM = SystemActor()


def task_state(due: dt.date | None, today: dt.date) -> tuple[int | None, str]:
    """Days left and the state of a task due on ``due``.

    >>> day = dt.date(2026, 6, 30)
    >>> [task_state(day + dt.timedelta(days=n), day)[1] for n in (-1, 0, 3, 4)]
    ['late', 'due_soon', 'due_soon', 'open']
    >>> task_state(None, day)
    (None, 'open')
    """
    if due is None:
        return None, "open"
    left = (due - today).days
    return left, "late" if left < 0 else "due_soon" if left <= DUE_SOON_DAYS else "open"


# --------------------------------------------------------------------------------------------
# The queries: one row per task, with (lifecycle, id, title, project, step, whom, due)

_CLAIMS = """
SELECT 'claim' AS lifecycle, c.id, c.claim_no AS title, p.name AS project, o.name AS whom,
  CASE c.status WHEN 'reported' THEN 'survey' WHEN 'surveyed' THEN 'accept'
                WHEN 'agreed' THEN 'settle' ELSE 'notify_refusal' END AS step,
  CASE c.status WHEN 'reported' THEN c.reported_on + :survey
    WHEN 'surveyed' THEN c.reported_on + CASE WHEN c.is_complex THEN :complex ELSE :decision END
    WHEN 'agreed' THEN c.agreed_on + :settle ELSE c.decided_on + :notice END AS due
FROM claim c JOIN policy po ON po.id = c.policy_id JOIN project p ON p.id = po.project_id
JOIN organisation o ON o.id = po.lead_insurer_id
WHERE (c.status IN ('reported', 'surveyed', 'agreed')
       OR (c.status = 'rejected' AND c.refusal_notified_on IS NULL))
  AND (CAST(:org AS int) IS NULL OR po.lead_insurer_id = :org)"""

_REVIEWS = """
SELECT 'risk_management' AS lifecycle, m.id, p.permit_no AS title, p.name AS project,
  o.name AS whom,
  CASE m.status WHEN 'plan_submitted' THEN 'approve_plan'
    WHEN 'final_submitted' THEN 'approve_final' ELSE 'approve_return_visit' END AS step,
  COALESCE((SELECT max(r.submitted_on) FROM report r WHERE r.project_id = m.project_id
    AND r.kind = CASE m.status WHEN 'plan_submitted' THEN 'initial'
      WHEN 'final_submitted' THEN 'final' ELSE 'return_visit' END), CAST(m.created_at AS date))
  + CASE m.status WHEN 'plan_submitted' THEN :plan ELSE :final END AS due
FROM risk_management m JOIN project p ON p.id = m.project_id
JOIN policy po ON po.project_id = m.project_id AND po.status IN ('submitted', 'confirmed')
JOIN organisation o ON o.id = po.lead_insurer_id
WHERE m.status IN ('plan_submitted', 'final_submitted', 'return_visit_submitted')
  AND (CAST(:org AS int) IS NULL OR po.lead_insurer_id = :org)"""

_TIS_PLANS = """
SELECT 'risk_management' AS lifecycle, m.id, p.permit_no AS title, p.name AS project,
  o.name AS whom, m.status AS step, p.completion_date AS completion
FROM risk_management m JOIN project p ON p.id = m.project_id
JOIN organisation o ON o.id = m.tis_id
WHERE m.tis_id = :org AND m.status IN ('plan_returned', 'inspecting', 'return_visit_due')"""

_EVENTS = """
SELECT DISTINCT 'risk_event' AS lifecycle, e.id, e.event_no AS title, p.name AS project,
  o.name AS whom, e.due_on AS due,
  CASE WHEN e.status = 'open' THEN 'request_rectification'
       WHEN e.evidence_submitted_on IS NULL AND :role = 'contractor' THEN 'submit_evidence'
       WHEN e.evidence_submitted_on IS NULL THEN 'await_evidence' ELSE 'close' END AS step
FROM risk_event e JOIN project p ON p.id = e.project_id
JOIN policy po ON po.project_id = p.id
JOIN organisation o ON o.id = CASE WHEN :role = 'contractor' THEN p.contractor_id ELSE po.tis_id END
WHERE CASE WHEN :role = 'contractor' THEN p.contractor_id = :org
             AND e.status = 'rectifying' AND e.evidence_submitted_on IS NULL
           ELSE po.tis_id = :org AND e.status IN ('open', 'rectifying') END"""

_POLICIES = """
SELECT 'policy' AS lifecycle, po.id, po.policy_no AS title, p.name AS project,
  '住建局' AS whom, 'confirm' AS step,
  COALESCE((SELECT max(s.on_date) FROM lifecycle_step s WHERE s.lifecycle = 'policy'
            AND s.entity_id = po.id), po.issue_date) + :confirmation AS due
FROM policy po JOIN project p ON p.id = po.project_id WHERE po.status = 'submitted'"""

WHAT = {
    ("claim", "survey"): "现场查勘（报案后 2 日内）",
    ("claim", "accept"): "作出核定（报案后 7 日内，复杂案件 30 日内）",
    ("claim", "settle"): "完成维修或赔付（协议后 7 日内）",
    ("claim", "notify_refusal"): "发出不予赔偿通知书（核定后 3 日内）",
    ("risk_management", "approve_plan"): "审核风险交底及检查计划",
    ("risk_management", "approve_final"): "审核质量风险最终检查报告",
    ("risk_management", "approve_return_visit"): "审核回访报告",
    ("risk_management", "plan_returned"): "修改并重新提交风险检查计划",
    ("risk_management", "inspecting"): "施工阶段检查，竣工后提交最终检查报告",
    ("risk_management", "inspecting_final"): "项目已竣工验收：提交质量风险最终检查报告",
    ("risk_management", "return_visit_due"): "竣工两年回访，提交回访报告",
    ("risk_event", "request_rectification"): "下发整改通知",
    ("risk_event", "await_evidence"): "督促施工单位整改，到期销项",
    ("risk_event", "close"): "审核整改材料并销项",
    ("risk_event", "submit_evidence"): "按整改通知整改并提交整改材料",
    ("policy", "confirm"): "确认承保或退回保单",
}
_DAYS = {"survey": programme.SURVEY_DAYS, "decision": programme.DECISION_DAYS,
         "complex": programme.DECISION_DAYS_COMPLEX, "settle": programme.SETTLEMENT_DAYS,
         "notice": programme.REFUSAL_NOTICE_DAYS, "plan": DEADLINES["plan_review"][0],
         # the return-visit report is reviewed within the final report's time
         "final": DEADLINES["final_review"][0], "confirmation": DEADLINES["confirmation"][0]}


def _rows(conn: Connection, sql: str, **params) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(text(sql), {**_DAYS, **params})]


def _task(row: dict, today: dt.date, whom_role: str) -> dict:
    left, state = task_state(row.get("due"), today)
    lifecycle, record = row["lifecycle"], row["id"]
    return {"lifecycle": lifecycle, "lifecycle_zh": LIFECYCLES[lifecycle].label, "id": record,
            "title": row["title"], "project": row["project"], "step": row["step"],
            "what": WHAT[(lifecycle, row["step"])],
            "whom": f"{ROLE_LABELS.get(whom_role, whom_role)} · {row['whom']}"
            if whom_role != "regulator" else row["whom"],
            "due": row.get("due"), "days_left": left, "state": state,
            "link": {"lifecycle": lifecycle, "id": record}}


def _tis_plan(row: dict) -> dict:
    """A TIS's risk management: its next step, and the return visit's deadline."""
    if row["step"] == "inspecting" and row["completion"] is not None:
        return {**row, "step": "inspecting_final"}
    if row["step"] == "return_visit_due":
        return {**row, "due": programme.add_years(row["completion"],
                                                   programme.LIABILITY_START_YEARS)}
    return row


def _for_role(conn: Connection, role: str, org: int | None) -> list[tuple[dict, str]]:
    if role == "insurer":
        rows = _rows(conn, _CLAIMS, org=org) + _rows(conn, _REVIEWS, org=org)
        return [(r, "insurer") for r in rows]
    if role == "tis":
        plans = [_tis_plan(r) for r in _rows(conn, _TIS_PLANS, org=org)]
        return [(r, "tis") for r in plans + _rows(conn, _EVENTS, org=org, role="tis")]
    if role == "contractor":
        return [(r, "contractor") for r in _rows(conn, _EVENTS, org=org, role="contractor")]
    if role == "regulator":
        return [(r, "regulator") for r in _rows(conn, _POLICIES)]
    return []


def _order(task: dict) -> tuple:
    rank = {"late": 0, "due_soon": 1, "open": 2}[task["state"]]
    return rank, task["due"] or dt.date.max, task["lifecycle"], task["id"]


def tasks(conn: Connection, tenant, today: dt.date) -> list[dict]:
    """The tasks of ``tenant``'s role and organisation on ``today``: late first, then due
    soon, then open, each by due date. The regulator also gets every insurer's late steps,
    city-wide."""
    found = [_task(row, today, whom) for row, whom in
             _for_role(conn, tenant.role, tenant.organisation_id)]
    if tenant.role == "regulator":
        insurers = _rows(conn, _CLAIMS, org=None) + _rows(conn, _REVIEWS, org=None)
        late = [_task(r, today, "insurer") for r in insurers]
        found += [t for t in late if t["state"] == "late"]
    return sorted(found, key=_order)


def return_visit_opens(completion: dt.date, lead_days: int) -> dt.date:
    """The day the platform opens a project's return visit: ``lead_days`` before the 2-year
    mark after completion acceptance.

    >>> return_visit_opens(dt.date(2024, 6, 30), 60)
    datetime.date(2026, 5, 1)
    """
    mark = programme.add_years(completion, programme.LIABILITY_START_YEARS)
    return mark - dt.timedelta(days=lead_days)


def open_due_return_visits(conn: Connection, today: dt.date, lead_days: int) -> list[int]:
    """Take 'open_return_visit' (as the platform) on every approved final report whose
    project reaches the 2-year mark within ``lead_days``; the risk managements opened.
    Records another transaction is opening are skipped (it opens them)."""
    rows = conn.execute(text("""
        SELECT m.id, p.completion_date FROM risk_management m
        JOIN project p ON p.id = m.project_id
        WHERE m.status = 'final_approved' AND p.completion_date IS NOT NULL
        ORDER BY m.id FOR UPDATE OF m SKIP LOCKED""")).all()
    opened = []
    for record, completion in rows:
        if return_visit_opens(completion, lead_days) <= today:
            advance(conn, SYSTEM, "risk_management", record, "open_return_visit", day=today)
            opened.append(record)
    return opened


# --------------------------------------------------------------------------------------------
# What a task links to: the record's key facts (first: its title) and its documents

_FACTS = {
    "claim": """SELECT c.claim_no AS "案件号", p.name AS "项目", c.unit_no AS "房号",
        k.name_zh AS "责任范围", c.cause AS "缺陷情况", c.reporter_name AS "报案人",
        o.name AS "首席承保公司", c.reported_on AS "报案日期", c.surveyed_on AS "查勘日期",
        c.decided_on AS "核定日期", c.agreed_on AS "协议日期", c.settled_on AS "维修/赔付日期",
        c.paid_amount_yuan AS "赔付金额（元）", c.is_complex AS "复杂案件",
        c.is_emergency AS "应急案件"
        FROM claim c JOIN policy po ON po.id = c.policy_id JOIN project p ON p.id = po.project_id
        JOIN organisation o ON o.id = po.lead_insurer_id
        JOIN coverage_section_kind k ON k.code = c.section WHERE c.id = :id""",
    "policy": """SELECT po.policy_no AS "保单号", p.name AS "项目", p.permit_no AS "报建号",
        o.name AS "首席承保公司", t.name AS "风险管理机构", po.issue_date AS "签单日期",
        po.premium_yuan AS "保费（元）", po.sum_insured_yuan AS "保险金额（元）",
        p.units_sold AS "已售户数"
        FROM policy po JOIN project p ON p.id = po.project_id
        JOIN organisation o ON o.id = po.lead_insurer_id
        LEFT JOIN organisation t ON t.id = po.tis_id WHERE po.id = :id""",
    "risk_event": """SELECT e.event_no AS "风险事件编号", p.name AS "项目",
        c.name_zh AS "风险类别", s.name_zh AS "风险等级", e.location_in_building AS "部位",
        e.description AS "问题描述", e.found_on AS "发现日期", e.due_on AS "整改期限",
        e.evidence_submitted_on AS "整改材料提交日期", e.closed_on AS "销项日期"
        FROM risk_event e JOIN project p ON p.id = e.project_id
        JOIN risk_category c ON c.code = e.category JOIN risk_severity s ON s.code = e.severity
        WHERE e.id = :id""",
    "risk_management": """SELECT p.name AS "项目", p.permit_no AS "报建号",
        o.name AS "风险管理机构", p.completion_date AS "竣工验收日期",
        m.tis_rating AS "评价（1–5）", m.tis_comment AS "评价意见"
        FROM risk_management m JOIN project p ON p.id = m.project_id
        JOIN organisation o ON o.id = m.tis_id WHERE m.id = :id""",
}


def record_facts(conn: Connection, lifecycle: str, record: int) -> list[tuple[str, object]]:
    """The record's key facts as (label, value), its title first; [] when it is not visible."""
    row = conn.execute(text(_FACTS[lifecycle]), {"id": record}).first()
    if row is None:
        return []
    facts = list(row._mapping.items())
    if lifecycle == "risk_management" and row._mapping["竣工验收日期"]:
        mark = programme.add_years(row._mapping["竣工验收日期"], programme.LIABILITY_START_YEARS)
        facts.append(("回访期限（竣工两年）", mark))
    return facts


def documents(conn: Connection, lifecycle: str, record: int) -> list[dict]:
    """The record's documents (not their content), oldest first."""
    rows = conn.execute(text("""
        SELECT id, kind, filename, mimetype, size_bytes, sha256, step_id, uploaded_at
        FROM document WHERE lifecycle = :lc AND entity_id = :id ORDER BY id"""),
        {"lc": lifecycle, "id": record})
    return [dict(r._mapping) for r in rows]


def document_file(conn: Connection, document_id: int) -> dict | None:
    """One document with its content, if the connection may read it."""
    row = conn.execute(text("SELECT filename, mimetype, content FROM document WHERE id = :id"),
                       {"id": document_id}).first()
    return None if row is None else dict(row._mapping)


def shown(value) -> str:
    """A value as a page shows it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return clock.beijing(value)
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value)


def _figure(value) -> str:
    return f"{value:,.2f}" if isinstance(value, int | float) else shown(value)


def _step_detail(machine: Lifecycle, detail: dict) -> list[tuple[str, str]]:
    fields = {f.name: f for t in machine.transitions for f in t.fields}
    out = []
    for key, value in detail.items():
        if key == "changes" and isinstance(value, dict):  # a change's figures, before → after
            out += [(label, f"{_figure(old)} → {_figure(new)}")
                    for label, (old, new) in value.items()]
            continue
        field = fields.get(key)
        if field is not None and field.choices:
            value = dict(field.choices).get(value, value)
        out.append((field.label if field else {"on": "日期", "rule": "承保判定"}.get(key, key),
                    shown(value)))
    return out


def record_history(conn: Connection, machine: Lifecycle, record: int) -> list[dict]:
    """The record's steps, oldest first, with their labels and details as pages show them."""
    steps = {t.name: t.label for t in machine.transitions}
    return [{**s, "label": steps.get(s["step"], s["step"]),
             "from_zh": machine.states.get(s["from_state"], "新建") if s["from_state"] else "新建",
             "to_zh": machine.states.get(s["to_state"], s["to_state"]),
             "role_zh": ROLE_LABELS.get(s["role"], s["role"]),
             "detail_shown": _step_detail(machine, s["detail"] or {})}
            for s in history(conn, machine.name, record)]
