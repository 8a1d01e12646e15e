"""Complaints: anyone files one (no account; its number and secret shown once) and follows it;
the city's staff work the queue received → handling → answered → closed; a party reads, and
only reads, the complaints about itself.

The public acts through the SECURITY DEFINER functions of migration 0007 (`geo.complaints`);
filing, and following with a number and secret that do not match, are rate-limited per address
(setting COMPLAINT_RATE_LIMIT when set, else CLAIM_RATE_LIMIT).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import text

from geo import codes
from geo import complaints as model
from geo.claims import find_buildings
from geo.lifecycle import LifecycleError
from geo.tenancy import CITY_ROLES, Tenant
from webmap.auth import follow_key, limiter, owner_lookup, roles_only
from webmap.public.claims import chinese
from webmap.scope import connection, current_tenant

bp = Blueprint("complaints", __name__)
FORM_FIELDS = ("party_kind", "party_name", "project_ref", "category", "body", "contact")
PARTY_ROLES = ("insurer", "tis", "developer")


def _limit() -> str:
    return current_app.config["COMPLAINT_RATE_LIMIT"]


def _failed(response) -> bool:
    return response.status_code == 404


def _no_store(body: str, status: int = 200):
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _form_page(values: dict, refusal: str | None = None) -> dict:
    words = request.args.get("q", "")
    with connection(tenant=Tenant.public()) as conn:
        buildings = find_buildings(conn, words)
        names = model.party_names(conn)
    return {"values": values, "refusal": refusal, "q": words, "searched": bool(words.strip()),
            "buildings": buildings, "names": names, "kinds": model.PARTY_KINDS,
            "categories": model.CATEGORIES, "filed": None}


@bp.get("/complaints/new")
@owner_lookup
def new_complaint():
    return render_template("complaint_new.html", **_form_page({}))


@bp.post("/complaints/new")
@limiter.limit(_limit)
def file_complaint():
    values = {name: request.form.get(name, "") for name in FORM_FIELDS}
    try:
        with connection(write=True, tenant=Tenant.public()) as conn:
            number, secret = model.file_complaint(conn, values)
    except LifecycleError as refused:
        page = _form_page(values, chinese(str(refused)))
        return render_template("complaint_new.html", **page), 422
    filed = {"number": number, "secret": secret, "party_name": values["party_name"].strip(),
             "kind": model.PARTY_KINDS[values["party_kind"]], "category": values["category"]}
    return _no_store(render_template("complaint_new.html", filed=filed))


@bp.route("/complaints/follow", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"], deduct_when=_failed,
               key_func=follow_key("complaint_no"))
def follow():
    if request.method == "GET":
        return render_template("complaint_follow.html", complaint=None, missing=False,
                               number="")
    number = request.form.get("complaint_no", "")
    with connection(tenant=Tenant.public()) as conn:
        found = model.follow(conn, number, request.form.get("secret", ""))
    if found is None:
        return _no_store(render_template("complaint_follow.html", complaint=None, missing=True,
                                         number=number), 404)
    return _no_store(render_template("complaint_follow.html", complaint=found, missing=False,
                                     number=found["complaint_no"]))


def _queue_filters() -> dict:
    """The queue's filters from the URL; unknown values are refused (400)."""
    status = request.args.get("status") or None
    kind = request.args.get("party_kind") or None
    district = request.args.get("district") or None
    if status is not None and status not in model.STATES:
        abort(400, "status: one of " + ", ".join(model.STATES))
    if kind is not None and kind not in model.PARTY_KINDS:
        abort(400, "party_kind: one of " + ", ".join(model.PARTY_KINDS))
    if district is not None and not codes.is_gb2260(district):
        abort(400, "district: a six-digit GB/T 2260 code")
    return {"status": status, "party_kind": kind, "district": district}


@bp.get("/complaints")
@roles_only(*CITY_ROLES)
def queue_page():
    chosen = _queue_filters()
    with connection() as conn:
        items = model.queue(conn, **chosen)
        counts = model.counts_by_status(conn)
        districts = _districts(conn)
    return render_template("complaints_queue.html", items=items, counts=counts, chosen=chosen,
                           districts=districts, states=model.STATES, kinds=model.PARTY_KINDS,
                           about_us=False)


@bp.get("/complaints/about-us")
@roles_only(*PARTY_ROLES)
def about_us():
    """A party's own complaints, read-only (row security shows only those about it)."""
    with connection() as conn:
        items = model.queue(conn)
        counts = model.counts_by_status(conn)
    return render_template("complaints_queue.html", items=items, counts=counts, chosen={},
                           districts=[], states=model.STATES, kinds=model.PARTY_KINDS,
                           about_us=True)


def _districts(conn) -> list[tuple[str, str]]:
    rows = conn.execute(text("SELECT code, name FROM district WHERE city_code = :city "
                             "ORDER BY code"), {"city": current_app.config["CITY"]})
    return [(r.code, r.name) for r in rows]


def _complaint_page(complaint_id: int, refusal: str | None = None, status: int = 200):
    with connection() as conn:
        found = model.get(conn, complaint_id)
        if found is None:
            abort(404, "没有这件投诉。")
        steps = model.history(conn, complaint_id)
    allowed = model.COMPLAINT.allowed(found["status"], current_tenant().role)
    return render_template("complaint.html", c=found, steps=steps, allowed=allowed,
                           refusal=refusal, states=model.STATES, kinds=model.PARTY_KINDS), status


@bp.get("/complaints/<int:complaint_id>")
@roles_only(*CITY_ROLES)
def complaint_page(complaint_id: int):
    return _complaint_page(complaint_id)


@bp.post("/complaints/<int:complaint_id>/<step>")
@roles_only(*CITY_ROLES)
def complaint_step(complaint_id: int, step: str):
    try:
        with connection(write=True) as conn:
            reached = model.step(conn, current_tenant(), complaint_id, step,
                                 request.form.to_dict())
    except LifecycleError as refused:
        return _complaint_page(complaint_id, str(refused), 409)
    flash(f"已办理：投诉现为“{model.STATES[reached]}”。")
    return redirect(url_for("complaints.complaint_page", complaint_id=complaint_id)), 303
