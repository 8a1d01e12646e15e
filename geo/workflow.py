"""The one writer of lifecycle steps: check a step against `geo.lifecycle`, check that the
acting organisation is the one the step belongs to, apply it, and record it (timestamped, with
its documents and their SHA-256, and in the audit log).

Every step runs on the caller's connection, so row security applies as well: an insurer cannot
even find another insurer's claim to step on it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from geo import clock, grades, store
from geo.lifecycle import LIFECYCLES, Field, Lifecycle, LifecycleError, Transition
from geo.tenancy import Tenant
from geo.workflow_effects import EFFECTS, MAY_ACT, required_documents

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    kind: str
    filename: str
    mimetype: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def today(conn: Connection) -> dt.date:
    """The day a live action happens: today in Beijing, whatever day a data set's figures
    are pinned to (a claim filed today is dated today, and its deadlines run from today)."""
    return clock.real_today()


def current_state(conn: Connection, lifecycle: Lifecycle, entity_id: int) -> str:
    table = {"policy": "policy", "claim": "claim", "risk_event": "risk_event",
             "risk_management": "risk_management"}[lifecycle.name]
    state = conn.execute(text(f"SELECT status FROM {table} WHERE id = :id"),  # noqa: S608
                         {"id": entity_id}).scalar()
    if state is None:
        raise LifecycleError(f"没有编号为 {entity_id} 的{lifecycle.label}（或无权查看）。"
                             f"no {lifecycle.name} {entity_id} that you may see")
    return state


def parse_value(field: Field, raw) -> object:
    """A form's or a JSON body's value as the field's type; None when empty.

    >>> parse_value(Field("on", "日期", "date"), "2024-05-01")
    datetime.date(2024, 5, 1)
    >>> parse_value(Field("x", "应急", "bool"), "on"), parse_value(Field("r", "评", "rating"), "4")
    (True, 4)
    """
    if raw is None or raw == "":
        return False if field.kind == "bool" else None
    try:
        if field.kind == "date":
            if isinstance(raw, dt.datetime):
                return raw.date()
            return raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw))
        if field.kind == "bool":
            return raw is True or str(raw).lower() in ("1", "true", "on", "yes", "是")
        if field.kind in ("int", "rating"):
            value = int(raw)
            if field.kind == "rating" and not 1 <= value <= 5:
                raise ValueError
            return value
        if field.kind == "money":
            value = float(raw)
            if not 0 <= value < 1e14:
                raise ValueError
            return value
    except (TypeError, ValueError) as exc:
        shown = repr(str(raw)[:40])
        raise LifecycleError(f"“{field.label}”的值 {shown} 不对。"
                             f"{field.name}: {shown} is not a valid {field.kind}") from exc
    value = str(raw).strip()[:2000]
    if field.choices and value not in dict(field.choices):
        raise LifecycleError(f"“{field.label}”须为：{'、'.join(v for _, v in field.choices)}。"
                             f"{field.name}: one of {', '.join(k for k, _ in field.choices)}")
    return value


def parse_values(step: Transition, raw: dict, day: dt.date) -> dict:
    values = {f.name: parse_value(f, raw.get(f.name)) for f in step.fields}
    missing = [f for f in step.fields if f.required and values[f.name] in (None, "")
               and not (f.name == "on")]
    if missing:
        raise LifecycleError(f"“{step.label}”须填写：{'、'.join(f.label for f in missing)}。"
                             f"{step.name} needs {', '.join(f.name for f in missing)}")
    if values.get("on") is None:
        values["on"] = day
    if values["on"] > day:
        raise LifecycleError(f"日期 {values['on']} 晚于今天 {day}。the date is in the future")
    return values


def advance(conn: Connection, tenant: Tenant, lifecycle: str, entity_id: int | None, step: str,
            raw: dict | None = None, documents: Sequence[Document] = (),
            day: dt.date | None = None) -> dict:
    """Take ``step`` of ``lifecycle`` on record ``entity_id`` (None for a step that creates its
    record, with what it needs in ``raw``) as ``tenant``; the step's record, or a
    LifecycleError that says why not. ``day`` is the day the platform acts on (its own steps,
    taken for a given day); a user's step happens today in Beijing."""
    machine = LIFECYCLES.get(lifecycle)
    if machine is None:
        raise LifecycleError(f"没有这种流程。unknown lifecycle {lifecycle!r}: one of "
                             f"{', '.join(LIFECYCLES)}")
    state = None if entity_id is None else current_state(conn, machine, entity_id)
    transition = machine.check(state, step, tenant.role)
    raw = raw or {}
    if entity_id is not None:
        MAY_ACT[lifecycle](conn, tenant, entity_id)
    day = day or today(conn)
    values = parse_values(transition, raw, day)
    if entity_id is not None:
        _check_order(conn, machine, entity_id, values["on"])
    _check_documents(conn, machine, transition, entity_id, documents)
    try:
        with conn.begin_nested():
            entity_id = EFFECTS[lifecycle][step](conn, tenant, entity_id, values, raw)
            target = transition.target or state
            step_id = _record(conn, tenant, machine, entity_id, transition, state, target, values)
            for document in documents:
                _store_document(conn, tenant, lifecycle, entity_id, step_id, document)
    except DBAPIError as exc:
        reason = str(getattr(exc.orig, "diag", None) and exc.orig.diag.message_primary or exc.orig)
        raise LifecycleError(f"“{transition.label}”未能完成：{reason}") from exc
    if lifecycle in GRADED:  # its events or inspections changed: the project's grade may too
        grades.recompute(conn, [_project_of(conn, lifecycle, entity_id)])
    return {"lifecycle": lifecycle, "id": entity_id, "step": step, "from": state, "to": target,
            "on": values["on"].isoformat(), "step_id": step_id}


GRADED = ("risk_event", "risk_management")


def _project_of(conn, lifecycle: str, entity_id: int) -> int:
    table = {"risk_event": "risk_event", "risk_management": "risk_management"}[lifecycle]
    return conn.execute(text(f"SELECT project_id FROM {table} WHERE id = :id"),  # noqa: S608
                        {"id": entity_id}).scalar_one()


def _check_order(conn, machine, entity_id, on: dt.date) -> None:
    """A step may not be dated before the record's previous step (a decision before its
    survey would make its deadlines meaningless)."""
    last = conn.execute(text("SELECT max(on_date) FROM lifecycle_step "
                             "WHERE lifecycle = :lc AND entity_id = :id"),
                        {"lc": machine.name, "id": entity_id}).scalar()
    if last is not None and on < last:
        raise LifecycleError(f"日期 {on} 早于上一步的日期 {last}。"
                             f"the date is before the previous step's ({last})")


def _check_documents(conn, machine, transition, entity_id, documents) -> None:
    needed = required_documents(conn, machine.name, transition, entity_id)
    given = {d.kind for d in documents}
    missing = [k for k in needed if k not in given]
    if missing:
        names = "、".join(DOCUMENT_KINDS.get(k, k) for k in missing)
        raise LifecycleError(f"“{transition.label}”须上传：{names}。"
                             f"{transition.name} needs documents: {', '.join(missing)}")
    for d in documents:
        if not d.content or len(d.content) > MAX_DOCUMENT_BYTES:
            raise LifecycleError(f"文件 {d.filename!r} 为空或超过 20 MB。"
                                 f"{d.filename!r}: empty or larger than 20 MB")


def _record(conn, tenant, machine, entity_id, transition, state, target, values) -> int:
    detail = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in values.items()}
    step_id = conn.execute(text("""
        INSERT INTO lifecycle_step (lifecycle, entity_id, step, from_state, to_state, on_date,
                                    user_id, actor, role, organisation_id, detail)
        VALUES (:lc, :id, :step, :from, :to, :on, :user, :actor, :role, :org,
                CAST(:detail AS jsonb)) RETURNING id"""),
        {"lc": machine.name, "id": entity_id, "step": transition.name, "from": state,
         "to": target, "on": values["on"], "user": tenant.user_id, "actor": tenant.username,
         "role": tenant.role, "org": tenant.organisation_id,
         "detail": json.dumps(detail, ensure_ascii=False)}).scalar_one()
    store.record_audit(conn, tenant.username, f"{machine.name}.{transition.name}",
                       f"{machine.name}:{entity_id}",
                       json.dumps({"from": state, "to": target, **detail}, ensure_ascii=False),
                       user_id=tenant.user_id)
    return step_id


def _store_document(conn, tenant, lifecycle, entity_id, step_id, document: Document) -> None:
    conn.execute(text("""
        INSERT INTO document (lifecycle, entity_id, kind, filename, mimetype, sha256,
                              size_bytes, content, step_id, uploaded_by)
        VALUES (:lc, :id, :kind, :name, :mime, :sha, :size, :content, :step, :user)"""),
        {"lc": lifecycle, "id": entity_id, "kind": document.kind,
         "name": document.filename[:200] or "document", "mime": document.mimetype[:100],
         "sha": document.sha256, "size": len(document.content), "content": document.content,
         "step": step_id, "user": tenant.user_id})


def history(conn: Connection, lifecycle: str, entity_id: int) -> list[dict]:
    rows = conn.execute(text(
        "SELECT id, step, from_state, to_state, on_date, at, actor, role, detail "
        "FROM lifecycle_step WHERE lifecycle = :lc AND entity_id = :id ORDER BY id"),
        {"lc": lifecycle, "id": entity_id})
    return [dict(r._mapping) for r in rows]


DOCUMENT_KINDS = {
    "purchaser_consent": "全部买受人书面同意书", "final_report": "质量风险最终检查报告",
    "risk_briefing": "风险交底材料", "inspection_plan": "风险检查工作计划",
    "process_report": "风险过程评估报告", "return_visit_report": "回访报告",
    "rectification_evidence": "整改材料（照片等）", "photo": "照片", "policy_document": "保单原件",
}
