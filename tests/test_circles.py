"""Worst circles of a portfolio (layers.circles): the exact method against the O(n^3) brute force
and the grid search, on small random portfolios. No database."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.circles import (
    EPSILON_M,
    Circle,
    brute_force_worst_circle,
    grid_search_worst_circle,
    worst_circles,
)

SIDE_M = 1000.0
REL = 1e-9  # totals of different methods add the same weights in different orders
radii = st.sampled_from([50.0, 200.0]) | st.floats(10.0, 400.0)
examples = settings(max_examples=150, deadline=None)


@st.composite
def portfolios(draw, dyadic: bool = False):
    """1-40 projects in a 1 km square: some anywhere, some clustered around up to three centres
    (many then share a circle), some at the very coordinates of an earlier one. With `dyadic`,
    coordinates are multiples of 1/64 m, so that adding whole metres rounds nothing."""
    coordinate = st.floats(0.0, SIDE_M)
    centres = draw(st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=3))
    xs: list[float] = []
    ys: list[float] = []
    for _ in range(draw(st.integers(1, 40))):
        kind = draw(st.sampled_from(["anywhere", "clustered", "duplicate"]))
        if kind == "duplicate" and xs:
            k = draw(st.integers(0, len(xs) - 1))
            x, y = xs[k], ys[k]
        elif kind == "clustered":
            cx, cy = draw(st.sampled_from(centres))
            x, y = cx + draw(st.floats(-150.0, 150.0)), cy + draw(st.floats(-150.0, 150.0))
        else:
            x, y = draw(coordinate), draw(coordinate)
        xs.append(round(x * 64) / 64 if dyadic else x)
        ys.append(round(y * 64) / 64 if dyadic else y)
    weights = draw(st.lists(st.floats(1.0, 1e8), min_size=len(xs), max_size=len(xs)))
    return np.array(xs), np.array(ys), np.array(weights)


def assert_is_the_circle(circle: Circle, x, y, w, left: np.ndarray) -> None:
    """Its members are exactly the points left within the radius and the tolerance (give or take
    a micrometre of rounding), heaviest first, and they add up to its total."""
    distance = np.hypot(x - circle.x, y - circle.y)
    members = list(circle.members)
    assert left[members].all() and (w[members] > 0).all()
    assert (distance[members] <= circle.radius + EPSILON_M + 1e-6).all()
    outside = np.setdiff1d(np.flatnonzero(left & (w > 0)), members)
    assert (distance[outside] > circle.radius + EPSILON_M - 1e-6).all()
    assert list(w[members]) == sorted(w[members], reverse=True)
    assert circle.total == pytest.approx(math.fsum(w[members]), rel=1e-12)


@examples
@given(portfolios(), radii)
def test_the_worst_circle_is_the_brute_force_maximum(portfolio, radius):
    x, y, w = portfolio
    [worst] = worst_circles(x, y, w, radius=radius, top=1)
    reference = brute_force_worst_circle(x, y, w, radius)
    assert worst.total == pytest.approx(reference.total, rel=REL)
    assert worst.radius == radius
    assert_is_the_circle(worst, x, y, w, np.ones(x.size, dtype=bool))
    assert_is_the_circle(reference, x, y, w, np.ones(x.size, dtype=bool))


@examples
@given(portfolios(), radii, st.sampled_from([10.0, 25.0, 60.0]))
def test_the_grid_search_brackets_the_optimum(portfolio, radius, step):
    x, y, w = portfolio
    exact = worst_circles(x, y, w, radius=radius, top=1)[0].total
    assert grid_search_worst_circle(x, y, w, radius, step).total <= exact * (1 + REL)
    # every centre is within step/sqrt(2) of a node; the exact total counts 1 mm beyond the
    # rim, and a further millimetre covers the rounding of the k-d tree's distances
    wide = radius + step / math.sqrt(2) + 2 * EPSILON_M
    assert grid_search_worst_circle(x, y, w, wide, step).total >= exact * (1 - REL)


@examples
@given(portfolios(), radii, st.integers(1, 6))
def test_each_circle_is_the_best_of_the_points_the_earlier_ones_left(portfolio, radius, top):
    x, y, w = portfolio
    circles = worst_circles(x, y, w, radius=radius, top=top)
    left = np.ones(x.size, dtype=bool)
    for circle in circles:
        assert_is_the_circle(circle, x, y, w, left)  # so the circles are disjoint
        reference = brute_force_worst_circle(x[left], y[left], w[left], radius)
        assert circle.total == pytest.approx(reference.total, rel=REL)
        left[list(circle.members)] = False
    totals = [circle.total for circle in circles]
    assert all(later <= earlier * (1 + REL)
               for earlier, later in zip(totals, totals[1:], strict=False))
    assert len(circles) == top or not left.any()  # fewer only when every point is taken


@examples
@given(portfolios(dyadic=True), radii, st.integers(-20, 20), st.integers(-10**6, 10**6),
       st.integers(0, 3 * 10**6))
def test_totals_scale_with_the_weights_and_ignore_a_translation(portfolio, radius, power,
                                                                 dx, dy):
    x, y, w = portfolio
    circles = worst_circles(x, y, w, radius=radius, top=4)
    scaled = worst_circles(x, y, w * 2.0**power, radius=radius, top=4)
    assert [c.total for c in scaled] == pytest.approx([c.total * 2.0**power for c in circles],
                                                      rel=1e-12)
    # Gauss-Krueger sized coordinates; whole metres move dyadic points without rounding
    moved = worst_circles(x + dx, y + dy, w, radius=radius, top=4)
    assert [c.total for c in moved] == pytest.approx([c.total for c in circles], rel=1e-12)
    assert [c.members for c in moved] == [c.members for c in circles]
    for before, after in zip(circles, moved, strict=True):
        assert (after.x - dx, after.y - dy) == pytest.approx((before.x, before.y), abs=1e-6)


@examples
@given(portfolios(), radii, st.floats(1e-3, 1e3))
def test_any_factor_on_the_weights_scales_the_worst_total(portfolio, radius, factor):
    x, y, w = portfolio
    total = worst_circles(x, y, w, radius=radius, top=1)[0].total
    scaled = worst_circles(x, y, w * factor, radius=radius, top=1)[0].total
    assert scaled == pytest.approx(total * factor, rel=REL)


@examples
@given(portfolios(), radii, st.lists(st.sampled_from([0.0, -1.0, -1e8]), min_size=1, max_size=5))
def test_points_of_no_or_negative_weight_change_nothing(portfolio, radius, nothing):
    x, y, w = portfolio
    extra = np.linspace(0.0, SIDE_M, len(nothing))
    with_them = worst_circles(np.concatenate([x, extra]), np.concatenate([y, extra]),
                              np.concatenate([w, nothing]), radius=radius, top=3)
    assert with_them == worst_circles(x, y, w, radius=radius, top=3)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_dense_portfolio_of_300_matches_the_brute_force(seed):
    """Hundreds of candidates per anchor: the bounds and the chunks of the exact method work."""
    rng = np.random.default_rng(seed)
    x, y = rng.normal(500_000, 150, 300), rng.normal(2_800_000, 150, 300)
    w = rng.lognormal(np.log(1e8), 1.0, 300)
    left = np.ones(300, dtype=bool)
    for circle in worst_circles(x, y, w, radius=200.0, top=3):
        reference = brute_force_worst_circle(x[left], y[left], w[left], 200.0)
        assert circle.total == pytest.approx(reference.total, rel=REL)
        left[list(circle.members)] = False


def test_no_points_no_circles():
    assert worst_circles([], [], []) == []
    assert worst_circles([1.0, 2.0], [1.0, 2.0], [0.0, -5.0]) == []  # nothing insured
    assert brute_force_worst_circle([], [], [], 200.0) is None
    assert grid_search_worst_circle([], [], [], 200.0) is None


def test_one_point_is_its_own_circle():
    expected = Circle(x=500_000.0, y=2_800_000.0, radius=200.0, total=5e7, members=(0,))
    assert worst_circles([500_000.0], [2_800_000.0], [5e7]) == [expected]
    assert brute_force_worst_circle([500_000.0], [2_800_000.0], [5e7], 200.0) == expected


def test_projects_at_one_address_count_together_heaviest_first():
    x = [10.0, 10.0, 10.0, 900.0]
    y = [10.0, 10.0, 10.0, 900.0]
    circles = worst_circles(x, y, [1.0, 3.0, 2.0, 10.0], top=5)
    assert [(c.total, c.members) for c in circles] == [(10.0, (3,)), (6.0, (1, 2, 0))]


@pytest.mark.parametrize(("beyond", "total"), [(0.0, 4.0), (0.01, 3.0)])
def test_a_point_on_the_rim_counts_and_one_a_centimetre_beyond_does_not(beyond, total):
    # A, B and C, on a circle of radius r at 90, 210 and 330 degrees, pin its centre: moving it
    # by more than 1 mm leaves one of them out. D is at 270 degrees, on the rim or 1 cm beyond.
    r = 200.0
    angles = np.radians([90.0, 210.0, 330.0, 270.0])
    reach = np.array([r, r, r, r + beyond])
    x, y = 5000.0 + reach * np.cos(angles), 7000.0 + reach * np.sin(angles)
    w = np.ones(4)
    assert worst_circles(x, y, w, radius=r, top=1)[0].total == total
    assert brute_force_worst_circle(x, y, w, r).total == total


@pytest.mark.parametrize(("apart", "together"),
                         [(400.0, True), (400.0015, True), (400.02, False)])
def test_two_points_share_a_circle_up_to_the_tolerance(apart, together):
    # 400.0015 m apart: each 0.75 mm beyond the rim of the circle between them, within 1 mm
    circles = worst_circles([0.0, apart], [0.0, 0.0], [1.0, 2.0], radius=200.0)
    assert [c.members for c in circles] == ([(1, 0)] if together else [(1,), (0,)])


def test_fewer_circles_than_asked_when_the_points_run_out():
    circles = worst_circles([0.0, 5000.0, 10_000.0], [0.0, 0.0, 0.0], [1.0, 3.0, 2.0], top=10)
    assert [c.members for c in circles] == [(1,), (2,), (0,)]


@pytest.mark.parametrize("where", ["x", "y"])
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_coordinates_must_be_finite(where, bad):
    points = {"x": [0.0, 1.0], "y": [0.0, 1.0], "weight": [1.0, 1.0]}
    points[where][1] = bad
    with pytest.raises(ValueError, match=rf"{where}\[1\] is .*must be finite"):
        worst_circles(**points)
    with pytest.raises(ValueError, match="must be finite"):
        brute_force_worst_circle(**points, radius=200.0)


@pytest.mark.parametrize("radius", [0.0, -200.0, math.nan])
def test_radius_must_be_positive(radius):
    with pytest.raises(ValueError, match="radius must be a positive"):
        worst_circles([0.0], [0.0], [1.0], radius=radius)
    with pytest.raises(ValueError, match="radius must be a positive"):
        grid_search_worst_circle([0.0], [0.0], [1.0], radius=radius)


@pytest.mark.parametrize("top", [0, -1, 2.5])
def test_top_must_be_a_count(top):
    with pytest.raises(ValueError, match="top must be"):
        worst_circles([0.0], [0.0], [1.0], top=top)


def test_arrays_must_match():
    with pytest.raises(ValueError, match="one length"):
        worst_circles([0.0, 1.0], [0.0], [1.0, 1.0])


@examples
@given(portfolios(), radii)
def test_an_anchors_block_bound_holds_every_circle_through_it(portfolio, radius):
    """The first bound of the search (a square block of grid cells) is never below a circle
    that holds the anchor: else the worst circle could be pruned unseen."""
    from layers.circles import _disk_block_bounds, _pair_centres, _reach

    x, y, w = portfolio
    x, y = x - x.min(), y - y.min()
    i, j = np.triu_indices(x.size, 1)
    d2 = (x[j] - x[i]) ** 2 + (y[j] - y[i]) ** 2
    pair = (d2 > 0) & (d2 <= 4 * _reach(radius))
    qx, qy = _pair_centres(x[i[pair]], y[i[pair]], x[j[pair]], y[j[pair]], radius)
    cx, cy = np.concatenate([x, qx]), np.concatenate([y, qy])
    inside = (x[None, :] - cx[:, None]) ** 2 + (y[None, :] - cy[:, None]) ** 2 <= _reach(radius)
    totals = inside @ w
    from unittest import mock

    for cells in (2048, 3):  # a city's extent at the default cap; a nation's, cells far wider
        with mock.patch("layers.circles._GRID_CELLS", cells):
            bounds = _disk_block_bounds(x, y, w, radius)
        for anchor in range(x.size):
            assert totals[inside[:, anchor]].max() <= bounds[anchor] * (1 + 1e-12)
