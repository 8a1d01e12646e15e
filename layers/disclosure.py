"""Which district values the public may see: small-cell and dominance suppression, with
complementary suppression so that no hidden value can be worked back from the rest.

A value is *primary* suppressed when fewer than ``min_projects`` projects make it, or when
the two largest projects make ``dominance`` (85 %) or more of a money total. Because the
city's total is published, a single hidden district could be recomputed as the total less
the others; so further districts are hidden (*complementary*, smallest first) until at least
two are hidden and the hidden ones together would pass the primary rule themselves, since
their sum is what an attacker can learn. Where no such set exists, the city total is hidden.

The rule runs on one pattern per date basis and filters, shared by every layer of that basis,
so that a ratio layer cannot undo a hidden total (premium per m² × area = premium).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PRIMARY_FEW = "few"
PRIMARY_DOMINANT = "dominant"
COMPLEMENTARY = "complementary"
REASONS_ZH = {
    PRIMARY_FEW: "项目数少于下限",
    PRIMARY_DOMINANT: "少数项目占比过高",
    COMPLEMENTARY: "为防推算而隐藏",
}


@dataclass(frozen=True)
class Rules:
    """The thresholds: a setting each (PUBLIC_MIN_PROJECTS, PUBLIC_DOMINANCE)."""

    min_projects: int = 10
    dominance: float = 0.85
    top: int = 2


@dataclass(frozen=True)
class Contribution:
    """One project's part in its district's values: the money it adds per money base."""

    district: str
    project_id: int
    money: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Pattern:
    """Which districts are hidden and why; whether the city total is hidden too."""

    hidden: dict[str, str]
    city_hidden: bool

    def reason(self, district: str) -> str | None:
        return self.hidden.get(district)


def _projects(contributions: Iterable[Contribution]) -> dict[int, dict[str, float]]:
    # a project may come as several rows (policies, claims): its money adds up
    merged: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for c in contributions:
        for base, amount in c.money.items():
            merged[c.project_id][base] += float(amount or 0)
        merged[c.project_id].setdefault("_", 0.0)
    return merged


def primary_reason(projects: dict[int, dict[str, float]], money_bases: Sequence[str],
                   rules: Rules) -> str | None:
    """Why a set of projects may not be published as one value, or None if it may.

    >>> primary_reason({1: {"p": 5.0}}, ["p"], Rules(min_projects=2))
    'few'
    >>> primary_reason({1: {"p": 90.0}, 2: {"p": 5.0}, 3: {"p": 5.0}}, ["p"],
    ...                Rules(min_projects=3, top=1))
    'dominant'
    >>> primary_reason({i: {"p": 1.0} for i in range(3)}, ["p"], Rules(min_projects=3))
    """
    if len(projects) < rules.min_projects:
        return PRIMARY_FEW
    for base in money_bases:
        amounts = sorted((abs(m.get(base, 0.0)) for m in projects.values()), reverse=True)
        total = sum(amounts)
        if total > 0 and sum(amounts[: rules.top]) >= rules.dominance * total:
            return PRIMARY_DOMINANT
    return None


def suppression_pattern(contributions: Iterable[Contribution], districts: Sequence[str],
                        money_bases: Sequence[str], rules: Rules) -> Pattern:
    """The districts whose values must be hidden, primary and complementary.

    Districts with no project at all are not hidden: an empty district discloses nothing,
    and hiding it would protect nothing either (everyone knows it is zero).

    >>> few = [Contribution("A", 1)]
    >>> many = [Contribution(d, i) for d in "BC" for i in range(ord(d) * 100, ord(d) * 100 + 3)]
    >>> p = suppression_pattern(few + many, ["A", "B", "C"], [], Rules(min_projects=3))
    >>> sorted(p.hidden.items()), p.city_hidden
    ([('A', 'few'), ('B', 'complementary')], False)
    """
    rows = list(contributions)
    by_district: dict[str, dict[int, dict[str, float]]] = {
        d: _projects(c for c in rows if c.district == d) for d in districts}
    hidden = {d: reason for d in districts if by_district[d]
              for reason in [primary_reason(by_district[d], money_bases, rules)] if reason}
    city_hidden = primary_reason(_projects(rows), money_bases, rules) is not None
    if not hidden or city_hidden:
        return Pattern(hidden, city_hidden)

    def union_fails() -> bool:
        union = {pid: m for d in hidden for pid, m in by_district[d].items()}
        # a hidden district has at least one project, so if each had exactly one the counts
        # could be read off the city total: the union must hold more projects than districts
        return (len(hidden) < 2 or len(union) <= len(hidden)
                or primary_reason(union, money_bases, rules) is not None)

    # smallest first: hide as little as possible; ties go by code so the result is stable
    candidates = sorted((d for d in districts if by_district[d] and d not in hidden),
                        key=lambda d: (len(by_district[d]), d))
    while union_fails():
        if not candidates:
            return Pattern(hidden, True)
        hidden[candidates.pop(0)] = COMPLEMENTARY
    return Pattern(hidden, False)
