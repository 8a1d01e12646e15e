"""Small-cell, dominance and complementary suppression, and an attacker who tries to undo it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from layers.disclosure import (
    COMPLEMENTARY,
    PRIMARY_DOMINANT,
    PRIMARY_FEW,
    Contribution,
    Rules,
    primary_reason,
    suppression_pattern,
)

RULES = Rules(min_projects=10, dominance=0.85)


def district(code: str, amounts: list[float], start: int = 0) -> list[Contribution]:
    return [Contribution(code, start + i, {"premium_yuan": a}) for i, a in enumerate(amounts)]


def test_ten_projects_are_published_and_nine_are_not():
    ten = {i: {"premium_yuan": 1.0} for i in range(10)}
    assert primary_reason(ten, ["premium_yuan"], RULES) is None
    nine = {i: {"premium_yuan": 1.0} for i in range(9)}
    assert primary_reason(nine, ["premium_yuan"], RULES) == PRIMARY_FEW


def test_two_projects_with_85_percent_hide_a_money_total_and_84_percent_do_not():
    # the two largest make exactly 85 of 100
    at_limit = {0: {"p": 50.0}, 1: {"p": 35.0}, **{i: {"p": 15 / 8} for i in range(2, 10)}}
    assert primary_reason(at_limit, ["p"], RULES) == PRIMARY_DOMINANT
    below = {0: {"p": 50.0}, 1: {"p": 34.0}, **{i: {"p": 2.0} for i in range(2, 10)}}
    assert primary_reason(below, ["p"], RULES) is None
    # counts and areas know no dominance: with no money base the same projects are shown
    assert primary_reason(at_limit, [], RULES) is None


def test_one_small_district_takes_the_smallest_other_with_it():
    rows = (district("A", [1.0] * 3) + district("B", [1.0] * 12, 100)
            + district("C", [1.0] * 30, 200) + district("D", [1.0] * 11, 300))
    pattern = suppression_pattern(rows, ["A", "B", "C", "D"], ["premium_yuan"], RULES)
    assert pattern.hidden == {"A": PRIMARY_FEW, "D": COMPLEMENTARY}
    assert not pattern.city_hidden


def test_empty_districts_are_neither_hidden_nor_used_to_hide():
    rows = district("A", [1.0] * 3) + district("B", [1.0] * 12, 100)
    pattern = suppression_pattern(rows, ["A", "B", "E"], ["premium_yuan"], RULES)
    assert "E" not in pattern.hidden
    assert pattern.hidden == {"A": PRIMARY_FEW, "B": COMPLEMENTARY}


def test_a_city_too_small_to_publish_hides_its_total():
    rows = district("A", [1.0] * 3) + district("B", [1.0] * 4, 100)
    pattern = suppression_pattern(rows, ["A", "B"], ["premium_yuan"], RULES)
    assert pattern.city_hidden and set(pattern.hidden) == {"A", "B"}


def test_a_single_dominant_project_is_hidden_even_in_a_large_district():
    rows = district("A", [1_000_000.0] + [1.0] * 20) + district("B", [1.0] * 30, 100)
    rows += district("C", [1.0] * 25, 200)
    pattern = suppression_pattern(rows, ["A", "B", "C"], ["premium_yuan"], RULES)
    assert pattern.hidden["A"] == PRIMARY_DOMINANT
    # hiding C beside A is not enough: A+C is still dominated by A's project, so B goes too
    # and then the whole city's total, dominated as well, is hidden
    assert pattern.city_hidden


def _attack(values: dict[str, float], hidden: set[str], city_total: float,
            floor: float) -> dict[str, tuple[float, float]]:
    """What an attacker can bound each hidden value to, knowing the published values, the
    city total, and that a hidden district holds at least ``floor`` (1 project, or > 0 yuan)."""
    rest = city_total - sum(v for d, v in values.items() if d not in hidden)
    return {d: (floor, rest - floor * (len(hidden) - 1)) for d in hidden}


districts_strategy = st.lists(
    st.lists(st.floats(min_value=1, max_value=1e7, allow_nan=False), min_size=0, max_size=25),
    min_size=2, max_size=16)


@settings(max_examples=300, deadline=None)
@given(districts_strategy, st.integers(min_value=2, max_value=12))
def test_no_hidden_value_can_be_recomputed_from_the_published_ones(amounts, k):
    rules = Rules(min_projects=k, dominance=0.85)
    codes = [f"D{i:02d}" for i in range(len(amounts))]
    rows = [c for i, (code, a) in enumerate(zip(codes, amounts, strict=True))
            for c in district(code, a, 1000 * i)]
    pattern = suppression_pattern(rows, codes, ["premium_yuan"], rules)
    counts = {code: len(a) for code, a in zip(codes, amounts, strict=True)}
    money = {code: sum(a) for code, a in zip(codes, amounts, strict=True)}
    hidden = set(pattern.hidden)
    for code in codes:  # every published district passes the rule on its own
        if code not in hidden and counts[code]:
            assert primary_reason({i: {"premium_yuan": x} for i, x in enumerate(
                amounts[codes.index(code)])}, ["premium_yuan"], rules) is None
    if pattern.city_hidden or not hidden:
        return  # nothing to difference against, or nothing hidden
    for values, floor in ((counts, 1.0), (money, 0.0)):
        bounds = _attack(values, hidden, sum(values.values()), floor)
        for code, (low, high) in bounds.items():
            assert low < high, (code, low, high)  # more than one value is possible
            assert low <= values[code] <= high + 1e-6 * max(1.0, high)
    # and what the attacker does learn, the hidden districts' sum, is itself publishable
    union = {c.project_id: {"premium_yuan": c.money["premium_yuan"]}
             for c in rows if c.district in hidden}
    assert primary_reason(union, ["premium_yuan"], rules) is None
    assert len(union) > len(hidden)
