"""The lifecycles' pages and JSON API: a record's state, history, documents and the forms of
the steps the signed-in role may take now (made from `geo.lifecycle`'s fields); each role's
task list; and `riskmap tasks`.

Every step goes through `geo.workflow.advance` on a connection acting for the signed-in
tenant, so row security hides other organisations' records (404) and the lifecycle refuses
an illegal step with a message that names the current state (400).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from decimal import Decimal
from urllib.parse import quote

import click
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.cli import with_appcontext
from flask_login import current_user, login_required
from sqlalchemy import text

from geo import tasks as task_list
from geo.lifecycle import DEADLINES, LIFECYCLES, Lifecycle, LifecycleError
from geo.tenancy import Tenant, set_tenant
from geo.workflow import DOCUMENT_KINDS, Document, advance, current_state, today
from geo.workflow_effects import MAY_ACT, required_documents
from webmap.accounts import tenant_of
from webmap.auth import csrf
from webmap.db import get_engine, get_web_engine
from webmap.errors import json_error
from webmap.scope import connection, current_tenant
from webmap.work.uploads import token_user

bp = Blueprint("workflow", __name__)
PARENT = {"claim": ("policy_id", "保单编号"), "risk_management": ("project_id", "项目编号")}
# the platform opens return visits on every task list, whoever looks: it reads city-wide
PLATFORM = Tenant("regulator", username="system")
SAFE_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp")


def _machine(name: str) -> Lifecycle:
    machine = LIFECYCLES.get(name)
    if machine is None:
        abort(404, f"没有这种流程。{name[:40]}: one of {', '.join(LIFECYCLES)}")
    return machine


def _state_or_404(conn, machine: Lifecycle, record: int) -> str:
    try:
        return current_state(conn, machine, record)
    except LifecycleError as exc:
        abort(404, str(exc))


def plain(value):
    """A value as the JSON API sends it (dates ISO 8601, numbers as numbers)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# A record as the pages and the API show it


def _forms(conn, tenant, machine: Lifecycle, state: str | None, record: int | None) -> list:
    """The steps ``tenant`` may take now, as forms (none where its organisation may not)."""
    if record is not None:
        try:
            MAY_ACT[machine.name](conn, tenant, record)
        except LifecycleError:
            return []
    return [{"name": t.name, "label": t.label, "fields": t.fields,
             **_step_urls(machine.name, record, t.name),
             "documents": [(k, DOCUMENT_KINDS.get(k, k)) for k in
                           required_documents(conn, machine.name, t, record)]}
            for t in machine.allowed(state, tenant.role)]


def _step_urls(lifecycle: str, record: int | None, step: str) -> dict:
    """Where the page's form and the API take a step (under the service's URL prefix too)."""
    if record is None:
        return {"action": url_for("workflow.create_step", lifecycle=lifecycle, step=step),
                "api_action": url_for("workflow.api_create", lifecycle=lifecycle, step=step)}
    return {"action": url_for("workflow.take_step", lifecycle=lifecycle, record=record,
                              step=step),
            "api_action": url_for("workflow.api_step", lifecycle=lifecycle, record=record,
                                  step=step)}


def record_view(conn, tenant, machine: Lifecycle, record: int) -> dict:
    state = _state_or_404(conn, machine, record)
    facts = task_list.record_facts(conn, machine.name, record)
    return {"machine": machine, "id": record, "state": state,
            "state_zh": machine.states.get(state, state),
            "title": task_list.shown(facts[0][1]) if facts else str(record), "facts": facts,
            "history": task_list.record_history(conn, machine, record),
            "documents": task_list.documents(conn, machine.name, record),
            "forms": _forms(conn, tenant, machine, state, record), "today": today(conn),
            "document_kinds": DOCUMENT_KINDS}


# --------------------------------------------------------------------------------------------
# Taking a step


def uploaded_documents() -> list[Document]:
    """The request's files ``doc_<kind>`` (multipart) or ``documents`` (JSON, base64)."""
    if request.is_json:
        items = (request.get_json(silent=True) or {}).get("documents") or []
        try:
            found = [Document(str(d["kind"]), str(d.get("filename") or d["kind"]),
                              str(d.get("mimetype") or "application/octet-stream"),
                              base64.b64decode(d["content_base64"], validate=True))
                     for d in items]
        except (KeyError, TypeError, binascii.Error) as exc:
            raise LifecycleError("documents：每项须有 kind 与 content_base64（Base64）。"
                                 "each document needs kind and content_base64") from exc
    else:
        found = [Document(key.removeprefix("doc_"), storage.filename,
                          storage.mimetype or "application/octet-stream", storage.read())
                 for key, storage in request.files.items(multi=True)
                 if key.startswith("doc_") and storage.filename]
    unknown = [d.kind for d in found if d.kind not in DOCUMENT_KINDS]
    if unknown:
        raise LifecycleError(f"没有这种文件类别：{unknown[0][:40]}。"
                             f"kinds: {', '.join(DOCUMENT_KINDS)}")
    return found


def take(tenant, machine: Lifecycle, record: int | None, step: str, raw: dict,
         documents: list[Document]) -> dict:
    """Take the step as ``tenant``: 404 when the record is not visible, else advance's
    answer or its LifecycleError (nothing written then)."""
    with connection(write=True, tenant=tenant) as conn:
        if record is not None:
            _state_or_404(conn, machine, record)
        return advance(conn, tenant, machine.name, record, step, raw, documents)


def _done(machine: Lifecycle, result: dict) -> str:
    label = machine.get(result["step"]).label
    before = machine.states.get(result["from"], "新建") if result["from"] else "新建"
    return f"已办理“{label}”：{before} → {machine.states.get(result['to'], result['to'])}。"


def _page_step(lifecycle: str, record: int | None, step: str):
    machine = _machine(lifecycle)
    try:
        result = take(current_tenant(), machine, record, step, request.form.to_dict(),
                      uploaded_documents())
    except LifecycleError as exc:
        flash(str(exc))
        if record is None:
            return redirect(url_for(".new_page", lifecycle=lifecycle, **_parent_args()), 303)
        return redirect(url_for(".work_page", lifecycle=lifecycle, record=record), 303)
    flash(_done(machine, result))
    return redirect(url_for(".work_page", lifecycle=lifecycle, record=result["id"]), 303)


def _parent_args() -> dict:
    return {k: v for k in ("project_id", "policy_id")
            if (v := request.values.get(k, "")).isascii() and v.isdigit() and len(v) < 10}


# --------------------------------------------------------------------------------------------
# Pages


@bp.get("/work/<lifecycle>/<int:record>")
@login_required
def work_page(lifecycle: str, record: int):
    machine = _machine(lifecycle)
    with connection() as conn:
        view = record_view(conn, current_tenant(), machine, record)
    return render_template("work.html", **view, shown=task_list.shown, parent=None)


@bp.get("/work/<lifecycle>/new")
@login_required
def new_page(lifecycle: str):
    """The forms of the steps that create a record (a claim on a policy, a risk management
    of a project), with the policy's or project's number."""
    machine = _machine(lifecycle)
    with connection() as conn:
        forms = _forms(conn, current_tenant(), machine, None, None)
        day = today(conn)
    name, label = PARENT.get(lifecycle, ("project_id", "项目编号"))
    parent = {"name": name, "label": label, "value": _parent_args().get(name, "")}
    return render_template("work.html", machine=machine, id=None, state=None, state_zh="新建",
                           title=f"新建{machine.label}", facts=[], history=[], documents=[],
                           forms=forms, today=day, shown=task_list.shown, parent=parent)


@bp.post("/work/<lifecycle>/<int:record>/<step>")
@login_required
def take_step(lifecycle: str, record: int, step: str):
    return _page_step(lifecycle, record, step)


@bp.post("/work/<lifecycle>/new/<step>")
@login_required
def create_step(lifecycle: str, step: str):
    return _page_step(lifecycle, None, step)


@bp.get("/work/documents/<int:document_id>")
@login_required
def download(document_id: int):
    with connection() as conn:
        found = task_list.document_file(conn, document_id)
    if found is None:
        abort(404, f"没有编号为 {document_id} 的文件（或无权查看）。")
    mimetype = found["mimetype"] if found["mimetype"] in SAFE_TYPES else "application/octet-stream"
    response = Response(bytes(found["content"]), mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        "attachment; filename=\"document\"; filename*=UTF-8''" + quote(found["filename"]))
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def my_tasks() -> tuple[dt.date, list[dict]]:
    """Open the return visits now due (as the platform), then the signed-in tenant's tasks."""
    lead = int(current_app.config["RETURN_VISIT_LEAD_DAYS"])
    with connection(write=True, tenant=PLATFORM) as conn:
        task_list.open_due_return_visits(conn, today(conn), lead)
    with connection() as conn:
        day = today(conn)
        return day, task_list.tasks(conn, current_tenant(), day)


@bp.get("/tasks")
@login_required
def tasks_page():
    day, listed = my_tasks()
    groups = [(state, zh, [t for t in listed if t["state"] == state])
              for state, zh in task_list.STATE_ZH.items()]
    return render_template("tasks.html", groups=groups, today=day, shown=task_list.shown)


# --------------------------------------------------------------------------------------------
# JSON API


def lifecycle_json(machine: Lifecycle) -> dict:
    return {"name": machine.name, "label": machine.label, "states": machine.states, "steps": [
        {"name": t.name, "label": t.label, "sources": list(t.sources), "target": t.target or None,
         "roles": list(t.roles),
         "fields": [{"name": f.name, "label": f.label, "kind": f.kind, "required": f.required,
                     "choices": [{"value": k, "label": v} for k, v in f.choices]}
                    for f in t.fields],
         "documents": [{"kind": k, "label": DOCUMENT_KINDS.get(k, k)} for k in t.documents],
         "deadlines": {"starts": list(t.starts), "stops": list(t.stops)}}
        for t in machine.transitions]}


@bp.get("/api/lifecycles")
@login_required
def api_lifecycles():
    return jsonify(lifecycles=[lifecycle_json(m) for m in LIFECYCLES.values()],
                   deadlines={k: {"days": d, "label": label, "rule": rule}
                              for k, (d, label, rule) in DEADLINES.items()},
                   documents=DOCUMENT_KINDS)


@bp.get("/api/work/<lifecycle>/<int:record>")
@login_required
def api_record(lifecycle: str, record: int):
    machine = _machine(lifecycle)
    with connection() as conn:
        view = record_view(conn, current_tenant(), machine, record)
    allowed = [{"step": f["name"], "label": f["label"], "action": f["api_action"],
                "fields": [field.name for field in f["fields"]],
                "documents": [k for k, _ in f["documents"]]} for f in view["forms"]]
    history_rows = [{k: s[k] for k in ("step", "label", "from_state", "to_state", "on_date",
                                       "at", "actor", "role", "detail")} for s in view["history"]]
    return jsonify(plain({"lifecycle": lifecycle, "id": record, "state": view["state"],
                          "state_zh": view["state_zh"], "facts": dict(view["facts"]),
                          "history": history_rows, "documents": view["documents"],
                          "allowed": allowed}))


def _api_tenant() -> Tenant:
    """An API token's tenant; or the session's, whose POST must carry X-CSRFToken."""
    user = token_user()
    if user is not None:
        return user.tenant
    if not current_user.is_authenticated:
        abort(json_error("请先登录。Sign in first (or send an API token).", 401))
    csrf.protect()
    return current_user.tenant


def _api_step(lifecycle: str, record: int | None, step: str):
    tenant = _api_tenant()
    machine = _machine(lifecycle)
    raw = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    if not isinstance(raw, dict):
        return json_error("请求体须为 JSON 对象。the body must be a JSON object", 400)
    try:
        result = take(tenant, machine, record, step, raw, uploaded_documents())
    except LifecycleError as exc:
        return json_error(str(exc), 400)
    return jsonify(plain({**result, "message": _done(machine, result)}))


@bp.post("/api/work/<lifecycle>/<int:record>/<step>")
def api_step(lifecycle: str, record: int, step: str):
    return _api_step(lifecycle, record, step)


@bp.post("/api/work/<lifecycle>/new/<step>")
def api_create(lifecycle: str, step: str):
    return _api_step(lifecycle, None, step)


csrf.exempt(api_step)
csrf.exempt(api_create)


@bp.get("/api/tasks")
@login_required
def api_tasks():
    day, listed = my_tasks()
    return jsonify(plain({"today": day, "tasks": listed}))


# --------------------------------------------------------------------------------------------
# riskmap tasks


def _cli_tenant(username: str | None) -> Tenant:
    if not username:
        return Tenant("regulator", username="cli")
    with get_engine().connect() as conn:
        tenant = tenant_of(conn, username)
    if tenant is None:
        raise click.ClickException(f"no active user {username!r} (see `riskmap users list`)")
    return tenant


def _line(t: dict) -> str:
    left = "" if t["days_left"] is None else f"（{t['days_left']:+d} 天）"
    return (f"{task_list.STATE_ZH[t['state']]}\t{t['due'] or '—'}{left}\t{t['lifecycle_zh']} "
            f"{t['title']}\t{t['what']}\t{t['whom']}\t/work/{t['lifecycle']}/{t['id']}")


@click.command("tasks")
@click.option("--as-user", "username", metavar="USERNAME",
              help="List this account's tasks (default: the regulator's).")
@with_appcontext
def tasks_command(username: str | None) -> None:
    """Open the return visits now due (RETURN_VISIT_LEAD_DAYS before the 2-year mark), then
    print the tasks: late, due soon, open."""
    tenant = _cli_tenant(username)
    with get_engine().begin() as conn:
        opened = task_list.open_due_return_visits(
            conn, today(conn), int(current_app.config["RETURN_VISIT_LEAD_DAYS"]))
    with get_web_engine().begin() as conn:
        conn.execute(text("SET TRANSACTION READ ONLY"))
        set_tenant(conn, tenant)
        day = today(conn)
        listed = task_list.tasks(conn, tenant, day)
    click.echo(f"回访任务：新开 {len(opened)} 项 / return visits opened: {len(opened)}")
    for t in listed:
        click.echo(_line(t))
    counts = {s: sum(t["state"] == s for t in listed) for s in task_list.STATE_ZH}
    click.echo(f"{day}：逾期 {counts['late']}，即将到期 {counts['due_soon']}，"
               f"待办 {counts['open']} / late, due soon, open")
