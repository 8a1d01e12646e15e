"""Complaints (投诉情况): anyone may complain about an insurer, a TIS, a repairer or a developer;
the city's regulator works the queue received → handling → answered → closed.

The public files and follows a complaint through the SECURITY DEFINER functions of migration
0007 (it reads no table); the complainant gets a number and a secret shown once, and the store
keeps only the secret's hash. Staff steps are checked by the `COMPLAINT` lifecycle (its own,
not one of `geo.lifecycle.LIFECYCLES`: no import or workflow page takes it); every step, the
filing included, is kept in ``lifecycle_step`` (which whoever may read the complaint may read,
migration 0008) and written to the audit log.
"""

from __future__ import annotations

import hashlib
import json
import secrets

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo import store
from geo.claims import building_by_ref
from geo.lifecycle import Field, Lifecycle, LifecycleError, Transition
from geo.tenancy import PUBLIC, ROLES, Tenant
from geo.workflow import today

PARTY_KINDS = {"insurer": "保险公司", "tis": "风险管理机构", "repairer": "维修单位",
               "developer": "建设单位"}
CATEGORIES = ("服务态度", "理赔时效", "维修质量", "查勘质量", "风险检查", "信息不实", "收费问题",
              "其他")
STATES = {"received": "已受理", "handling": "处理中", "answered": "已答复", "closed": "已办结"}
WORKERS = ("regulator", "admin")
LIMITS = {"party_name": 200, "body": 4000, "contact": 200, "answer": 4000, "reason": 500}

COMPLAINT = Lifecycle("complaint", "投诉", STATES, (
    Transition("file", "提交投诉", (), "received", (PUBLIC, *ROLES), (
        Field("party_kind", "投诉对象类别", "choice", choices=tuple(PARTY_KINDS.items())),
        Field("party_name", "投诉对象名称"),
        Field("category", "投诉类别", "choice", choices=tuple((c, c) for c in CATEGORIES)),
        Field("body", "投诉内容"), Field("contact", "联系方式"),
        Field("project_ref", "涉及房屋", required=False))),
    Transition("take", "受理办理", ("received",), "handling", WORKERS),
    Transition("answer", "答复", ("handling",), "answered", WORKERS,
               (Field("answer", "答复意见"),)),
    Transition("reopen", "重新办理", ("answered",), "handling", WORKERS,
               (Field("reason", "理由"),)),
    Transition("close", "办结", ("answered",), "closed", WORKERS),
))


def secret_hash(secret: str) -> str:
    """What the store keeps of a complaint's secret (a prefix of its own: not a claim's).

    >>> from geo import claims
    >>> len(secret_hash("abc")), secret_hash("abc") != claims.secret_hash("abc")
    (64, True)
    """
    return hashlib.sha256(("riskmap-complaint:" + secret).encode()).hexdigest()


def _clean(raw: dict, name: str) -> str:
    return str(raw.get(name) or "").strip()


def parse_values(step: Transition, raw: dict) -> dict:
    """The step's fields from a form: required ones present, choices known, lengths bounded.

    >>> parse_values(COMPLAINT.get("answer"), {"answer": " 已核实 "})
    {'answer': '已核实'}
    >>> parse_values(COMPLAINT.get("answer"), {})
    Traceback (most recent call last):
    ...
    geo.lifecycle.LifecycleError: 请填写“答复意见”。answer is required
    """
    values: dict = {}
    for field in step.fields:
        value = _clean(raw, field.name)
        if not value:
            if field.required:
                raise LifecycleError(f"请填写“{field.label}”。{field.name} is required")
            values[field.name] = None
            continue
        if field.choices and value not in dict(field.choices):
            raise LifecycleError(f"“{field.label}”须为：{'、'.join(dict(field.choices).values())}。"
                                 f"{field.name} must be one of {', '.join(dict(field.choices))}")
        if field.kind == "int":
            if not (value.isascii() and value.isdigit() and len(value) <= 9):
                raise LifecycleError(f"“{field.label}”须为编号。{field.name} must be a number")
            value = int(value)
        elif len(value) > LIMITS.get(field.name, 4000):
            raise LifecycleError(f"“{field.label}”不能超过 {LIMITS[field.name]} 字。"
                                 f"{field.name} is too long")
        values[field.name] = value
    return values


def file_complaint(conn: Connection, raw: dict) -> tuple[str, str]:
    """File a complaint for the public: its number and its secret (shown once, kept hashed)."""
    values = parse_values(COMPLAINT.check(None, "file", PUBLIC), raw)
    project_id = None
    if values.get("project_ref"):
        project_id = building_by_ref(conn, values["project_ref"])
        if project_id is None:
            raise LifecycleError("没有找到所选的房屋，请重新查找。the building was not found")
    secret = secrets.token_urlsafe(9)
    day = today(conn)
    complaint_id, number = conn.execute(text("""
        SELECT * FROM riskmap_public_file_complaint(:kind, :party, :pid, :category, :body,
                                                    :contact, :day, :secret)"""),
        {"kind": values["party_kind"], "party": values["party_name"],
         "pid": project_id, "category": values["category"], "body": values["body"],
         "contact": values["contact"], "day": day, "secret": secret_hash(secret)}).one()
    _record_step(conn, Tenant.public(), complaint_id, "file", None, "received", day,
                 {"complaint_no": number, "party_kind": values["party_kind"]})
    return number, secret


def _record_step(conn: Connection, tenant: Tenant, complaint_id: int, name: str,
                 before: str | None, after: str, day, detail: dict) -> None:
    conn.execute(text("""
        INSERT INTO lifecycle_step (lifecycle, entity_id, step, from_state, to_state, on_date,
                                    user_id, actor, role, organisation_id, detail)
        VALUES ('complaint', :id, :step, :before, :after, :day, :user, :actor, :role, :org,
                CAST(:detail AS jsonb))"""),
        {"id": complaint_id, "step": name, "before": before, "after": after, "day": day,
         "user": tenant.user_id, "actor": tenant.username, "role": tenant.role,
         "org": tenant.organisation_id, "detail": json.dumps(detail, ensure_ascii=False)})
    audit = {**detail, "step": name, "from": before, "to": after, "on": day.isoformat(),
             "role": tenant.role}
    store.record_audit(conn, tenant.username, f"complaint.{name}", f"complaint:{complaint_id}",
                       json.dumps(audit, ensure_ascii=False), user_id=tenant.user_id)


def follow(conn: Connection, number: str, secret: str) -> dict | None:
    """A complaint as its complainant sees it; None when number and secret do not match."""
    row = conn.execute(text("SELECT * FROM riskmap_public_complaint(:n, :s)"),
                       {"n": number.strip()[:40],
                        "s": secret_hash(secret.strip()[:64])}).first()
    if row is None:
        return None
    found = dict(row._mapping)
    return {**found, "status_zh": STATES.get(found["status"], found["status"])}


_COLUMNS = """c.id, c.complaint_no, c.party_kind, c.party_id, c.party_name, c.project_id,
    p.name AS project_name, c.district_code, d.name AS district_name, c.category, c.body,
    c.contact, c.status, c.answer, c.received_on, c.answered_on, c.closed_on"""
_FROM = """FROM complaint c LEFT JOIN project p ON p.id = c.project_id
    LEFT JOIN district d ON d.code = c.district_code"""


def get(conn: Connection, complaint_id: int) -> dict | None:
    """One complaint as the connection's tenant may see it (row security decides)."""
    row = conn.execute(text(f"SELECT {_COLUMNS} {_FROM} WHERE c.id = :id"),  # noqa: S608
                       {"id": complaint_id}).first()
    return None if row is None else dict(row._mapping)


def queue(conn: Connection, status: str | None = None, party_kind: str | None = None,
          district: str | None = None, limit: int = 500) -> list[dict]:
    """The complaints the tenant may see, oldest open first, filtered when asked."""
    rows = conn.execute(text(f"""
        SELECT {_COLUMNS} {_FROM}
        WHERE (CAST(:status AS text) IS NULL OR c.status = :status)
          AND (CAST(:kind AS text) IS NULL OR c.party_kind = :kind)
          AND (CAST(:district AS text) IS NULL OR c.district_code = :district)
        ORDER BY array_position(ARRAY['received', 'handling', 'answered', 'closed'], c.status),
                 c.received_on, c.id
        LIMIT :limit"""),  # noqa: S608
        {"status": status, "kind": party_kind, "district": district, "limit": limit})
    return [dict(r._mapping) for r in rows]


def counts_by_status(conn: Connection) -> dict[str, int]:
    """How many complaints the tenant may see are in each state (every state, zero or not)."""
    rows = conn.execute(text("SELECT status, count(*) FROM complaint GROUP BY status"))
    found = dict(rows.all())
    return {state: int(found.get(state, 0)) for state in STATES}


def step(conn: Connection, tenant: Tenant, complaint_id: int, name: str, raw: dict) -> str:
    """Take step ``name`` on a complaint for ``tenant``; returns the state it reaches.
    Refused (LifecycleError naming the state and the allowed steps) when not allowed."""
    current = conn.execute(text("SELECT status, complaint_no FROM complaint WHERE id = :id "
                                "FOR UPDATE"), {"id": complaint_id}).first()
    if current is None:
        raise LifecycleError(f"没有编号为 {complaint_id} 的投诉（或无权查看）。"
                             f"no complaint {complaint_id}")
    transition = COMPLAINT.check(current.status, name, tenant.role)
    values = parse_values(transition, raw)
    day = today(conn)
    conn.execute(text("""
        UPDATE complaint SET status = :to,
          answer = COALESCE(:answer, answer),
          answered_on = CASE WHEN :step = 'answer' THEN :day
                             WHEN :step = 'reopen' THEN NULL ELSE answered_on END,
          closed_on = CASE WHEN :step = 'close' THEN :day ELSE closed_on END
        WHERE id = :id"""),
        {"to": transition.target, "answer": values.get("answer"), "step": name, "day": day,
         "id": complaint_id})
    _record_step(conn, tenant, complaint_id, name, current.status, transition.target, day,
                 {"complaint_no": current.complaint_no, **values})
    return transition.target


def history(conn: Connection, complaint_id: int) -> list[dict]:
    """The complaint's steps, oldest first: the filing and every step of its handling."""
    rows = conn.execute(text("""
        SELECT step, from_state, to_state, on_date, at, actor, role, detail FROM lifecycle_step
        WHERE lifecycle = 'complaint' AND entity_id = :id ORDER BY id"""), {"id": complaint_id})
    labels = {t.name: t.label for t in COMPLAINT.transitions}
    return [{**r._mapping, "label": labels.get(r.step, r.step)} for r in rows]


def party_names(conn: Connection) -> dict[str, list[str]]:
    """The known organisations of each kind one may complain about (for the form's hints)."""
    rows = conn.execute(text("SELECT kind, name FROM organisation WHERE kind = ANY(:kinds) "
                             "ORDER BY kind, name"), {"kinds": list(PARTY_KINDS)})
    names: dict[str, list[str]] = {kind: [] for kind in PARTY_KINDS}
    for kind, name in rows:
        names[kind].append(name)
    return names
