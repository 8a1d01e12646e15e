"""The worst circles of an insurer's exposure: where most of it lies within a radius.

Points are projected coordinates in metres (the caller projects lon/lat to the local CGCS2000
Gauss-Krüger zone), each with a weight, the exposure in yuan; points of weight 0 or less are
ignored. Circle k of :func:`worst_circles` is the heaviest circle of the radius over the points
that circles 1..k-1 do not hold, so that every project counts once.

Tolerance: a point counts as inside when its distance to the centre is at most
``radius + EPSILON_M`` (1 mm). The reported total is the exact maximum of the circles of radius
r, counting points up to 1 mm beyond the rim: it lies between the true maximum of the circles of
radius r and that of radius r + 1 mm. The millimetre absorbs the rounding of computed centres
(about 1e-9 m), so a point exactly on an optimal rim is never lost.

Exactness: the centres whose disk holds a set S of points form the intersection of the radius-r
disks around them. That convex region is one whole disk only when all of S coincide (then a
point of S is a centre); otherwise two of the circles bounding it cross at a vertex of it, which
is a centre of a circle of radius r through two points at most 2r apart. So the points and those
pair centres, the candidates, include a centre holding every point of any optimal disk.

Speed: a candidate's circle has an anchor point on its rim or at its centre, so it lies within
2r of that anchor. Anchors wait on a heap keyed by an upper bound of their heaviest circle: the
heaviest square block of r/2 grid cells that one of their circles can lie in (some twice a
circle's area), then the weight within 2r, then the exact value. An anchor is only evaluated
while its bound beats every exact value found, and within an anchor a sweep around it bounds
each candidate, so only the few that can win are counted. The heap outlives each circle: taking
points out only lowers values, so the keys stay bounds.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

EPSILON_M = 0.001
# relative margin on every bound: sums taken in different orders round differently, and a bound
# must never end up below the value it bounds
_SLACK = 1e-9
_CHUNK = 64  # candidates counted at once: the bounds are tight, so one chunk mostly decides
_GRID, _NEAR, _EXACT = 0, 1, 2  # what an anchor's heap key is
_TAU = 2 * math.pi
_MATRIX = 4_000_000  # entries of one distance matrix of the brute force, to bound its memory


@dataclass(frozen=True)
class Circle:
    """A circle: its centre in the input's metres, and the projects it holds, heaviest first."""

    x: float
    y: float
    radius: float
    total: float
    members: tuple[int, ...]


@dataclass(frozen=True)
class _Points:
    """The points of positive weight, in metres from the lowest x and y (fewer digits to round)."""

    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    index: np.ndarray  # position in the caller's arrays
    origin: tuple[float, float]


def _prepare(x, y, weight) -> _Points:
    x, y, w = (np.asarray(values, dtype=float) for values in (x, y, weight))
    if x.ndim != 1 or x.shape != y.shape or x.shape != w.shape:
        raise ValueError("x, y and weight must be 1-D and of one length, "
                         f"not of shapes {x.shape}, {y.shape} and {w.shape}")
    for name, values in (("x", x), ("y", y), ("weight", w)):
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise ValueError(f"{name}[{bad[0]}] is {values[bad[0]]}: coordinates and weights must "
                             "be finite (leave out the projects that have no location)")
    keep = np.flatnonzero(w > 0)
    origin = (float(x[keep].min()), float(y[keep].min())) if keep.size else (0.0, 0.0)
    return _Points(x[keep] - origin[0], y[keep] - origin[1], w[keep], keep, origin)


def _check_radius(radius: float) -> float:
    if not math.isfinite(radius) or radius <= 0:
        raise ValueError(f"radius must be a positive number of metres, not {radius!r}")
    return float(radius)


def _reach(radius: float) -> float:
    """Squared distance within which a point counts as inside: the radius plus the tolerance."""
    return (radius + EPSILON_M) ** 2


def _inside(px, py, cx, cy, reach2: float) -> np.ndarray:
    """Which points (columns) each centre (rows) holds; both methods share it, to agree exactly."""
    dx = px[None, :] - cx[:, None]
    dy = py[None, :] - cy[:, None]
    return dx * dx + dy * dy <= reach2


def _pair_centres(ax, ay, bx, by, r: float):
    """Both centres of the circles of radius r through a and b, distinct points row by row.

    Points up to 2 mm further apart than 2r get their midpoint, which holds both within 1 mm."""
    dx, dy = bx - ax, by - ay
    d2 = dx * dx + dy * dy
    d = np.sqrt(d2)  # not h / d: points a hair apart would overflow it
    h = np.sqrt(np.maximum(r * r - d2 / 4, 0.0))
    ox, oy = h * (dy / d), h * (dx / d)
    mx, my = (ax + bx) / 2, (ay + by) / 2
    return np.concatenate([mx - ox, mx + ox]), np.concatenate([my + oy, my - oy])


def _circle(pts: _Points, cx: float, cy: float, radius: float, inside: np.ndarray) -> Circle:
    order = np.lexsort((pts.index[inside], -pts.w[inside]))
    return Circle(x=float(cx + pts.origin[0]), y=float(cy + pts.origin[1]), radius=float(radius),
                  total=math.fsum(pts.w[inside].tolist()),
                  members=tuple(pts.index[inside][order].tolist()))


def worst_circles(x, y, weight, radius: float = 200.0, top: int = 10) -> list[Circle]:
    """The `top` heaviest circles of `radius` metres holding disjoint sets of points, heaviest
    first; fewer when the points run out. Exact within the tolerance (see the module).

    >>> circles = worst_circles([0, 300, 600], [0, 0, 0], [1, 2, 3], radius=200)
    >>> [(c.total, c.members) for c in circles]
    [(5.0, (2, 1)), (1.0, (0,))]
    >>> (circles[1].x, circles[1].y)
    (0.0, 0.0)
    """
    radius = _check_radius(radius)
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise ValueError(f"top must be a whole number of circles, at least 1, not {top!r}")
    pts = _prepare(x, y, weight)
    if not pts.w.size:
        return []
    search = _Search(pts, radius)
    circles: list[Circle] = []
    while len(circles) < top and (circle := search.next_circle()) is not None:
        circles.append(circle)
    return circles


class _Search:
    """Branch and bound over anchors, kept across circles: removing points only lowers values, so
    every key stays an upper bound, and only anchors whose best circle lost points are redone."""

    def __init__(self, pts: _Points, radius: float):
        self.pts, self.r, self.reach2 = pts, radius, _reach(radius)
        self.near = 2 * radius + 3 * EPSILON_M  # an anchor's circles hold nothing further away
        self.tree = cKDTree(np.column_stack([pts.x, pts.y]))
        n = pts.w.size
        self.active = np.ones(n, dtype=bool)
        self.stale = np.zeros(n, dtype=bool)  # its exact key may be too high now
        self.stamp = np.zeros(n, dtype=np.int64)  # only an anchor's latest heap entry counts
        self.centre = np.zeros((n, 2))
        self.floor = 0.0  # the best exact value found this round: the winner weighs at least it
        self.nearby: dict[int, np.ndarray] = {}  # the neighbours of anchors waiting at _NEAR
        bounds = np.minimum(_block_weights(pts.x, pts.y, pts.w, self.near),
                            _disk_block_bounds(pts.x, pts.y, pts.w, radius))
        bounds = bounds * (1 + _SLACK) + _SLACK * pts.w.sum()
        self.heap = [(-b, -_GRID, i, 0) for i, b in enumerate(bounds.tolist())]
        heapq.heapify(self.heap)

    def next_circle(self) -> Circle | None:
        while self.heap:
            key, level, i, stamp = heapq.heappop(self.heap)
            if not self.active[i] or stamp != self.stamp[i]:
                continue
            if -level == _EXACT and not self.stale[i]:
                return self._take(i)  # its value beats every other anchor's bound
            self._refine(i, -level, -key)
        return None

    def _push(self, i: int, key: float, level: int) -> None:
        self.stamp[i] += 1
        heapq.heappush(self.heap, (-key, -level, i, int(self.stamp[i])))

    def _refine(self, i: int, level: int, key: float) -> None:
        # an anchor put back at _NEAR keeps its neighbours: points only leave, so the kept ones
        # still active are what the k-d tree would find again (a third of the time went there)
        kept = self.nearby.pop(i, None)
        if kept is None:
            nb = self._around(self.pts.x[i], self.pts.y[i], self.near)
        else:
            nb = kept[self.active[kept]]
        if level == _GRID:
            near = min(self.pts.w[nb].sum() * (1 + _SLACK), key)
            if self.heap and near < -self.heap[0][0]:
                self.nearby[i] = nb
                self._push(i, near, _NEAR)  # another anchor may win before this one counts
                return
        total, cx, cy, bound = _anchor_best(self.pts, i, nb, self.r, self.reach2, self.floor)
        if total < self.floor:
            self.nearby[i] = nb
            self._push(i, bound, _NEAR)  # cannot win this round; exact when it might
            return
        self.floor = total
        self.centre[i] = cx, cy
        self.stale[i] = False
        self._push(i, total, _EXACT)

    def _around(self, cx: float, cy: float, distance: float) -> np.ndarray:
        found = np.asarray(self.tree.query_ball_point((cx, cy), distance, return_sorted=False),
                           dtype=np.intp)
        return found[self.active[found]]

    def _take(self, i: int) -> Circle:
        cx, cy = self.centre[i]
        around = self._around(cx, cy, self.r + 2 * EPSILON_M)
        inside = around[_inside(self.pts.x[around], self.pts.y[around],
                                np.array([cx]), np.array([cy]), self.reach2)[0]]
        self.active[inside] = False
        self.floor = 0.0
        # an anchor's best circle is unchanged unless it shared points with this one, which
        # needs its centre within 2r of this centre, and the anchor itself within 3r
        nb = self._around(cx, cy, self.near + self.r + 2 * EPSILON_M)
        gap = np.hypot(self.centre[nb, 0] - cx, self.centre[nb, 1] - cy)
        self.stale[nb[gap <= 2 * self.r + 3 * EPSILON_M]] = True
        return _circle(self.pts, cx, cy, self.r, inside)


_GRID_CELLS = 2048  # cells along the longer side of _disk_block_bounds' grid, at most


def _disk_block_bounds(x, y, w, r: float) -> np.ndarray:
    """For each point as an anchor, the weight of the heaviest square block of k x k grid
    cells that one of its circles can lie in: a bound some 2 times a circle's area, where the
    disk of 2r around the anchor (_NEAR) is 13 times and the 3 x 3 block of 2r cells 36 times,
    so that in a dense city few anchors need counting at all.

    A circle of the anchor has its centre within r of it (on it, or through it and another
    point), so its bounding square (side D = 2r + 2 mm, and 1 mm for the rounding of centres)
    starts in one of k cells along each axis before the anchor's, and a block of k = ceil(D /
    s) + 1 cells starting there covers it. Block weights are sums of positive cell weights, not
    differences of running sums, so they round no lower than the circles' own sums.

    >>> _disk_block_bounds(np.array([0.0, 150, 400, 5000]), np.array([0.0, 0, 0, 0]),
    ...                    np.array([1.0, 2, 4, 8]), r=100).tolist()
    [3.0, 3.0, 4.0, 8.0]
    """
    reach = 2 * r + 3 * EPSILON_M
    side = max(reach / 4, max(float(x.max()), float(y.max()), 0.0) / _GRID_CELLS)
    k = math.ceil(reach / side) + 1
    ix, iy = (np.floor(v / side).astype(np.intp) + (k - 1) for v in (x, y))
    grid = np.zeros((int(ix.max()) + k, int(iy.max()) + k))  # at most some 33 MB
    np.add.at(grid, (ix, iy), w)
    rows = grid[:grid.shape[0] - k + 1].copy()
    for o in range(1, k):  # in place: a city's grid is tens of MB, and so is each temporary
        rows += grid[o:grid.shape[0] - k + 1 + o]
    del grid
    blocks = rows[:, :rows.shape[1] - k + 1].copy()
    for o in range(1, k):
        blocks += rows[:, o:rows.shape[1] - k + 1 + o]
    del rows
    # blocks[u, v] starts at cell (u, v); an anchor's circles start at its cell or k - 1 before
    best = np.full(blocks.shape, 0.0)
    for ox in range(k):
        for oy in range(k):
            best[ox:, oy:] = np.maximum(best[ox:, oy:], blocks[:blocks.shape[0] - ox,
                                                                :blocks.shape[1] - oy])
    return best[ix, iy]


def _block_weights(x, y, w, cell: float) -> np.ndarray:
    """Weight of the 3 x 3 block of cells of side `cell` around each point's cell, which holds
    every point within `cell` of it: the first, cheapest bound of an anchor."""
    ix = np.floor(x / cell).astype(np.int64) + 1  # from 1, so that a neighbour's key is >= 0
    iy = np.floor(y / cell).astype(np.int64) + 1
    stride = int(iy.max()) + 2
    key = ix * stride + iy
    cells, at = np.unique(key, return_inverse=True)
    weights = np.bincount(at.ravel(), weights=w)
    total = np.zeros(x.size)
    for ox in (-1, 0, 1):
        for oy in (-1, 0, 1):
            wanted = key + ox * stride + oy
            pos = np.minimum(np.searchsorted(cells, wanted), cells.size - 1)
            total += np.where(cells[pos] == wanted, weights[pos], 0.0)
    return total


def _anchor_best(pts: _Points, i: int, nb: np.ndarray, r: float, reach2: float, floor: float):
    """Total and centre of the heaviest candidate of anchor i: centred on it, or through it and
    a point of nb (the active points within 2r of it, which hold all such circles can hold).

    Candidates whose bound is at most `floor` are left out; when that leaves the total below the
    floor, the last item is an upper bound of the anchor's heaviest circle (else the total)."""
    xs, ys, ws = pts.x[nb], pts.y[nb], pts.w[nb]
    dx, dy = xs - pts.x[i], ys - pts.y[i]
    d2 = dx * dx + dy * dy
    best, cx, cy = ws[d2 <= reach2].sum(), pts.x[i], pts.y[i]
    pair = (d2 > 0) & (d2 <= 4 * reach2)
    arcs = _Arcs(dx, dy, d2, ws, r)
    slack = _SLACK * ws.sum()
    # the circle's heaviest point is where an arc starts, or at 0 when all its arcs wrap
    bound = arcs.weight(np.concatenate([[0.0], arcs.lo[arcs.lo >= 0]])).max() + slack
    if not pair.any() or bound <= max(best, floor):
        return float(best), float(cx), float(cy), float(max(best, min(bound, floor)))
    # lower index first, as in the brute force, so that both compute the same centres
    lo, hi = np.minimum(nb[pair], i), np.maximum(nb[pair], i)
    qx, qy = _pair_centres(pts.x[lo], pts.y[lo], pts.x[hi], pts.y[hi], r)
    at = np.mod(np.arctan2(qy - pts.y[i], qx - pts.x[i]), _TAU)
    order = np.argsort(at)  # sorted queries make searchsorted several times faster
    bounds = np.empty(at.size)
    bounds[order] = arcs.weight(at[order]) + slack
    hopeful = np.flatnonzero(bounds > max(best, floor))
    hopeful = hopeful[np.argsort(-bounds[hopeful], kind="stable")]
    for start in range(0, hopeful.size, _CHUNK):
        chunk = hopeful[start:start + _CHUNK]
        chunk = chunk[bounds[chunk] > max(best, floor)]
        if not chunk.size:
            break
        totals = _inside(xs, ys, qx[chunk], qy[chunk], reach2) @ ws
        k = int(np.argmax(totals))
        if totals[k] > best:
            best, cx, cy = totals[k], qx[chunk[k]], qy[chunk[k]]
    return float(best), float(cx), float(cy), float(max(best, floor))


class _Arcs:
    """Around an anchor, the centres of radius-r circles through it form a circle; each point
    is within r + 2 mm of an arc of it. The weight of the arcs at an angle bounds what the centre
    there holds within r + 1 mm, with a millimetre to spare for the rounding of angles; sorted
    arcs give it for many angles in O(k log k) instead of k^2 distances."""

    def __init__(self, dx, dy, d2, w, r: float):
        far = r + 2 * EPSILON_M
        always = d2 <= (far - r) ** 2  # within reach of every centre
        d = np.sqrt(d2)
        arcs = ~always & (d <= r + far)
        cos_half = (d2[arcs] + r * r - far * far) / (2 * r * d[arcs])
        half = np.arccos(np.clip(cos_half, -1.0, 1.0))
        lo = np.mod(np.arctan2(dy[arcs], dx[arcs]) - half, _TAU)
        hi = lo + 2 * half
        wrap = hi >= _TAU  # such an arc also covers the angles just above 0
        lo, hi = np.concatenate([lo, lo[wrap] - _TAU]), np.concatenate([hi, hi[wrap] - _TAU])
        ws = np.concatenate([w[arcs], w[arcs][wrap]])
        self.always = w[always].sum()
        self.lo, self.lo_weight = _sorted_cumulative(lo, ws)
        self.hi, self.hi_weight = _sorted_cumulative(hi, ws)

    def weight(self, at: np.ndarray) -> np.ndarray:
        """Weight of the arcs holding each angle of `at` (sorted, in [0, 2 pi])."""
        started = self.lo_weight[np.searchsorted(self.lo, at, side="right")]
        ended = self.hi_weight[np.searchsorted(self.hi, at, side="left")]
        return self.always + started - ended


def _sorted_cumulative(edges, w):
    order = np.argsort(edges)
    return edges[order], np.concatenate([[0.0], np.cumsum(w[order])])


def brute_force_worst_circle(x, y, weight, radius: float) -> Circle | None:
    """The reference: every candidate centre (every point, both centres of every pair at most 2r
    apart) counted against every point, in O(n^3) time; for small n. Same tolerance as
    :func:`worst_circles`.

    >>> brute_force_worst_circle([0, 300, 600], [0, 0, 0], [1, 2, 3], radius=200).members
    (2, 1)
    """
    radius = _check_radius(radius)
    pts = _prepare(x, y, weight)
    n = pts.w.size
    if not n:
        return None
    reach2 = _reach(radius)
    i, j = np.triu_indices(n, 1)
    dx, dy = pts.x[j] - pts.x[i], pts.y[j] - pts.y[i]
    d2 = dx * dx + dy * dy
    pair = (d2 > 0) & (d2 <= 4 * reach2)
    qx, qy = _pair_centres(pts.x[i[pair]], pts.y[i[pair]], pts.x[j[pair]], pts.y[j[pair]], radius)
    cx, cy = np.concatenate([pts.x, qx]), np.concatenate([pts.y, qy])
    rows = max(1, _MATRIX // n)
    totals = np.concatenate([_inside(pts.x, pts.y, cx[k:k + rows], cy[k:k + rows], reach2) @ pts.w
                             for k in range(0, cx.size, rows)])
    best = int(np.argmax(totals))
    inside = np.flatnonzero(_inside(pts.x, pts.y, cx[best:best + 1], cy[best:best + 1], reach2)[0])
    return _circle(pts, cx[best], cy[best], radius, inside)


def grid_search_worst_circle(x, y, weight, radius: float, step: float = 25.0) -> Circle | None:
    """The heaviest circle among those centred on a square grid of `step` metres (at multiples of
    `step` in metres from the lowest x and y), each counted with a k-d tree; points count within
    exactly `radius`. Tolerance: every centre lies within step/sqrt(2) of a grid node, so

        max over the grid <= true optimum <= max over the grid at radius r + step/sqrt(2).

    (Against the total of :func:`worst_circles`, which counts 1 mm beyond the rim, widen to
    r + step/sqrt(2) + EPSILON_M.)

    >>> grid_search_worst_circle([0, 300, 600], [0, 0, 0], [1, 2, 3], radius=200).total
    5.0
    """
    radius = _check_radius(radius)
    if not math.isfinite(step) or step <= 0:
        raise ValueError(f"step must be a positive number of metres, not {step!r}")
    pts = _prepare(x, y, weight)
    if not pts.w.size:
        return None
    # only the nodes within r of some point can hold anything: those around the points' cells
    cells = np.unique(np.floor(np.column_stack([pts.x, pts.y]) / step).astype(np.int64), axis=0)
    k = math.ceil(radius / step)
    ox, oy = np.meshgrid(np.arange(-k, k + 2), np.arange(-k, k + 2))
    offsets = np.column_stack([ox.ravel(), oy.ravel()])
    nodes = np.unique((cells[:, None, :] + offsets[None, :, :]).reshape(-1, 2), axis=0) * step
    pairs = cKDTree(nodes).sparse_distance_matrix(
        cKDTree(np.column_stack([pts.x, pts.y])), radius, output_type="ndarray")
    totals = np.bincount(pairs["i"], weights=pts.w[pairs["j"]], minlength=len(nodes))
    best = int(np.argmax(totals))
    return _circle(pts, nodes[best, 0], nodes[best, 1], radius, pairs["j"][pairs["i"] == best])
