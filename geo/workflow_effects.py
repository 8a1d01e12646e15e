"""What each lifecycle step writes, and who (which organisation) may take it.

`geo.workflow.advance` has checked the state and the role; these check the organisation (the
lead insurer of the claim's policy, the TIS assigned to the project, its contractor ...) and
write the step's change. Each effect returns the record's id.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo.lifecycle import LifecycleError, Transition
from geo.tenancy import Tenant


def _refuse(what: str) -> LifecycleError:
    return LifecycleError(f"本单位不是该记录的{what}，不能办理。your organisation is not this "
                          f"record's {what}")


def _one(conn: Connection, sql: str, **params):
    return conn.execute(text(sql), params).scalar()


# --------------------------------------------------------------------------------------------
# Who may act


def _claim_may(conn, tenant: Tenant, claim_id: int) -> None:
    if tenant.role == "insurer" and not _one(conn, """SELECT 1 FROM claim c JOIN policy po
            ON po.id = c.policy_id WHERE c.id = :id AND po.lead_insurer_id = :org""",
                                             id=claim_id, org=tenant.organisation_id):
        raise _refuse("首席承保公司")


def _policy_may(conn, tenant: Tenant, policy_id: int) -> None:
    if tenant.role == "insurer" and not _one(
            conn, "SELECT 1 FROM policy WHERE id = :id AND lead_insurer_id = :org",
            id=policy_id, org=tenant.organisation_id):
        raise _refuse("首席承保公司")


def _lead_of_project(conn, project_id: int, org: int | None) -> bool:
    return bool(_one(conn, """SELECT 1 FROM policy WHERE project_id = :p AND lead_insurer_id = :o
                              AND status IN ('submitted', 'confirmed')""", p=project_id, o=org))


def _plan_may(conn, tenant: Tenant, plan_id: int) -> None:
    project, tis = conn.execute(text("SELECT project_id, tis_id FROM risk_management "
                                     "WHERE id = :id"), {"id": plan_id}).one()
    if tenant.role == "tis" and tis != tenant.organisation_id:
        raise _refuse("风险管理机构")
    if tenant.role == "insurer" and not _lead_of_project(conn, project, tenant.organisation_id):
        raise _refuse("首席承保公司")


def _event_may(conn, tenant: Tenant, event_id: int) -> None:
    project = _one(conn, "SELECT project_id FROM risk_event WHERE id = :id", id=event_id)
    if tenant.role == "tis" and not _one(conn, """SELECT 1 FROM policy WHERE project_id = :p
            AND tis_id = :o""", p=project, o=tenant.organisation_id):
        raise _refuse("风险管理机构")
    if tenant.role == "contractor" and not _one(
            conn, "SELECT 1 FROM project WHERE id = :p AND contractor_id = :o",
            p=project, o=tenant.organisation_id):
        raise _refuse("施工单位")
    if tenant.role == "insurer" and not _lead_of_project(conn, project, tenant.organisation_id):
        raise _refuse("首席承保公司")


MAY_ACT = {"claim": _claim_may, "policy": _policy_may, "risk_management": _plan_may,
           "risk_event": _event_may}


def required_documents(conn, lifecycle: str, step: Transition, entity_id: int | None) -> list:
    """The documents a step needs here: a change or cancellation of a policy needs the
    purchasers' written consent only once units are sold (Suizhou 四（六）)."""
    if lifecycle == "policy" and step.name in ("change", "cancel"):
        sold = _one(conn, """SELECT p.units_sold FROM policy po JOIN project p
                             ON p.id = po.project_id WHERE po.id = :id""", id=entity_id)
        return ["purchaser_consent"] if sold else []
    return list(step.documents)


# --------------------------------------------------------------------------------------------
# Effects


def _set(table: str, **columns):
    """An effect that sets ``columns`` (names of this module's own) from the step's values."""
    assignments = ", ".join(f"{c} = :{c}" for c in columns)

    def effect(conn, tenant, entity_id, values, raw):
        params = {c: (values[v] if isinstance(v, str) and v in values else
                      v.removeprefix("=") if isinstance(v, str) else v)
                  for c, v in columns.items()}
        conn.execute(text(f"UPDATE {table} SET {assignments} WHERE id = :id"),  # noqa: S608
                     {**params, "id": entity_id})
        return entity_id
    return effect


# a policy's figures a change may set: (field, column, label, factor from field to column)
_CHANGEABLE = (("premium_yuan", "premium_yuan", "保费（元）", 1),
               ("rate_pct", "rate", "费率（%）", 0.01),
               ("sum_insured_yuan", "sum_insured_yuan", "保险金额（元）", 1))


def _change_policy(conn, tenant, entity_id, values, raw):
    """Back to the regulator with the changed figures; each is kept before and after in the
    step (``values["changes"]``: label → [before, after]), so history and audit show it."""
    row = conn.execute(text("SELECT premium_yuan, rate, sum_insured_yuan FROM policy "
                            "WHERE id = :id"), {"id": entity_id}).one()._mapping
    changes, sets = {}, {"status": "submitted"}
    for field, column, label, factor in _CHANGEABLE:
        new = values.pop(field, None)  # the step keeps it in "changes", when it changed
        if new is None:
            continue
        before = float(row[column]) / factor
        if abs(float(new) - before) > 1e-9:
            changes[label] = [round(before, 6), round(float(new), 6)]
            sets[column] = float(new) * factor
    assignments = ", ".join(f"{c} = :{c}" for c in sets)
    conn.execute(text(f"UPDATE policy SET {assignments} WHERE id = :id"),  # noqa: S608
                 {**sets, "id": entity_id})
    values["changes"] = changes
    return entity_id


def _nothing(conn, tenant, entity_id, values, raw):
    return entity_id


def _id(raw: dict, name: str) -> int:
    """A record's id from a form or a JSON body (0 when missing: no such record)."""
    value = str(raw.get(name) or 0).strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 10):
        raise LifecycleError(f"{name} 须为编号。{name}: {value[:40]!r} is not an id")
    return int(value)


def _covered(conn, policy: int, values: dict) -> None:
    """The cover check the public's filing has (geo.claims), for a claim an insurer records."""
    from geo.claims import building_cover, cover_decision  # geo.claims imports this module
    project = _one(conn, "SELECT project_id FROM policy WHERE id = :id", id=policy)
    cover = [r for r in building_cover(conn, project) if r["policy_id"] == policy]
    decision = cover_decision(cover, values["section"], values["on"])
    if not decision.covered:
        raise LifecycleError(f"不在保险责任范围内：{decision.rule}")


def _file_claim(conn, tenant, entity_id, values, raw):
    policy = _id(raw, "policy_id")
    _policy_may(conn, tenant, policy)
    _covered(conn, policy, values)
    claim_id = conn.execute(text("""
        WITH n AS (SELECT nextval('claim_id_seq') AS id)
        INSERT INTO claim (id, claim_no, policy_id, unit_no, reporter_name, reporter_phone,
                           section, cause, description, is_emergency, status, reported_on)
        SELECT n.id, 'CL' || to_char(CAST(:on AS date), 'YYYYMMDD') || lpad(n.id::text, 6, '0'),
               :po, :unit, :who, :phone, :section, :cause, :cause, :emergency, 'reported', :on
        FROM n RETURNING id"""), {"po": policy, "unit": values["unit_no"],
                           "who": values["reporter_name"], "phone": values["reporter_phone"],
                           "section": values["section"], "cause": values["cause"],
                           "emergency": values["is_emergency"], "on": values["on"]}).scalar_one()
    from geo.claims import mark_reopened
    mark_reopened(conn, claim_id)  # a repair of the same defect within REOPEN_DAYS
    return claim_id


def _emergency(conn, tenant, entity_id, values, raw):
    if not _one(conn, "SELECT is_emergency FROM claim WHERE id = :id", id=entity_id):
        raise LifecycleError("只有影响基本生活的应急案件可以先行维修。only an emergency claim "
                             "may be repaired before the survey")
    return _set("claim", emergency_repair_on="on")(conn, tenant, entity_id, values, raw)


def _dispute(conn, tenant, entity_id, values, raw):
    conn.execute(text("""INSERT INTO claim_dispute (claim_id, appraiser, reason, opened_on)
                         VALUES (:id, :who, :why, :on)"""),
                 {"id": entity_id, "who": values["appraiser"], "why": values["reason"],
                  "on": values["on"]})
    return entity_id


def _appraisal(conn, tenant, entity_id, values, raw):
    done = conn.execute(text("""
        UPDATE claim_dispute SET covered = :covered, cost_yuan = :cost, decided_on = :on,
               cost_borne_by = CASE WHEN :covered THEN 'insurer' ELSE 'owner' END
        WHERE id = (SELECT max(id) FROM claim_dispute WHERE claim_id = :id
                    AND covered IS NULL)"""),
        {"id": entity_id, "covered": values["covered"], "cost": values["cost_yuan"],
         "on": values["on"]}).rowcount
    if not done:
        raise LifecycleError("没有待鉴定的争议。no open dispute to record an appraisal for")
    return entity_id


def _subrogation(conn, tenant, entity_id, values, raw):
    conn.execute(text("""INSERT INTO claim_subrogation (claim_id, against, amount_yuan,
                         recorded_on) VALUES (:id, :against, :amount, :on)"""),
                 {"id": entity_id, "against": values["against"],
                  "amount": values["amount_yuan"], "on": values["on"]})
    return entity_id


CLAIM_EFFECTS = {
    "file": _file_claim, "start_emergency_repair": _emergency,
    "survey": _set("claim", status="=surveyed", surveyed_on="on", is_complex="is_complex"),
    "accept": _set("claim", status="=accepted", decision="=accepted", decided_on="on"),
    "reject": _set("claim", status="=rejected", decision="=rejected", decided_on="on",
                   exclusion="exclusion", decision_reason="reason"),
    "notify_refusal": _set("claim", refusal_notified_on="on"),
    "agree": _set("claim", status="=agreed", agreed_on="on", repairer_id="repairer_id"),
    "settle": _set("claim", status="=settled", settled_on="on",
                   paid_amount_yuan="paid_amount_yuan"),
    "close": _set("claim", status="=closed"),
    "open_dispute": _dispute, "record_appraisal": _appraisal,
    "record_subrogation": _subrogation,
}


def _submit_policy(conn, tenant, entity_id, values, raw):
    from geo.policy_submit import submit_policy
    return submit_policy(conn, tenant, values)


def _report_event(conn, tenant, entity_id, values, raw):
    """A risk event found at the TIS's inspection of a project it manages."""
    plan = conn.execute(text("""SELECT m.project_id, p.permit_no FROM risk_management m
        JOIN project p ON p.id = m.project_id WHERE m.project_id = :p AND m.tis_id = :o
        AND m.status = 'inspecting'"""), {"p": int(raw.get("project_id") or 0),
                                          "o": tenant.organisation_id}).first()
    if plan is None:
        raise LifecycleError("只能为本机构正在施工阶段检查的项目上报风险事件。a TIS reports risk "
                             "events on projects it is inspecting")
    return conn.execute(text("""
        WITH n AS (SELECT nextval('risk_event_id_seq') AS id)
        INSERT INTO risk_event (id, event_no, project_id, inspection_id, category, severity,
                                status, description, location_in_building, found_on)
        SELECT n.id, 'RE-' || :permit || '-' || lpad(n.id::text, 6, '0'), :p,
               (SELECT max(i.id) FROM inspection i WHERE i.project_id = :p AND i.tis_id = :o),
               :category, :severity, 'open', :description, :location, :on FROM n
        RETURNING id"""), {"permit": plan.permit_no, "p": plan.project_id,
                           "o": tenant.organisation_id, "category": values["category"],
                           "severity": values["severity"], "description": values["description"],
                           "location": values["location_in_building"],
                           "on": values["on"]}).scalar_one()


POLICY_EFFECTS = {
    "submit": _submit_policy,
    "confirm": _set("policy", status="=confirmed"),
    "return": _set("policy", status="=returned"),
    "resubmit": _set("policy", status="=submitted"),
    "change": _change_policy,
    "cancel": _set("policy", status="=cancelled"),
    "terminate": _set("policy", status="=terminated"),
}

RISK_EVENT_EFFECTS = {
    "report": _report_event,
    "request_rectification": _set("risk_event", status="=rectifying", due_on="due_on"),
    "submit_evidence": _set("risk_event", evidence_submitted_on="on", evidence_note="note"),
    "close": _set("risk_event", status="=closed", closed_on="on"),
    "urge": _nothing,
}


def _report(conn, tenant, plan_id: int, kind: str, values: dict) -> None:
    conn.execute(text("""INSERT INTO report (project_id, tis_id, kind, submitted_on, summary)
                         SELECT project_id, tis_id, :kind, :on, :summary FROM risk_management
                         WHERE id = :id"""),
                 {"id": plan_id, "kind": kind, "on": values["on"],
                  "summary": values.get("summary")})


def _approve_report(conn, plan_id: int, kind: str, values: dict) -> None:
    conn.execute(text("""UPDATE report SET approved_on = :on WHERE id = (
                           SELECT max(r.id) FROM report r JOIN risk_management m
                           ON m.project_id = r.project_id WHERE m.id = :id AND r.kind = :kind)"""),
                 {"id": plan_id, "kind": kind, "on": values["on"]})


def _plan(conn, tenant, entity_id, values, raw):
    project = _id(raw, "project_id")
    if not _one(conn, "SELECT 1 FROM policy WHERE project_id = :p AND tis_id = :o "
                      "AND status IN ('submitted', 'confirmed')", p=project,
                o=tenant.organisation_id):
        raise _refuse("风险管理机构")
    plan = conn.execute(text("""INSERT INTO risk_management (project_id, tis_id, status)
                                VALUES (:p, :o, 'plan_submitted') RETURNING id"""),
                        {"p": project, "o": tenant.organisation_id}).scalar_one()
    _report(conn, tenant, plan, "initial", values)
    return plan


def _then(*parts):
    """An effect made of several."""
    def effect(conn, tenant, entity_id, values, raw):
        for part in parts:
            part(conn, tenant, entity_id, values, raw)
        return entity_id
    return effect


def _reporting(kind: str):
    """An effect that files a report of ``kind`` (and returns the plan, as effects do)."""
    def effect(conn, tenant, plan, values, raw):
        _report(conn, tenant, plan, kind, values)
        return plan
    return effect


def _approving(kind: str):
    def effect(conn, tenant, plan, values, raw):
        _approve_report(conn, plan, kind, values)
        return plan
    return effect


def _inspect(conn, tenant, plan, values, raw):
    conn.execute(text("""INSERT INTO inspection (project_id, tis_id, stage, inspected_on,
                         findings) SELECT project_id, tis_id, :stage, :on, :findings
                         FROM risk_management WHERE id = :id"""),
                 {"id": plan, "stage": values["stage"], "on": values["on"],
                  "findings": values["findings"]})
    return plan


def _final(conn, tenant, plan, values, raw):
    if not _one(conn, """SELECT p.completion_date FROM project p JOIN risk_management m
                         ON m.project_id = p.id WHERE m.id = :id""", id=plan):
        raise LifecycleError("项目尚未竣工验收，不能提交最终检查报告。the project has no "
                             "completion acceptance yet")
    return _then(_reporting("final"), _set("risk_management", status="=final_submitted"))(
        conn, tenant, plan, values, raw)


def _end_cover(conn, tenant, plan, values, raw):
    conn.execute(text("""UPDATE policy SET status = 'terminated' WHERE status IN
                         ('submitted', 'confirmed') AND project_id = (SELECT project_id
                         FROM risk_management WHERE id = :id)"""), {"id": plan})
    return plan


RISK_MANAGEMENT_EFFECTS = {
    "submit_plan": _plan,
    "resubmit_plan": _then(_reporting("initial"), _set("risk_management",
                                                       status="=plan_submitted")),
    "approve_plan": _then(_approving("initial"), _set("risk_management", status="=inspecting")),
    "return_plan": _set("risk_management", status="=plan_returned"),
    "inspect": _inspect,
    "submit_process_report": _reporting("process"),
    "submit_final": _final,
    "approve_final": _then(_approving("final"), _set(
        "risk_management", status="=final_approved", tis_rating="rating",
        tis_comment="comment")),
    "end_cover": _then(_end_cover, _set("risk_management", status="=cover_ended")),
    "open_return_visit": _set("risk_management", status="=return_visit_due"),
    "submit_return_visit": _then(_reporting("return_visit"), _set(
        "risk_management", status="=return_visit_submitted")),
    "approve_return_visit": _then(_approving("return_visit"), _set(
        "risk_management", status="=closed")),
}

EFFECTS = {"claim": CLAIM_EFFECTS, "policy": POLICY_EFFECTS, "risk_event": RISK_EVENT_EFFECTS,
           "risk_management": RISK_MANAGEMENT_EFFECTS}
