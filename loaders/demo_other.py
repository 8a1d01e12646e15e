"""The demo's other insurance (Kunming 三（四）): the participants' quality-liability policies
(工程质量责任保险 of the survey, design, construction and supervision units) and, for a few
prefabricated builds, component IDI. Drawn from a generator of their own, seeded from the demo's
seed, so the rest of the demo stays as it was and the same seed gives the same rows.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from geo import programme

# kind, the project's party insured, policy number prefix, share of the construction cost
LIABILITY = (
    ("liability_survey", "surveyor_id", "KC", 0.02),
    ("liability_design", "designer_id", "SJ", 0.03),
    ("liability_construction", "contractor_id", "SG", 0.10),
    ("liability_supervision", "supervisor_id", "JL", 0.02),
)
SHARE_WITH_OTHER_INSURANCE = 0.35
PREFAB_SHARE = 0.08
STREAM = 9  # the generator's own stream beside the demo's seed


def other_policies_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, STREAM])


def add_other_policies(out, parties: dict[str, list[dict]], rng: np.random.Generator,
                       city: str) -> None:
    """Other policies for about a third of the insured projects held in ``out`` (the rng,
    from other_policies_rng, goes on from one chunk of projects to the next)."""
    insured = {row["project_id"] for row in out.tables.get("policy", [])}
    for project in out.tables.get("project", []):
        if project["id"] not in insured or rng.random() >= SHARE_WITH_OTHER_INSURANCE:
            continue
        for kind, party, prefix, share in LIABILITY:
            if project.get(party) and rng.random() < 0.6:
                _add(rng, out, parties, project, (kind, project[party], prefix, share), city)
        if rng.random() < PREFAB_SHARE:
            _add(rng, out, parties, project,
                 ("prefab_idi", project["developer_id"], "YZ", 0.05), city)


def _add(rng, out, parties, project: dict, plan: tuple, city: str) -> None:
    kind, insured_id, prefix, share = plan
    insurer = parties["insurer"][int(rng.integers(len(parties["insurer"])))]
    starts, ends = _period(rng, project, kind)
    number = out.count("other_policy") + 1
    year = starts.year if starts else project["permit_no"].split("-")[1]
    out.add("other_policy", {
        "id": None, "project_id": project["id"], "kind": kind,
        "policy_no": f"{prefix}{year}{city}{number:06d}", "insurer_id": insurer["id"],
        "insured_id": insured_id, "starts_on": starts, "ends_on": ends,
        "sum_insured_yuan": round(project["construction_cost_yuan"] * share
                                  * float(rng.uniform(0.8, 1.2)), -3),
    })


def _period(rng, project: dict, kind: str) -> tuple[dt.date | None, dt.date | None]:
    """Liability cover runs from the start of works to years after completion; a prefab
    component's IDI runs like the building's own, from two years after completion."""
    start, completion = project["start_date"], project["completion_date"]
    if kind == "prefab_idi":
        if completion is None:
            return None, None
        starts = programme.add_years(completion, programme.LIABILITY_START_YEARS)
        return starts, programme.add_years(starts, 10)
    if start is None:
        return None, None
    return start, programme.add_years(completion or start, int(rng.integers(2, 6)))
