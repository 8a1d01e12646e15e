"""Claims for owners, no account needed: find the building, read its cover and the insurer's
deadlines, file a claim (its number and secret shown once), and follow it with both.

Every request acts for the public tenant, which reads no table: `geo.claims` asks the
SECURITY DEFINER functions of migration 0006. Filing, and following with a number and secret
that do not match, are rate-limited per address (setting CLAIM_RATE_LIMIT).
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, make_response, render_template, request

from geo import programme
from geo.claims import (
    building_by_ref,
    building_cover,
    claim_deadlines,
    cover_decision,
    file_public_claim,
    find_buildings,
    follow_claim,
    rate_claim,
)
from geo.lifecycle import CLAIM, DEADLINES, LifecycleError
from geo.notice import public_building
from geo.tenancy import Tenant
from geo.workflow import today
from webmap.auth import follow_key, limiter, owner_lookup
from webmap.scope import connection

bp = Blueprint("public_claims", __name__)
FORM_FIELDS = ("unit_no", "section", "cause", "reporter_name", "reporter_phone", "is_emergency")
CLAIM_DEADLINES = ("survey", "decision", "settlement", "refusal_notice")
SECTION_ORDER = {s.code: i for i, s in enumerate(programme.COVERAGE_SECTIONS)}
DECISIONS = {"accepted": "属于保险责任", "rejected": "不予赔偿"}
MISSING_BUILDING = "没有找到这栋已投保的房屋。请从“业主报案”页面重新查找。"


def _claim_limit() -> str:
    return current_app.config["CLAIM_RATE_LIMIT"]


def _failed(response) -> bool:
    # following counts only the pairs that did not match: an owner may look as often as needed
    return response.status_code == 404


def chinese(message: str) -> str:
    """The Chinese part of a message that ends with its English gloss.

    >>> chinese("保险期间已于 2030-01-01 届满。the period ended")
    '保险期间已于 2030-01-01 届满。'
    >>> chinese("理由：他人造成。")
    '理由：他人造成。'
    """
    head, _, tail = message.rpartition("。")
    return head + "。" if head and tail.isascii() else message


def _section_label(code: str) -> str:
    found = programme.SECTIONS_BY_CODE.get(code)
    return found.name_zh if found else code


def _no_store(body: str, status: int = 200):
    # the secret is on these pages: no cache, no back-button copy
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/claims/new")
@owner_lookup
def find_building():
    words = request.args.get("q", "")
    with connection(tenant=Tenant.public()) as conn:
        buildings = find_buildings(conn, words)
    return render_template("claim_new.html", q=words, searched=bool(words.strip()),
                           buildings=buildings)


@bp.get("/claims/new/<ref>")
@owner_lookup
def claim_form(ref: str):
    return render_template("claim_new.html", **_building_page(ref, {}))


@bp.post("/claims/new/<ref>")
@limiter.limit(_claim_limit)
def file_claim(ref: str):
    values = {name: request.form.get(name, "") for name in FORM_FIELDS}
    try:
        with connection(write=True, tenant=Tenant.public()) as conn:
            project_id = building_by_ref(conn, ref)
            if project_id is None:
                abort(404, MISSING_BUILDING)
            number, secret, decision = file_public_claim(conn, project_id, values)
            day = today(conn)
    except LifecycleError as refused:
        page = _building_page(ref, values, chinese(str(refused)))
        return render_template("claim_new.html", **page), 422
    filed = {"number": number, "secret": secret, "insurer": decision.insurer,
             "hotline": decision.hotline, "rule": chinese(decision.rule),
             "section": _section_label(values["section"]), "reported_on": day,
             "deadlines": _deadlines_from(day)}
    return _no_store(render_template("claim_new.html", filed=filed, q=""))


@bp.route("/claims/follow", methods=["GET", "POST"])
@limiter.limit(_claim_limit, methods=["POST"], deduct_when=_failed,
               key_func=follow_key("claim_no"))
def follow():
    if request.method == "GET":
        return render_template("claim_follow.html", claim=None, missing=False, number="")
    number = request.form.get("claim_no", "")
    with connection(tenant=Tenant.public()) as conn:
        claim = follow_claim(conn, number, request.form.get("secret", ""))
        day = today(conn)
    if claim is None:
        return _no_store(render_template("claim_follow.html", claim=None, missing=True,
                                         number=number), 404)
    return _no_store(render_template("claim_follow.html", claim=_as_shown(claim, day),
                                     missing=False, number=claim["claim_no"]))


# what the owner is told after rating, and the answer's status
RATED = {"rated": ("感谢您的评价。", 200),
         "already_rated": ("该案件已经评价过，每个案件只能评价一次。", 409),
         "not_closed": ("案件结案后才能评价。", 409),
         "unknown": ("未找到相符的理赔案件，请核对案件号和查询密码后重试。", 404)}


def _score(value: str) -> int | None:
    value = value.strip()
    return int(value) if value in ("1", "2", "3", "4", "5") else None


@bp.post("/claims/rate")
@limiter.limit(_claim_limit, methods=["POST"], deduct_when=_failed,
               key_func=follow_key("claim_no"))
def rate():
    """An owner rates a closed claim's handling with its number and secret (once)."""
    number, secret = request.form.get("claim_no", ""), request.form.get("secret", "")
    score = _score(request.form.get("score", ""))
    if score is None:
        return _no_store(render_template("claim_follow.html", claim=None, missing=False,
                                         number=number, rating="请选择 1 至 5 分。"), 422)
    with connection(write=True, tenant=Tenant.public()) as conn:
        result = rate_claim(conn, number, secret, score, request.form.get("comment", ""))
        claim = follow_claim(conn, number, secret) if result != "unknown" else None
        day = today(conn)
    words, status = RATED[result]
    shown = _as_shown(claim, day) if claim else None
    return _no_store(render_template("claim_follow.html", claim=shown, missing=False,
                                     number=number, rating=words, rated=result), status)


def _building_page(ref: str, values: dict, refusal: str | None = None) -> dict:
    """What the building's page shows: the building, its cover section by section (and
    whether a claim filed today is inside it, by which rule), the deadlines and the form."""
    with connection(tenant=Tenant.public()) as conn:
        project_id = building_by_ref(conn, ref)
        cover = [] if project_id is None else building_cover(conn, project_id)
        if not cover:
            abort(404, MISSING_BUILDING)
        day = today(conn)
        building = public_building(conn, project_id)
    sections = []
    for row in cover:
        decision = cover_decision(cover, row["section"], day)
        sections.append({**row, "label": _section_label(row["section"]),
                         "covered": decision.covered, "rule": chinese(decision.rule)})
    insurers = {(row["insurer"], row["hotline"] or "") for row in cover}
    # the form offers only what a claim filed today may be for: nothing to fill to be refused
    choices = sorted({(s["section"], s["label"]) for s in sections if s["covered"]},
                     key=lambda choice: SECTION_ORDER.get(choice[0], len(SECTION_ORDER)))
    return {"ref": ref, "q": request.args.get("q", ""), "building": building, "day": day,
            "sections": sections, "insurers": sorted(insurers), "choices": choices,
            "rules": [DEADLINES[k] for k in CLAIM_DEADLINES], "values": values,
            "refusal": refusal, "labels": {f.name: f.label for f in CLAIM.get("file").fields}}


def _deadlines_from(day: dt.date) -> list[dict]:
    return claim_deadlines({"reported_on": day, "surveyed_on": None, "decided_on": None,
                            "is_complex": False, "agreed_on": None, "settled_on": None})


def _deadline_state(deadline: dict, day: dt.date) -> tuple[str, str]:
    """(css class, words) of one deadline on ``day``."""
    if deadline["done"] is not None:
        if deadline["late"]:
            return "late", f"超期完成（{deadline['done']}）"
        return "met", f"按时完成（{deadline['done']}）"
    if day > deadline["due"]:
        return "overdue", "已超期，尚未完成"
    return "pending", "办理中"


def _step_label(name: str) -> str:
    try:
        return CLAIM.get(name).label
    except LifecycleError:
        return name


def _as_shown(claim: dict, day: dt.date) -> dict:
    deadlines = []
    for d in claim["deadlines"]:
        css, words = _deadline_state(d, day)
        deadlines.append({**d, "css": css, "state": words})
    steps = [{**s, "label": _step_label(s["step"]),
              "state": CLAIM.states.get(s["to_state"], s["to_state"] or "")}
             for s in claim["steps"]]
    return {**claim, "deadlines": deadlines, "steps": steps,
            "decision_zh": DECISIONS.get(claim["decision"] or "", "")}
