"""An owner's claim: the cover check that decides whether it may be filed (and says by which
rule), filing it without an account, and following it with its number and secret.

The public never reads the store's tables: the SECURITY DEFINER functions of migration 0006
give it a building's cover, file its claim and show that claim to whoever holds its secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo import programme, store
from geo.lifecycle import CLAIM, LifecycleError
from geo.tenancy import Tenant
from geo.workflow import parse_values, today


@dataclass(frozen=True)
class CoverDecision:
    covered: bool
    rule: str
    policy_id: int | None = None
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    insurer: str = ""
    hotline: str = ""


def cover_decision(cover: list[dict], section: str, reported: dt.date) -> CoverDecision:
    """Whether a defect in ``section`` reported on ``reported`` is inside the cover, and the
    rule that decided (Suizhou 四（二）, 四（七）).

    >>> rows = [{"policy_id": 1, "section": "structure", "starts_on": dt.date(2022, 6, 30),
    ...          "ends_on": dt.date(2032, 6, 30), "delivery_date": None, "insurer": "甲",
    ...          "hotline": "95500"}]
    >>> cover_decision(rows, "structure", dt.date(2032, 6, 30)).covered
    True
    >>> cover_decision(rows, "structure", dt.date(2032, 7, 1)).rule[:8]
    '保险期间已于 2'
    """
    label = programme.SECTIONS_BY_CODE[section].name_zh if section in programme.SECTIONS_BY_CODE \
        else section
    rows = [r for r in cover if r["section"] == section]
    if not rows:
        return CoverDecision(False, f"该房屋的保单不含“{label}”这一责任范围。"
                                    f"no policy of the building covers {section}")
    dated = [r for r in rows if r["starts_on"] is not None]
    if not dated:
        return CoverDecision(False, "项目尚未竣工验收：保险责任自竣工验收合格两年之日起算，"
                                    "此前由建设单位负责维修。the cover has not started (no "
                                    "completion acceptance yet)", rows[0]["policy_id"],
                             insurer=rows[0]["insurer"], hotline=rows[0]["hotline"] or "")
    for r in dated:
        if programme.may_file_claim(reported, r["starts_on"], r["ends_on"], r["delivery_date"]):
            late = not r["starts_on"] <= reported <= r["ends_on"]
            rule = (f"期间届满后交房（{r['delivery_date']}），交房之日起 6 个月内发现缺陷可以索赔。"
                    "delivered after the period: a claim within 6 months of delivery" if late
                    else f"在“{label}”的保险期间内（{r['starts_on']} 至 {r['ends_on']}）。"
                         "inside the period")
            return CoverDecision(True, rule, r["policy_id"], r["starts_on"], r["ends_on"],
                                 r["insurer"], r["hotline"] or "")
    r = dated[0]
    if r["delivery_date"] and r["delivery_date"] > r["ends_on"] and reported > r["ends_on"]:
        until = programme.add_months(r["delivery_date"], programme.LATE_DELIVERY_CLAIM_MONTHS)
        rule = (f"保险期间已于 {r['ends_on']} 届满；期间届满后交房（{r['delivery_date']}）的，"
                f"只可在交房之日起 6 个月内（{r['delivery_date']} 至 {until}）索赔。"
                "delivered after the period: claims only within 6 months of delivery")
    elif reported < r["starts_on"]:
        rule = (f"保险责任自竣工验收合格两年之日（{r['starts_on']}）起算，尚未开始，此前由建设单位"
                "负责维修。the cover starts later")
    else:
        rule = f"保险期间已于 {r['ends_on']} 届满。the period ended"
    return CoverDecision(False, rule, r["policy_id"], r["starts_on"], r["ends_on"],
                         r["insurer"], r["hotline"] or "")


def find_buildings(conn: Connection, words: str) -> list[dict]:
    """Insured buildings an owner names in full: the whole building name, community, permit
    number or address (with or without its city and district), punctuation, spaces and
    full-width digits aside. A fragment finds nothing, so the public cannot list the book; each
    building is named by its opaque public reference, never its id (migration 0008)."""
    words = words.strip()[:100]
    if not words:
        return []
    rows = conn.execute(text("SELECT * FROM riskmap_public_buildings(:w)"), {"w": words})
    return [dict(r._mapping) for r in rows]


def building_by_ref(conn: Connection, ref: str) -> int | None:
    """The insured project behind a public reference, or None.

    >>> building_by_ref(None, "1")  # not a reference: no query at all
    """
    if not re.fullmatch(r"[0-9a-f]{32}", ref or ""):
        return None
    return conn.execute(text("SELECT riskmap_public_project(:r)"), {"r": ref}).scalar()


def building_cover(conn: Connection, project_id: int) -> list[dict]:
    rows = conn.execute(text("SELECT * FROM riskmap_public_cover(:p)"), {"p": project_id})
    return [dict(r._mapping) for r in rows]


def secret_hash(secret: str) -> str:
    """What the store keeps of a claim's secret (never the secret itself).

    >>> len(secret_hash("abc")), secret_hash("abc") == secret_hash("abc")
    (64, True)
    """
    return hashlib.sha256(("riskmap-claim:" + secret).encode()).hexdigest()


def file_public_claim(conn: Connection, project_id: int, raw: dict,
                      tenant: Tenant | None = None,
                      reopen_days: int = programme.REOPEN_DAYS) -> tuple[str, str, CoverDecision]:
    """File an owner's claim: its number, its secret (shown once) and the cover decision.
    Refused, with the rule that decided, when the defect is outside the cover. A claim for a
    defect repaired within ``reopen_days`` reopens that repair's claim (`mark_reopened`)."""
    tenant = tenant or Tenant.public()
    step = CLAIM.check(None, "file", tenant.role)
    day = today(conn)
    values = parse_values(step, raw, day)
    if tenant.is_public:
        values["on"] = day  # an owner files today: no backdating into the cover
    decision = cover_decision(building_cover(conn, project_id), values["section"], values["on"])
    if not decision.covered:
        raise LifecycleError(f"不在保险责任范围内：{decision.rule}")
    secret = secrets.token_urlsafe(9)
    claim_id, number = conn.execute(text("""
        SELECT * FROM riskmap_public_file_claim(:p, :section, :unit, :cause, :who, :phone,
                                                :emergency, :on, :secret)"""),
        {"p": project_id, "section": values["section"], "unit": values["unit_no"],
         "cause": values["cause"], "who": values["reporter_name"],
         "phone": values["reporter_phone"], "emergency": values["is_emergency"],
         "on": values["on"], "secret": secret_hash(secret)}).one()
    mark_reopened(conn, claim_id, reopen_days)
    conn.execute(text("""
        INSERT INTO lifecycle_step (lifecycle, entity_id, step, from_state, to_state, on_date,
                                    actor, role, detail)
        VALUES ('claim', :id, 'file', NULL, 'reported', :on, :actor, :role,
                CAST(:detail AS jsonb))"""),
        {"id": claim_id, "on": values["on"], "actor": tenant.username, "role": tenant.role,
         "detail": json.dumps({"rule": decision.rule, "section": values["section"]},
                              ensure_ascii=False)})
    store.record_audit(conn, tenant.username, "claim.file", f"claim:{claim_id}",
                       json.dumps({"claim_no": number, "rule": decision.rule},
                                  ensure_ascii=False))
    return number, secret, decision


# The earlier claim a new one reopens: the same unit and section of the same project, repaired
# or paid (settled_on) no more than :days days before the new one was reported; the latest.



def mark_reopened(conn: Connection, claim_id: int,
                  days: int = programme.REOPEN_DAYS) -> int | None:
    """Set (and return) the earlier claim that ``claim_id`` reopens, if any: a repair of the
    same defect within ``days`` (programme.REOPEN_DAYS) counts against its repairer."""
    return conn.execute(text("SELECT riskmap_mark_reopened(:id, :days)"),
                        {"id": claim_id, "days": int(days)}).scalar()


RATING_RESULTS = ("rated", "already_rated", "not_closed", "unknown")


def rate_claim(conn: Connection, number: str, secret: str, score: int,
               comment: str = "") -> str:
    """The owner's rating (1–5, a comment) of a closed claim's handling, once per claim: one of
    RATING_RESULTS ('unknown' when the number and the secret do not match)."""
    if not (isinstance(score, int) and 1 <= score <= 5):
        raise LifecycleError("评分须为 1 至 5 分。the score is 1 to 5")
    said = comment.strip()[:1000] or None
    result = conn.execute(text("SELECT riskmap_public_rate_claim(:n, :s, :score, :said, :day)"),
                          {"n": number.strip()[:40], "s": secret_hash(secret.strip()[:64]),
                           "score": score, "said": said, "day": today(conn)}).scalar_one()
    if result == "rated":
        store.record_audit(conn, "anonymous", "claim.rate", f"claim_no:{number.strip()[:40]}",
                           json.dumps({"score": score}))
    return result


def follow_claim(conn: Connection, number: str, secret: str) -> dict | None:
    """A claim as its owner sees it, with its steps and what is due next; None when the
    number and the secret do not match."""
    row = conn.execute(text("SELECT * FROM riskmap_public_claim(:n, :s)"),
                       {"n": number.strip()[:40], "s": secret_hash(secret.strip()[:64])}).first()
    if row is None:
        return None
    steps = conn.execute(text("SELECT * FROM riskmap_public_claim_steps(:n, :s)"),
                         {"n": number.strip()[:40], "s": secret_hash(secret.strip()[:64])})
    return {**dict(row._mapping), "steps": [dict(s._mapping) for s in steps],
            "deadlines": claim_deadlines(dict(row._mapping), today(conn))}


def claim_deadlines(claim: dict, day: dt.date | None = None) -> list[dict]:
    """The insurer's deadlines for a claim: each with its due day and whether it was met.
    Given the day, a step not yet taken after its due day is late, as the statistics and the
    breach layer count it.

    >>> d = claim_deadlines({"reported_on": dt.date(2026, 1, 1), "surveyed_on": None,
    ...                      "decided_on": None, "is_complex": True, "agreed_on": None,
    ...                      "settled_on": None})
    >>> [(x["name"], str(x["due"])) for x in d]
    [('查勘', '2026-01-03'), ('核定', '2026-01-31')]
    >>> [x["late"] for x in claim_deadlines({"reported_on": dt.date(2026, 1, 1),
    ...     "surveyed_on": None, "decided_on": None, "is_complex": True}, dt.date(2026, 1, 4))]
    [True, None]
    """
    out = []
    plan = [("查勘", claim["reported_on"], programme.SURVEY_DAYS, claim["surveyed_on"]),
            ("核定", claim["reported_on"], programme.decision_deadline_days(
                bool(claim["is_complex"])), claim["decided_on"])]
    if claim.get("agreed_on"):
        plan.append(("履行", claim["agreed_on"], programme.SETTLEMENT_DAYS, claim["settled_on"]))
    for name, start, days, done in plan:
        due = start + dt.timedelta(days=days)
        if done is None:
            late = True if day is not None and day > due else None
        else:
            late = done > due
        out.append({"name": name, "due": due, "done": done, "late": late})
    return out
