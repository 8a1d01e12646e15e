"""Demo risk management (inspections, risk events, reports) and claims for one project.

Claim timelines follow the insurer's deadlines of the Suizhou plan most of the
time and break them on purpose some of the time, so the deadline layers have
something to show.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from geo import programme
from loaders import demo_names as names

INSPECTED_STAGES = ("foundation", "main_structure", "finishing", "completed")
STAGE_SHARE = {"foundation": (0.0, 0.25), "main_structure": (0.25, 0.6),
               "finishing": (0.6, 1.0), "completed": (1.0, 1.0)}
STAGE_CATEGORIES = {
    "foundation": ["foundation", "structure", "other"],
    "main_structure": ["structure", "waterproofing", "installation", "other"],
    "finishing": ["waterproofing", "insulation", "facade", "windows", "installation"],
    "completed": ["waterproofing", "insulation", "facade", "windows", "other"],
}
DUE_DAYS = {"minor": 30, "major": 15, "severe": 7}
STUCK_DAYS = 75  # an event left open was found at most this long before the demo's day


def _day(start: dt.date, days: float) -> dt.date:
    return start + dt.timedelta(days=int(days))


def _stage_window(project: dict, stage: str, as_of: dt.date) -> tuple[dt.date, dt.date] | None:
    start, completion = project["start_date"], project["completion_date"]
    if start is None:
        return None
    end = completion or project["_planned_completion"]
    low, high = STAGE_SHARE[stage]
    first = _day(start, (end - start).days * low)
    last = completion if stage == "completed" else _day(start, (end - start).days * high)
    if stage == "completed" and completion is None:
        return None
    return (first, min(last, as_of)) if first <= as_of else None


def add_risk_management(rng, out, project: dict, policy: dict, as_of: dt.date) -> None:
    """Inspections with their risk events, and the TIS's reports, up to ``as_of``."""
    tis = policy["tis_id"]
    initial = _day(policy["issue_date"], rng.integers(10, 30))
    if initial <= as_of:
        out.add("report", {"id": None, "project_id": project["id"], "tis_id": tis,
                           "kind": "initial", "submitted_on": initial,
                           "approved_on": _approved(rng, initial, as_of),
                           "summary": "风险交底及检查计划"})
    for stage in INSPECTED_STAGES:
        window = _stage_window(project, stage, as_of)
        if window is None:
            continue
        for _ in range(int(rng.integers(1, 4))):
            day = _day(window[0], rng.uniform(0, max((window[1] - window[0]).days, 1)))
            inspection = out.add("inspection", {
                "id": None, "project_id": project["id"], "tis_id": tis, "stage": stage,
                "inspected_on": min(day, as_of), "findings": None})
            _risk_events(rng, out, project, inspection, as_of)
        kind = "final" if stage == "completed" else "process"
        out.add("report", {"id": None, "project_id": project["id"], "tis_id": tis, "kind": kind,
                           "submitted_on": window[1],
                           "approved_on": _approved(rng, window[1], as_of),
                           "summary": programme.REPORT_KINDS[kind]})
    _return_visit(rng, out, project, tis, as_of)


def _approved(rng, submitted: dt.date, as_of: dt.date) -> dt.date | None:
    approved = _day(submitted, rng.integers(2, 20))
    return approved if approved <= as_of else None


def _return_visit(rng, out, project: dict, tis: int, as_of: dt.date) -> None:
    completion = project["completion_date"]
    if completion is None:
        return
    visit = _day(programme.add_years(completion, programme.LIABILITY_START_YEARS),
                 -int(rng.integers(30, 90)))
    if visit <= as_of:
        out.add("report", {"id": None, "project_id": project["id"], "tis_id": tis,
                           "kind": "return_visit", "submitted_on": visit,
                           "approved_on": _approved(rng, visit, as_of),
                           "summary": "竣工两年回访查勘"})


def _risk_events(rng, out, project: dict, inspection: dict, as_of: dt.date) -> None:
    quality = project["_quality"]
    found = inspection["inspected_on"]
    for _ in range(int(rng.poisson(1.3 * quality))):
        severity = names.pick_weighted(rng, SEVERITIES, _severity_mix(quality))
        category = names.pick(rng, STAGE_CATEGORIES[inspection["stage"]])
        due = _day(found, DUE_DAYS[severity])
        # most builds rectify within the due date; risky ones (high quality score) run late,
        # so grades spread as a programme's do rather than piling up in C and D
        closed = _day(found, rng.gamma(2.0, DUE_DAYS[severity] * min(quality, 3.0) / 6))
        # a few events of risky builds stay open past their due date, but not for years: a
        # TIS's list holds events a few weeks overdue, as a working programme's does
        stuck = rng.random() < 0.03 * quality and (as_of - found).days <= STUCK_DAYS
        left_open = closed > as_of or stuck
        status = ("rectifying" if rng.random() < 0.5 else "open") if left_open else "closed"
        number = out.count("risk_event") + 1
        out.add("risk_event", {
            "id": None, "event_no": f"RE-{project['permit_no']}-{number:05d}",
            "project_id": project["id"], "inspection_id": inspection["id"],
            "category": category, "severity": severity, "status": status,
            "description": names.pick(rng, names.EVENT_TEXTS[category]),
            "location_in_building": f"{int(rng.integers(1, 20))}号楼{int(rng.integers(1, 33))}层",
            "found_on": found, "due_on": due, "closed_on": None if left_open else closed,
        })


SEVERITIES = ("minor", "major", "severe")


def _severity_mix(quality: float) -> tuple[float, float, float]:
    """Cumulative weights of SEVERITIES: riskier builds have more severe events."""
    severe = min(0.05 + 0.06 * quality, 0.35)
    major = 0.3
    return (1 - severe - major, 1 - severe, 1.0)


def add_claims(rng, out, project: dict, policy: dict, parties, as_of: dt.date) -> None:
    """Owners' claims once the insurer's liability has started (2 years after completion)."""
    # the policy's own sections, kept on it by _coverage: scanning every section of the
    # programme here made the demo quadratic in the number of projects
    sections = {c["section"]: c for c in policy["_sections"] if c["starts_on"] is not None}
    basic = sections.get("insulation_waterproofing")
    if basic is None or basic["starts_on"] > as_of:
        return
    years = (min(as_of, sections["structure"]["ends_on"]) - basic["starts_on"]).days / 365.25
    expected = project["units"] / 1000 * 2.0 * years * project["_quality"]
    for _ in range(int(rng.poisson(expected))):
        section = "structure" if rng.random() < 0.2 else "insulation_waterproofing"
        cover = sections[section]
        last = min(as_of, cover["ends_on"])
        reported = _day(cover["starts_on"], rng.uniform(0, (last - cover["starts_on"]).days + 1))
        _claim(rng, out, project, policy, section, reported, parties, as_of)


def _claim(rng, out, project, policy, section, reported, parties, as_of) -> None:
    number = out.count("claim") + 1
    claim = {
        "id": None, "claim_no": f"CL{reported.year}{number:06d}", "policy_id": policy["id"],
        "unit_no": names.unit_no(rng), "reporter_name": names.person(rng),
        "reporter_phone": names.phone(rng), "section": section,
        "cause": names.pick(rng, names.CLAIM_CAUSES[section]), "exclusion": None,
        "is_complex": bool(rng.random() < (0.4 if section == "structure" else 0.1)),
        "is_emergency": False, "reported_on": reported, "surveyed_on": None,
        "decided_on": None, "decision": None, "decision_reason": None,
        "refusal_notified_on": None, "agreed_on": None, "settled_on": None,
        "claimed_amount_yuan": round(float(rng.lognormal(
            np.log(180_000 if section == "structure" else 18_000), 0.8)), 2),
        "paid_amount_yuan": 0, "repairer_id": None, "status": "reported",
    }
    _claim_timeline(rng, claim, parties, as_of)
    out.add("claim", claim)


def _late(rng, on_time: tuple[int, int], late: tuple[int, int], p_late: float) -> int:
    low, high = late if rng.random() < p_late else on_time
    return int(rng.integers(low, high + 1))


def _claim_timeline(rng, claim: dict, parties, as_of: dt.date) -> None:
    """Survey, decision, agreement and repair/payment dates, each kept only if before as_of."""
    reported = claim["reported_on"]
    surveyed = _day(reported, _late(rng, (0, programme.SURVEY_DAYS), (3, 6), 0.12))
    limit = programme.decision_deadline_days(claim["is_complex"])
    decided = _day(reported, _late(rng, (1, limit), (limit + 1, limit + 15), 0.12))
    if surveyed > as_of:
        return
    claim.update(surveyed_on=surveyed, status="surveyed")
    if decided > as_of:
        return
    rejected = rng.random() < 0.1
    if rejected:
        exclusion = names.pick(rng, list(programme.EXCLUSIONS))
        notice = _day(decided, _late(rng, (0, programme.REFUSAL_NOTICE_DAYS), (4, 10), 0.1))
        claim.update(decided_on=decided, decision="rejected", exclusion=exclusion,
                     decision_reason=names.EXCLUSION_REASONS[exclusion], status="rejected",
                     refusal_notified_on=notice if notice <= as_of else None)
        return
    claim.update(decided_on=decided, decision="accepted", status="accepted",
                 is_emergency=bool(rng.random() < 0.1),
                 repairer_id=names.pick(rng, parties["repairer"])["id"])
    _settlement(rng, claim, decided, as_of)


def _settlement(rng, claim: dict, decided: dt.date, as_of: dt.date) -> None:
    agreed = _day(decided, rng.integers(0, 11))
    if agreed > as_of:
        return
    claim.update(agreed_on=agreed, status="agreed")
    settled = _day(agreed, _late(rng, (1, programme.SETTLEMENT_DAYS), (8, 25), 0.12))
    if settled > as_of:
        return
    paid = round(claim["claimed_amount_yuan"] * float(rng.uniform(0.6, 1.0)), 2)
    claim.update(settled_on=settled, paid_amount_yuan=paid,
                 status="closed" if _day(settled, 15) <= as_of else "settled")
