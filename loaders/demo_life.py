"""What makes the demo look like a programme in use on its day: claims just reported, so every
insurer has surveys and decisions to make; owners' ratings of closed claims and insurers'
ratings of their TIS; and complaints in the regulator's queue.

Drawn from generators of their own, seeded from the demo's seed (as ``demo_other`` is), so the
rest of the demo stays as it was and the same seed and day give the same rows.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo.complaints import CATEGORIES, PARTY_KINDS
from loaders import demo_names as names
from loaders.demo_risk import _claim

CLAIM_STREAM, RATING_STREAM = 11, 12
RECENT_CLAIMS_PER_INSURER = 2
RECENT_DAYS = 4          # claims reported this many days back at most: a survey still due
RATED_SHARE = 0.6        # of closed claims, rated by their owners
COMPLAINTS = 24
COMPLAINT_DAYS = 120     # complaints received over the last four months
# owners' scores 1..5 (most are content, some are not)
SCORE_WEIGHTS = (0.04, 0.08, 0.18, 0.35, 0.35)
COMMENTS = {1: "维修拖延，多次催促无人处理", 2: "查勘不及时，沟通不畅", 3: "基本解决问题",
            4: "处理及时，维修质量较好", 5: "响应迅速，维修彻底，非常满意"}
BODIES = {"服务态度": "客服人员态度生硬，未解释理赔流程", "理赔时效": "报案后超过期限仍未查勘",
          "维修质量": "维修后墙面再次渗水", "查勘质量": "查勘草率，未到现场核实",
          "风险检查": "检查流于形式，问题未督促整改", "信息不实": "告知书中的保险期间与保单不一致",
          "收费问题": "维修时被要求另行付费", "其他": "希望提供更多办理进度信息"}


def claim_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, CLAIM_STREAM])


def keep_candidate(candidates: dict, project: dict, policy: dict, as_of: dt.date) -> None:
    """Remember a policy whose insulation and waterproofing cover has started, the first few
    of each lead insurer: it will get a claim reported in the last days."""
    started = [c for c in policy["_sections"] if c["section"] == "insulation_waterproofing"
               and c["starts_on"] is not None and c["starts_on"] <= as_of - dt.timedelta(30)]
    held = candidates.setdefault(policy["lead_insurer_id"], [])
    if started and len(held) < RECENT_CLAIMS_PER_INSURER:
        held.append((project, policy))


def add_recent_claims(out, rng: np.random.Generator, candidates: dict, parties,
                      as_of: dt.date) -> None:
    """A claim or two reported in the last RECENT_DAYS days on each insurer's candidates."""
    for insurer in sorted(candidates):
        for project, policy in candidates[insurer]:
            reported = as_of - dt.timedelta(days=int(rng.integers(0, RECENT_DAYS + 1)))
            _claim(rng, out, project, policy, "insulation_waterproofing", reported, parties,
                   as_of)


def _columns(rows: list[dict]) -> dict[str, list]:
    """Rows as one list per column, for a single INSERT … SELECT FROM unnest(…).

    >>> _columns([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}])
    {'a': [1, 2], 'b': ['x', 'y']}
    """
    return {key: [row[key] for row in rows] for key in rows[0]}


def add_ratings(conn: Connection, seed: int) -> None:
    """Owners rate most closed claims a few days after closing; insurers rate each TIS whose
    final report they approved."""
    rng = np.random.default_rng([seed, RATING_STREAM])
    closed = conn.execute(text(
        "SELECT id, settled_on FROM claim WHERE status = 'closed' ORDER BY id")).all()
    rows = []
    for claim_id, settled in closed:
        if rng.random() >= RATED_SHARE:
            continue
        score = int(rng.choice(5, p=SCORE_WEIGHTS)) + 1
        rows.append({"c": claim_id, "s": score, "t": COMMENTS[score],
                     "d": settled + dt.timedelta(days=int(rng.integers(15, 30)))})
    if rows:  # one statement: a row each would fire the data-version trigger a row each
        conn.execute(text(
            "INSERT INTO service_rating (claim_id, score, comment, rated_on) SELECT * FROM "
            "unnest(CAST(:c AS int[]), CAST(:s AS int[]), CAST(:t AS text[]), "
            "CAST(:d AS date[]))"), _columns(rows))
    managed = conn.execute(text("SELECT id FROM risk_management WHERE status IN "
                                "('final_approved', 'return_visit_due', "
                                "'return_visit_submitted', 'closed') ORDER BY id")).scalars()
    ratings = [{"id": m, "r": int(rng.choice(5, p=(0.02, 0.05, 0.2, 0.43, 0.3))) + 1}
               for m in managed]
    if ratings:
        conn.execute(text(
            "UPDATE risk_management m SET tis_rating = v.r, tis_comment = '检查到位，报告完整' "
            "FROM unnest(CAST(:id AS int[]), CAST(:r AS int[])) v(id, r) WHERE m.id = v.id"),
            _columns(ratings))


def add_complaints(conn: Connection, seed: int, as_of: dt.date) -> None:
    """Complaints about insurers, TIS, repairers and developers over the last months: the old
    ones answered or closed, the recent ones waiting in the regulator's queue."""
    rng = np.random.default_rng([seed, RATING_STREAM, 1])
    parties = conn.execute(text(
        "SELECT id, kind, name FROM organisation WHERE kind IN ('insurer', 'tis', 'repairer', "
        "'developer') ORDER BY id")).all()
    projects = conn.execute(text("SELECT id, district_code FROM project ORDER BY id")).all()
    if not parties or not projects:
        return
    for n in range(COMPLAINTS):
        party = parties[int(rng.integers(len(parties)))]
        project = projects[int(rng.integers(len(projects)))]
        category = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
        received = as_of - dt.timedelta(days=int(rng.integers(0, COMPLAINT_DAYS)))
        age = (as_of - received).days
        status = ("received" if age < 5 else "handling" if age < 15
                  else "answered" if age < 40 else "closed")
        answered = received + dt.timedelta(days=int(rng.integers(3, 12))) \
            if status in ("answered", "closed") else None
        conn.execute(text("""
            INSERT INTO complaint (complaint_no, party_kind, party_id, party_name, project_id,
                district_code, category, body, contact, status, answer, received_on,
                answered_on, closed_on)
            VALUES (:no, :kind, :pid, :pname, :project, :district, :category, :body, :contact,
                    :status, :answer, :received, :answered, :closed)"""), {
            "no": f"TS{received:%Y%m%d}{n + 1:04d}", "kind": party.kind, "pid": party.id,
            "pname": party.name, "project": project.id, "district": project.district_code,
            "category": category, "body": BODIES[category],
            "contact": f"{names.person(rng)} {names.phone(rng)}", "status": status,
            "answer": "已核实并督促整改，结果已告知投诉人" if answered else None,
            "received": received, "answered": answered,
            "closed": answered + dt.timedelta(days=3) if status == "closed" else None})
    assert set(PARTY_KINDS) >= {p.kind for p in parties}


def add_policy_submissions(conn: Connection, seed: int, as_of: dt.date) -> None:
    """Each policy still waiting for the regulator was put on the platform by its insurer in
    the last days (the regulator confirms within 5 days of that): the regulator's list holds
    confirmations coming due, not only late ones."""
    rng = np.random.default_rng([seed, RATING_STREAM, 2])
    waiting = conn.execute(text("""
        SELECT po.id, po.issue_date, po.lead_insurer_id, o.name FROM policy po
        JOIN organisation o ON o.id = po.lead_insurer_id
        WHERE po.status = 'submitted' ORDER BY po.id""")).all()
    rows = [{"id": p.id, "org": p.lead_insurer_id, "actor": p.name,
             "on": max(p.issue_date, as_of - dt.timedelta(days=int(rng.integers(0, 7))))}
            for p in waiting if p.issue_date <= as_of]
    if rows:
        conn.execute(text("""
            INSERT INTO lifecycle_step (lifecycle, entity_id, step, from_state, to_state, on_date,
                                        actor, role, organisation_id, detail)
            SELECT 'policy', v.id, 'submit', NULL, 'submitted', v.on_date, v.actor, 'insurer',
                   v.org, '{"demo": true}'::jsonb
            FROM unnest(CAST(:id AS int[]), CAST(:on AS date[]), CAST(:actor AS text[]),
                        CAST(:org AS int[])) v(id, on_date, actor, org)"""), _columns(rows))
