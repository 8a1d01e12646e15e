"""Worst circles of a portfolio: the exact method on 100,000 projects, and beside the others.

    .venv/bin/python bench/bench_circles.py [--points 100000] [--radius 200] [--top 10]
                                            [--sample 400] [--seed 7]

Makes a synthetic city-like portfolio in Gauss-Krüger metres (a 40 km x 40 km area around
Kunming's zone coordinates: projects clustered around ~200 centres, a few dense cores where
hundreds of projects sit within 200 m, log-normal sums insured of 1e7-1e9 yuan), times
`worst_circles` for the top circles on all of it, with its peak memory, then compares the exact
method, the O(n^3) brute force and the 25 m grid search on samples: a random one (2 km apart
on average, mostly alone in their circles), and one from within 1 km of the worst circle (many
candidate centres, each holding many projects: where the brute force works hardest).
No database is needed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import scipy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from layers.circles import (  # noqa: E402
    EPSILON_M,
    brute_force_worst_circle,
    grid_search_worst_circle,
    worst_circles,
)

AREA_M = 40_000.0
ORIGIN = (480_000.0, 2_760_000.0)  # about Kunming in CGCS2000 3-degree zone 34, false easting
CENTRES = 200
DENSE_CORES = 5
GRID_STEP_M = 25.0
AROUND_M = 1000.0  # the dense sample: where many candidates hold many projects


def machine() -> str:
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info
                    if line.startswith("model name")), cpu)
    # nproc counts the CPUs this process may use, not the host's
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"nproc {nproc}, {cpu}, Python {platform.python_version()}, "
            f"numpy {np.__version__}, scipy {scipy.__version__}")


def portfolio(points: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Projects around clustered centres, a few of them dense cores, with sums insured."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, AREA_M, (CENTRES, 2))
    size = rng.lognormal(0, 1, CENTRES)
    size[:DENSE_CORES] = 0
    which = rng.choice(CENTRES, size=points, p=size / size.sum())
    # a few city-centre cores, 1.5% of the projects each: several hundred within 200 m
    core = rng.random(points) < 0.015 * DENSE_CORES
    which[core] = rng.integers(0, DENSE_CORES, core.sum())
    counts = np.bincount(which, minlength=CENTRES)
    # estates spread with their size, so that an ordinary cluster holds a few dozen per 200 m
    spread = np.clip(np.sqrt(counts) * 25.0, 300, 3000)
    spread[:DENSE_CORES] = rng.uniform(150, 250, DENSE_CORES)
    xy = centres[which] + rng.normal(size=(points, 2)) * spread[which, None]
    scattered = rng.random(points) < 0.05  # and some anywhere
    xy[scattered] = rng.uniform(0, AREA_M, (scattered.sum(), 2))
    xy = np.clip(xy, 0, AREA_M)
    # sums insured: median ~1e8 yuan, mostly between 1e7 and 1e9
    weight = np.clip(rng.lognormal(np.log(1e8), 0.7, points), 1e7, 1e9).round(-2)
    return xy[:, 0] + ORIGIN[0], xy[:, 1] + ORIGIN[1], weight


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def full_run(x, y, w, radius: float, top: int) -> list:
    circles, seconds = timed(worst_circles, x, y, w, radius=radius, top=top)
    # again under tracemalloc (which slows it), for the peak of what the call itself allocates
    tracemalloc.start()
    worst_circles(x, y, w, radius=radius, top=top)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    within = int(np.count_nonzero(np.hypot(x - circles[0].x, y - circles[0].y) <= 2 * radius))
    print(f"\nworst_circles, {x.size:,} projects, radius {radius:g} m, top {top}: "
          f"{seconds:.2f} s; peak memory of the call {peak / 2**20:.1f} MiB (tracemalloc), "
          f"process peak RSS {rss:.0f} MiB")
    print(f"  (the worst circle's 2r neighbourhood holds {within:,} projects)")
    print(f"  {'#':>3} {'total, yuan':>18} {'projects':>9} {'x':>12} {'y':>13}")
    for k, circle in enumerate(circles, 1):
        print(f"  {k:>3} {circle.total:>18,.0f} {len(circle.members):>9} "
              f"{circle.x:>12.1f} {circle.y:>13.1f}")
    return circles


def compare(label: str, x, y, w, radius: float) -> bool:
    exact, t_exact = timed(worst_circles, x, y, w, radius=radius, top=1)
    brute, t_brute = timed(brute_force_worst_circle, x, y, w, radius)
    grid, t_grid = timed(grid_search_worst_circle, x, y, w, radius, step=GRID_STEP_M)
    same = abs(exact[0].total - brute.total) <= 1e-9 * brute.total
    print(f"\n{label}: {x.size} projects, radius {radius:g} m")
    print(f"  {'method':<22} {'seconds':>9} {'total, yuan':>18} {'projects':>9}")
    rows = [("exact (worst_circles)", t_exact, exact[0]), ("brute force O(n^3)", t_brute, brute),
            (f"grid search {GRID_STEP_M:g} m", t_grid, grid)]
    for name, seconds, circle in rows:
        print(f"  {name:<22} {seconds:>9.3f} {circle.total:>18,.0f} {len(circle.members):>9}")
    print(f"  exact == brute force: {'yes' if same else 'NO'} (tolerance {EPSILON_M * 1000:g} mm); "
          f"grid / exact = {grid.total / exact[0].total:.4f} (the grid only bounds from below)")
    return same


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--radius", type=float, default=200.0)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--sample", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(machine())
    x, y, w = portfolio(args.points, args.seed)
    print(f"portfolio: {x.size:,} projects over {AREA_M / 1000:g} km x {AREA_M / 1000:g} km, "
          f"{CENTRES} clusters ({DENSE_CORES} dense cores), total {w.sum():,.0f} yuan, "
          f"seed {args.seed}")
    circles = full_run(x, y, w, args.radius, args.top)
    rng = np.random.default_rng(args.seed + 1)
    pick = rng.choice(x.size, size=min(args.sample, x.size), replace=False)
    ok = compare("random sample", x[pick], y[pick], w[pick], args.radius)
    around = np.flatnonzero(np.hypot(x - circles[0].x, y - circles[0].y) <= AROUND_M)
    pick = rng.choice(around, size=min(args.sample, around.size), replace=False)
    ok &= compare(f"random sample within {AROUND_M / 1000:g} km of the worst circle",
                  x[pick], y[pick], w[pick], args.radius)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
