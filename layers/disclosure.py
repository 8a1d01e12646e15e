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

Publications are also safe *together*. Two approved layers of one date basis whose filters
nest (all stages and ``stage=delivered``, a year and its quarter, this month's layer and last
month's) give away, by subtraction, the projects in one and not the other. So each approved
publication keeps the projects behind every value it showed (`Published`), and a new one is
checked against them: every set of projects an outsider can work out from the values shown —
a shown district, the hidden districts together (the city total less the shown ones), and the
difference of any two such sets where one holds the other, repeatedly — must pass the primary
rule. A district whose value would let out a set that fails is hidden too (*cross*), then
complementary suppression runs again; a city total that would is hidden.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PRIMARY_FEW = "few"
PRIMARY_DOMINANT = "dominant"
COMPLEMENTARY = "complementary"
CROSS = "cross"
REASONS_ZH = {
    PRIMARY_FEW: "项目数少于下限",
    PRIMARY_DOMINANT: "少数项目占比过高",
    COMPLEMENTARY: "为防推算而隐藏",
    CROSS: "与已公开图层相减可推算，故隐藏",
}
# the city total, among the labels of what a publication shows
CITY = "__city__"
# derived sets worked out at most, per check: beyond it the new publication is refused its
# city total (a conservative answer, never a silent pass)
CLOSURE_LIMIT = 5000


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


@dataclass(frozen=True)
class Published:
    """What an approved publication let out: the projects behind each district it showed, and
    (when its city total is shown) behind its hidden districts together; with the money of
    each project as it was then."""

    shown: dict[str, frozenset[int]]
    hidden_union: frozenset[int] | None
    money: dict[int, dict[str, float]] = field(default_factory=dict)

    def sets(self) -> list[frozenset[int]]:
        found = [s for s in self.shown.values() if s]
        return found + ([self.hidden_union] if self.hidden_union else [])


def suppression_pattern(contributions: Iterable[Contribution], districts: Sequence[str],
                        money_bases: Sequence[str], rules: Rules,
                        prior: Sequence[Published] = ()) -> Pattern:
    """The districts whose values must be hidden, primary, complementary and (against the
    approved publications ``prior``) cross.

    Districts with no project at all are not hidden: an empty district discloses nothing,
    and hiding it would protect nothing either (everyone knows it is zero).

    >>> few = [Contribution("A", 1)]
    >>> many = [Contribution(d, i) for d in "BC" for i in range(ord(d) * 100, ord(d) * 100 + 3)]
    >>> p = suppression_pattern(few + many, ["A", "B", "C"], [], Rules(min_projects=3))
    >>> sorted(p.hidden.items()), p.city_hidden
    ([('A', 'few'), ('B', 'complementary')], False)

    Published before: district C with one project fewer. Showing C now would give that
    project away (the difference of the two values), so C is hidden too:

    >>> before = Published({"C": frozenset({6700, 6701})}, None)
    >>> p = suppression_pattern(many, ["B", "C"], [], Rules(min_projects=2), [before])
    >>> p.hidden
    {'C': 'cross', 'B': 'complementary'}
    """
    rows = list(contributions)
    by_district: dict[str, dict[int, dict[str, float]]] = {
        d: _projects(c for c in rows if c.district == d) for d in districts}
    hidden = {d: reason for d in districts if by_district[d]
              for reason in [primary_reason(by_district[d], money_bases, rules)] if reason}
    city_hidden = primary_reason(_projects(rows), money_bases, rules) is not None
    known = _closure([s for p in prior for s in p.sets()])
    money = {pid: m for p in prior for pid, m in p.money.items()}
    money.update({pid: m for d in districts for pid, m in by_district[d].items()})
    while True:
        city_hidden = _complement(by_district, districts, hidden, city_hidden, money_bases,
                                  rules)
        culprit = _cross_culprit(by_district, hidden, city_hidden, known, money, money_bases,
                                 rules)
        if culprit is None:
            return Pattern(hidden, city_hidden)
        if culprit == CITY:
            city_hidden = True
        else:
            hidden[culprit] = CROSS


def _complement(by_district, districts, hidden: dict[str, str], city_hidden: bool,
                money_bases, rules: Rules) -> bool:
    """Hide further districts (in ``hidden``) until the hidden ones cannot be worked back from
    the city total; returns whether the city total must be hidden instead."""
    if not hidden or city_hidden:
        return city_hidden

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
            return True
        hidden[candidates.pop(0)] = COMPLEMENTARY
    return False


def _nested_difference(a: frozenset[int], b: frozenset[int]) -> frozenset[int] | None:
    if a < b:
        return b - a
    if b < a:
        return a - b
    return None


def _closure(sets: list[frozenset[int]]) -> set[frozenset[int]]:
    """Every set of projects derivable from ``sets`` by subtracting one from another that
    holds it, repeatedly (bounded by CLOSURE_LIMIT)."""
    known = {s for s in sets if s}
    queue = list(known)
    while queue and len(known) < CLOSURE_LIMIT:
        new = queue.pop()
        for other in list(known):
            derived = _nested_difference(new, other)
            if derived and derived not in known:
                known.add(derived)
                queue.append(derived)
    return known


def _cross_culprit(by_district, hidden: dict[str, str], city_hidden: bool,
                   known: set[frozenset[int]], money, money_bases, rules: Rules) -> str | None:
    """What of the new publication (a district, or CITY) would let out a set of projects
    that fails the primary rule, combined with what is known; None if nothing."""
    if not known:
        return None
    mine = [(d, frozenset(p)) for d, p in by_district.items() if p and d not in hidden]
    union = frozenset(pid for d in hidden for pid in by_district[d])
    if union and not city_hidden:
        mine.append((CITY, union))
    seen = set(known) | {s for _, s in mine}
    queue = list(mine)
    while queue:
        label, new = queue.pop(0)
        if len(seen) >= CLOSURE_LIMIT:
            return CITY if not city_hidden else label
        for other in list(seen):
            derived = _nested_difference(new, other)
            if not derived or derived in seen:
                continue
            if primary_reason({p: money.get(p, {}) for p in derived}, money_bases,
                              rules) is not None:
                return label
            seen.add(derived)
            queue.append((label, derived))
    return None
