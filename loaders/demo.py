"""A believable demo programme for any city: projects, parties, policies, risk and claims.

Generation is pure (districts and options in, rows out) and depends only on the
seed and the as-of date, never on the clock, so the same seed gives the same data.
Projects carry a hidden quality factor, so risky builders show up as clusters of
risk events and, years later, of claims, as on a real risk map.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from geo import programme
from loaders import demo_life
from loaders import demo_names as names
from loaders.demo_other import add_other_policies, other_policies_rng
from loaders.demo_risk import add_claims, add_risk_management

DEFAULT_SEED = 20240501
DEFAULT_AS_OF = dt.date(2026, 6, 30)
FIRST_START = dt.date(2016, 3, 1)
# Projects generated between two writes of a large demo: bounds the memory of the rows held
# (the rows of 200,000 projects held at once took gigabytes), and does not change the data.
CHUNK_PROJECTS = 5000


@dataclass(frozen=True)
class District:
    code: str
    name: str
    city_code: str
    boundary: BaseGeometry

    @property
    def is_urban(self) -> bool:
        return self.name.endswith("区")


@dataclass(frozen=True)
class DemoOptions:
    # a city's GB/T 2260 code; or a province's, or 100000, for a programme across all their
    # loaded cities
    city: str
    seed: int = DEFAULT_SEED
    projects: int = 300
    as_of: dt.date = DEFAULT_AS_OF


@dataclass
class Programme:
    """Rows for each table, in insertion order, with explicit ids.

    Keys starting with ``_`` are the generator's own and are never written. A large demo is
    written in chunks: ``flush`` hands the rows held so far to the writer and forgets them,
    while ids and counts go on from where they were.
    """

    tables: dict[str, list[dict]] = field(default_factory=dict)
    flushed: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, row: dict) -> dict:
        if "id" in row and row["id"] is None:
            row["id"] = self.count(table) + 1
        self.tables.setdefault(table, []).append(row)
        return row

    def count(self, table: str) -> int:
        """Rows of the table made so far, written or not."""
        return self.flushed.get(table, 0) + len(self.tables.get(table, ()))

    def counts(self) -> dict[str, int]:
        return {table: self.count(table) for table in {**self.flushed, **self.tables}}

    def flush(self, write: Callable[[Programme], None] | None) -> None:
        if write is not None:
            write(self)
            for table, rows in self.tables.items():
                self.flushed[table] = self.flushed.get(table, 0) + len(rows)
            self.tables = {}


ORGANISATION_PLAN = (
    # kind, stems, suffix, (min, max) count
    ("insurer", names.INSURER_STEMS, "财产保险股份有限公司", (5, 8)),
    ("reinsurer", names.REINSURER_STEMS, "再保险股份有限公司", (2, 3)),
    ("tis", names.TIS_STEMS, "工程质量风险管理有限公司", (3, 5)),
    ("developer", names.DEVELOPER_STEMS, "置业有限公司", (14, 20)),
    ("contractor", names.CONTRACTOR_STEMS, "建设集团有限公司", (10, 14)),
    ("supervisor", names.SUPERVISOR_STEMS, "工程监理有限公司", (5, 8)),
    ("designer", names.DESIGNER_STEMS, "设计研究院有限公司", (4, 6)),
    ("surveyor", names.SURVEYOR_STEMS, "岩土工程勘察有限公司", (3, 4)),
    ("repairer", names.REPAIRER_STEMS, "房屋维修服务有限公司", (4, 6)),
)


def generate(districts: list[District], options: DemoOptions,
             write: Callable[[Programme], None] | None = None) -> Programme:
    """The whole demo programme for the city's districts.

    Without ``write`` every row is kept in the returned programme; with it, the rows are
    handed to ``write`` every CHUNK_PROJECTS projects and then forgotten (the same rows either
    way: the other policies draw from a generator of their own, in project order).
    """
    if not districts:
        raise ValueError(f"no districts of city {options.city} in the store: load them first")
    rng = np.random.default_rng(options.seed)
    other_rng = other_policies_rng(options.seed)
    out = Programme()
    recent: dict = {}
    parties = _organisations(rng, out, options.city)
    sites = _place_across_cities(rng, districts, options.projects)
    for first in range(0, len(sites), CHUNK_PROJECTS):
        for district, (lon, lat) in sites[first:first + CHUNK_PROJECTS]:
            project = _project(rng, out, district, lon, lat, parties, options.as_of)
            if rng.random() < 0.97:  # a few projects that should be insured are not
                policy = _policy(rng, out, project, parties, options)
                add_risk_management(rng, out, project, policy, options.as_of)
                add_claims(rng, out, project, policy, parties, options.as_of)
                demo_life.keep_candidate(recent, project, policy, options.as_of)
        add_other_policies(out, parties, other_rng, options.city)
        out.flush(write)
    # claims just reported: every insurer has surveys and decisions waiting on the demo's day
    demo_life.add_recent_claims(out, demo_life.claim_rng(options.seed), recent, parties,
                                options.as_of)
    out.flush(write)
    return out


def _organisations(rng, out: Programme, city: str) -> dict[str, list[dict]]:
    parties: dict[str, list[dict]] = {}
    taken: set[str] = set()
    for kind, stems, suffix, (low, high) in ORGANISATION_PLAN:
        count = int(rng.integers(low, high + 1))
        for name in names.company_names(rng, stems, suffix, count):
            row = out.add("organisation", {
                "id": None, "name": name, "short_name": name[: len(name) - len(suffix)],
                "kind": kind, "uscc": names.uscc(rng, city, taken),
                "claim_hotline": _hotline(rng) if kind == "insurer" else None,
            })
            row["_weight"] = float(rng.pareto(1.5) + 1)  # a few big players, many small ones
            parties.setdefault(kind, []).append(row)
    return parties


def _hotline(rng) -> str:
    return f"400-{int(rng.integers(100, 999))}-{int(rng.integers(1000, 9999))}"


def _choose(rng, rows: list[dict], k: int = 1) -> list[dict]:
    """``k`` different parties, the bigger ones (by ``_weight``) more often."""
    cumulative = _cumulative(tuple(r["_weight"] for r in rows))
    if k == 1:  # the common case, without rng.choice's cost (see names.pick)
        return [names.pick_weighted(rng, rows, cumulative)]
    weights = np.diff(cumulative, prepend=0.0)
    picked = rng.choice(len(rows), size=k, replace=False, p=weights / weights.sum())
    return [rows[i] for i in picked]


@functools.lru_cache(maxsize=64)
def _cumulative(weights: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(itertools.accumulate(weights))


def _place_across_cities(rng, districts: list[District], n: int
                         ) -> list[tuple[District, tuple]]:
    """Project sites of a programme over one or many cities: a province's capital (its city
    numbered 01) and cities of many urban districts build the most."""
    by_city = [(code, list(group)) for code, group in
               itertools.groupby(sorted(districts, key=lambda d: d.code),
                                 key=lambda d: d.city_code)]
    if len(by_city) == 1:
        return _place_projects(rng, districts, n)
    weights = np.array([(4.0 if code[2:4] == "01" else 1.0)
                        * (1 + sum(d.is_urban for d in group)) for code, group in by_city])
    counts = rng.multinomial(n, weights / weights.sum())
    return [site for (_, group), count in zip(by_city, counts, strict=True) if count
            for site in _place_projects(rng, group, int(count))]


def _place_projects(rng, districts: list[District], n: int) -> list[tuple[District, tuple]]:
    """Project sites inside their districts, denser in urban districts and towards the centre."""
    urban = [d for d in districts if d.is_urban] or districts
    centre = min(urban, key=lambda d: d.boundary.area).boundary.representative_point()
    # urban districts near the old centre build most; ~0.4 degrees is about 40 km
    weights = np.array([
        (3.0 if d.is_urban else 1.0)
        * (0.3 + np.exp(-d.boundary.representative_point().distance(centre) / 0.4))
        for d in districts])
    counts = rng.multinomial(n, weights / weights.sum())
    sites = []
    for district, count in zip(districts, counts, strict=False):
        for point in _points_in(rng, district.boundary, int(count), centre, district.is_urban):
            sites.append((district, point))
    return sites


def _points_in(rng, polygon: BaseGeometry, count: int, centre, urban: bool) -> list[tuple]:
    """``count`` points inside the polygon, clustered near the point closest to the centre."""
    shapely.prepare(polygon)
    inner = polygon.buffer(-0.002)
    core = nearest_points(polygon if inner.is_empty else inner, centre)[0]
    sigma = (0.12 if urban else 0.25) * np.sqrt(polygon.area)
    minx, miny, maxx, maxy = polygon.bounds
    found: list[tuple] = []
    while len(found) < count:
        clustered = rng.random(64) < 0.7
        xs = np.where(clustered, rng.normal(core.x, sigma, 64), rng.uniform(minx, maxx, 64))
        ys = np.where(clustered, rng.normal(core.y, sigma, 64), rng.uniform(miny, maxy, 64))
        inside = shapely.contains_xy(polygon, xs, ys)
        found.extend((round(float(x), 6), round(float(y), 6))
                     for x, y in zip(xs[inside], ys[inside], strict=True))
    # rounding to 0.1 m may push a point across the edge: keep only those still inside
    kept = [p for p in found if shapely.contains_xy(polygon, *p)]
    return kept[:count] if len(kept) >= count else kept + _points_in(
        rng, polygon, count - len(kept), centre, urban)


def _project(rng, out, district: District, lon, lat, parties, as_of) -> dict:
    urban = district.is_urban
    area = float(np.clip(rng.lognormal(np.log(90_000), 0.55), 12_000, 400_000))
    unit_cost = rng.uniform(2600, 4500) if urban else rng.uniform(2000, 3600)
    start, planned, completion, delivery, stage = _timeline(rng, as_of)
    community = names.community(rng)
    seq = out.count("project") + 1
    year = start.year if start else as_of.year
    return out.add("project", {
        "id": None, "permit_no": f"{district.code}-{year}-{seq:04d}",
        "name": community + names.pick(rng, names.PHASES), "community": community,
        "address": names.address(rng, district.name), "district_code": district.code,
        "location": f"SRID=4326;POINT({lon} {lat})",
        "developer_id": _choose(rng, parties["developer"])[0]["id"],
        "contractor_id": _choose(rng, parties["contractor"])[0]["id"],
        "designer_id": _choose(rng, parties["designer"])[0]["id"],
        "surveyor_id": _choose(rng, parties["surveyor"])[0]["id"],
        "supervisor_id": _choose(rng, parties["supervisor"])[0]["id"],
        "gross_floor_area_m2": round(area, 2), "units": max(1, int(area / rng.uniform(90, 125))),
        "construction_cost_yuan": round(area * unit_cost, 2), "stage": stage,
        "start_date": start, "completion_date": completion, "delivery_date": delivery,
        "_quality": float(rng.gamma(2.0, 0.5)),  # hidden: how risky this build is
        "_planned_completion": planned,
    })


def _timeline(rng, as_of: dt.date):
    """Start, planned and actual completion acceptance, delivery and stage as of a date."""
    span = (as_of - FIRST_START).days
    start = FIRST_START + dt.timedelta(days=int(rng.integers(0, span + 120)))
    if start > as_of:
        return None, None, None, None, "planning"
    completion = start + dt.timedelta(days=int(rng.integers(730, 1200)))
    if completion > as_of:
        elapsed = (as_of - start).days / (completion - start).days
        stage = ("foundation" if elapsed < 0.25
                 else "main_structure" if elapsed < 0.6 else "finishing")
        return start, completion, None, None, stage
    delivery = completion + dt.timedelta(days=int(rng.integers(30, 240)))
    if delivery > as_of:
        return start, completion, completion, None, "completed"
    return start, completion, completion, delivery, "delivered"


def _policy(rng, out: Programme, project: dict, parties, options: DemoOptions) -> dict:
    start = project["start_date"] or options.as_of
    issue = start - dt.timedelta(days=int(rng.integers(10, 90)))
    rate = round(float(rng.uniform(0.010, 0.025)), 4)
    cost = project["construction_cost_yuan"]
    insurers = _choose(rng, parties["insurer"], k=int(rng.choice([1, 2, 3], p=[0.4, 0.35, 0.25])))
    number = out.count("policy") + 1
    policy = out.add("policy", {
        "id": None, "policy_no": f"IDI{issue.year}{options.city}{number:06d}",
        "project_id": project["id"], "lead_insurer_id": insurers[0]["id"],
        "tis_id": _choose(rng, parties["tis"])[0]["id"], "premium_yuan": round(cost * rate, 2),
        "rate": rate, "sum_insured_yuan": cost, "issue_date": issue,
        "status": "submitted" if (options.as_of - issue).days < 30 else "confirmed",
    })
    for insurer, share in zip(insurers, _co_insurance_shares(rng, len(insurers)), strict=False):
        out.add("policy_share", {"policy_id": policy["id"], "insurer_id": insurer["id"],
                                 "is_lead": insurer is insurers[0], "share": share})
    _reinsurance(rng, out, policy, parties)
    _coverage(rng, out, policy, project)
    return policy


def _co_insurance_shares(rng, k: int) -> list[float]:
    """Shares in steps of 5 %, the lead's the largest, summing to exactly 100 %.

    >>> rng = np.random.default_rng(1)
    >>> all(round(sum(_co_insurance_shares(rng, k)), 4) == 1 for k in (1, 2, 3))
    True
    """
    if k == 1:
        return [1.0]
    lead = int(rng.choice([50, 60, 70])) if k == 2 else int(rng.choice([40, 50, 60]))
    rest = 100 - lead
    if k == 2:
        return [lead / 100, rest / 100]
    low, high = max(5, rest - lead), min(lead, rest - 5)
    second = int(rng.integers(low // 5, high // 5 + 1)) * 5
    return [lead / 100, second / 100, (rest - second) / 100]


def _reinsurance(rng, out: Programme, policy: dict, parties) -> None:
    if rng.random() < 0.4:
        return
    reinsurers = _choose(rng, parties["reinsurer"], k=int(rng.integers(1, 3)))
    for reinsurer in reinsurers:
        out.add("reinsurance_share", {"policy_id": policy["id"], "reinsurer_id": reinsurer["id"],
                                      "share": int(rng.integers(2, 7)) * 5 / 100})


def _coverage(rng, out: Programme, policy: dict, project: dict) -> None:
    completion = project["completion_date"]
    policy["_sections"] = sections = []  # the claims of the policy draw on its own sections
    for section in programme.BASIC_SECTIONS:
        starts, ends = (programme.coverage_period(section.code, completion)
                        if completion else (None, None))
        sections.append(out.add("coverage_section", {
            "id": None, "policy_id": policy["id"], "section": section.code,
            "starts_on": starts, "ends_on": ends}))
    riders = [s for s in programme.COVERAGE_SECTIONS if s.is_rider]
    if rng.random() < 0.3:
        for i in rng.choice(len(riders), size=int(rng.integers(1, 3)), replace=False):
            starts = programme.add_years(completion, 1) if completion else None
            ends = programme.add_years(starts, int(rng.integers(2, 6))) if starts else None
            sections.append(out.add("coverage_section", {
                "id": None, "policy_id": policy["id"], "section": riders[i].code,
                "starts_on": starts, "ends_on": ends}))
