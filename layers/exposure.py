"""An insurer's exposure and where, and with whom, it piles up (accumulation).

Exposure of a policy for an insurer: gross = the sum insured; own = gross × the insurer's
share (lead or co-insurer); net = own less the share the policy cedes to reinsurers. The
market's view (no insurer) has own = gross. Accumulations add the exposure of the live
policies by district, by grid cell of the local CGCS2000 Gauss-Krüger zone, within the worst
circles (`layers.circles`), and by party: developer, contractor, supervisor, TIS and year of
completion, because defects pile up by who built a building as much as by where it stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo.coords import metric_crs
from geo.jurisdiction import area_params
from layers.circles import worst_circles
from layers.sql import read_sql

BASES = {"gross": "总保额", "own": "自留额（按共保份额）", "net": "净自留额（扣除再保）"}
MONEY = ("gross_yuan", "own_yuan", "net_yuan")
PARTIES = {"developer": "建设单位", "contractor": "施工单位", "supervisor": "监理单位",
           "tis": "风险管理机构", "completion_year": "竣工年份"}
WAN = 10_000


class ExposureError(ValueError):
    """A request the user can correct (a basis, a radius or a cell size out of range)."""


@dataclass(frozen=True)
class Choice:
    """What the reader asked for: whose exposure, on which basis, with which yardsticks."""
    insurer: int | None = None       # None: the whole market
    basis: str = "net"
    radius_m: int = 200
    cell_m: int = 1000
    top: int = 10
    district: str | None = None

    def __post_init__(self):
        if self.basis not in BASES:
            raise ExposureError(f"口径有误：应为总额、自留额或净自留额。"
                                f"basis={self.basis!r}: one of {', '.join(BASES)}")
        if not 25 <= self.radius_m <= 5000:
            raise ExposureError(f"半径 {self.radius_m} 米有误：应在 25–5000 米之间。"
                                f"radius={self.radius_m}: between 25 and 5000 metres")
        if not 100 <= self.cell_m <= 10000:
            raise ExposureError(f"网格大小 {self.cell_m} 米有误：应在 100–10000 米之间。"
                                f"cell={self.cell_m}: between 100 and 10000 metres")
        if not 1 <= self.top <= 50:
            raise ExposureError(f"top={self.top}: between 1 and 50 circles")


def policy_exposures(conn: Connection, city: str, choice: Choice) -> pd.DataFrame:
    """Every live policy in the reader's sight with its gross, own and net exposure."""
    rows = conn.execute(text(read_sql("exposure.sql")),
                        {**area_params(city), "insurer": choice.insurer,
                         "district": choice.district,
                         **dict.fromkeys(("west", "south", "east", "north"))})
    # plain tuples: pandas probes each SQLAlchemy Row for attributes (a second at 200,000)
    frame = pd.DataFrame([tuple(row) for row in rows], columns=list(rows.keys()))
    for column in (*MONEY, "share", "ceded", "lon", "lat"):
        frame[column] = frame[column].astype(float)
    return frame


def project_exposures(policies: pd.DataFrame) -> pd.DataFrame:
    """One row per project: its policies' exposure added up."""
    attributes = ["permit_no", "name", "district_code", "district", "lon", "lat", "developer",
                  "contractor", "supervisor", "completion_year"]
    grouped = policies.groupby("project_id", sort=True)
    frame = grouped[attributes].first().join(grouped[list(MONEY)].sum())
    frame["policies"] = grouped.size()
    return frame.reset_index()


def local_metres(lon, lat, epsg: int | str | None = None
                 ) -> tuple[np.ndarray, np.ndarray, int | str]:
    """Coordinates in metres in the CGCS2000 3-degree Gauss-Krüger zone of the points' centre,
    or for points over many zones (a province's, the nation's portfolio) in an equal-area
    conic for China (`geo.coords.metric_crs`).

    >>> x, y, epsg = local_metres([102.70, 102.71], [25.04, 25.04])
    >>> epsg, round(float(x[1] - x[0]))
    (4543, 1009)
    >>> from geo.coords import CHINA_ALBERS
    >>> x, y, crs = local_metres([87.6, 116.4, 116.41], [43.8, 39.9, 39.9])
    >>> crs == CHINA_ALBERS, round(float(x[2] - x[1]))  # 854 m on the ground at 39.9° N
    (True, 835)
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if epsg is None:
        epsg = metric_crs(lon)
    x, y = _transformer(4326, epsg).transform(lon, lat)
    return np.asarray(x), np.asarray(y), epsg


def _money(sums) -> dict:
    """One group's money on every basis (a row of _sums, yuan) in 万元."""
    return {f"{b}_wan": float(sums[f"{b}_yuan"]) / WAN for b in BASES}


def by_district(projects: pd.DataFrame, basis: str) -> list[dict]:
    """Accumulation by district, largest first, with each district's part of the total."""
    total = float(projects[f"{basis}_yuan"].sum()) or 1.0
    out = []
    totals = _sums(projects.groupby(["district_code", "district"]), projects=("lon", "size"))
    for (code, name), row in totals.iterrows():
        part = 100 * float(row[f"{basis}_yuan"]) / total
        out.append({"code": code.strip(), "name": name, "projects": int(row["projects"]),
                    **_money(row), "share_pct": part})
    return sorted(out, key=lambda r: -r[f"{basis}_wan"])


def by_party(policies: pd.DataFrame, party: str, basis: str, top: int = 20) -> list[dict]:
    """Systemic accumulation: exposure by who built, supervised or inspected, or by the
    year of completion (each policy counts for its own TIS)."""
    frame = policies.assign(party=policies[party].fillna("未登记"))
    totals = _sums(frame.groupby("party"), projects=("project_id", "nunique"))
    out = [{"party": name, "projects": int(row["projects"]), **_money(row)}
           for name, row in totals.iterrows()]
    out.sort(key=lambda r: (-r[f"{basis}_wan"], r["party"]))
    return out[:top]


def _sums(groups, **counted) -> pd.DataFrame:
    """Each group's money on every basis (yuan) and ``counted``, in one pass over the rows
    rather than a pass per group (a city has thousands of cells and parties)."""
    return groups.agg(**counted, **{f"{b}_yuan": (f"{b}_yuan", "sum") for b in BASES})


@cache
def _transformer(source: int | str, target: int | str) -> Transformer:
    # building one costs ~50 ms: once per zone, not once per cell
    return Transformer.from_crs(source, target, always_xy=True)


def cell_ring(i: int, j: int, size: float, epsg: int | str) -> list[list[float]]:
    """The lon/lat ring of grid cell (i, j) of ``size`` metres in zone ``epsg``.

    >>> cell_ring(500, 2770, 1000, 4543)[:2]  # x = 500 km is the zone's central meridian
    [[102.0, 25.035621], [102.009909, 25.03562]]
    """
    back = _transformer(epsg, 4326)
    corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1), (i, j)]
    return [[round(c, 6) for c in back.transform(a * size, b * size)] for a, b in corners]


def by_cell(projects: pd.DataFrame, basis: str, size_m: int) -> list[dict]:
    """Accumulation by square cell of ``size_m`` metres, largest first (empty cells left out)."""
    if projects.empty:
        return []
    x, y, epsg = local_metres(projects["lon"], projects["lat"])
    frame = projects.assign(i=np.floor(x / size_m).astype(int), j=np.floor(y / size_m).astype(int))
    totals = _sums(frame.groupby(["i", "j"]), projects=("lon", "size")).reset_index()
    rings = _cell_rings(totals["i"].to_numpy(), totals["j"].to_numpy(), size_m, epsg)
    out = []
    for row, ring in zip(totals.to_dict("records"), rings, strict=True):
        corners = ring[:4]  # the cell's centre, for exports and labels
        out.append({"i": int(row["i"]), "j": int(row["j"]), "projects": int(row["projects"]),
                    **_money(row), "ring": ring,
                    "lon": round(sum(c[0] for c in corners) / 4, 6),
                    "lat": round(sum(c[1] for c in corners) / 4, 6)})
    return sorted(out, key=lambda r: -r[f"{basis}_wan"])


def _cell_rings(i: np.ndarray, j: np.ndarray, size: float, epsg: int | str
                ) -> list[list[list[float]]]:
    """cell_ring of many cells, transformed in one call.

    >>> _cell_rings(np.array([500]), np.array([2770]), 1000, 4543)[0] == cell_ring(500, 2770,
    ...                                                                            1000, 4543)
    True
    """
    xs = np.stack([i, i + 1, i + 1, i, i], axis=1) * float(size)
    ys = np.stack([j, j, j + 1, j + 1, j], axis=1) * float(size)
    lon, lat = _transformer(epsg, 4326).transform(xs.ravel(), ys.ravel())
    lon, lat = np.round(np.asarray(lon), 6).reshape(xs.shape), np.round(np.asarray(lat), 6)
    lat = lat.reshape(xs.shape)
    return [[[float(a), float(b)] for a, b in zip(lo, la, strict=True)]
            for lo, la in zip(lon, lat, strict=True)]


def circles(projects: pd.DataFrame, basis: str, radius_m: int, top: int) -> list[dict]:
    """The worst circles of ``radius_m`` (disjoint: each project counts in one), with their
    projects."""
    if projects.empty:
        return []
    x, y, epsg = local_metres(projects["lon"], projects["lat"])
    back = _transformer(epsg, 4326)
    out = []
    for rank, circle in enumerate(worst_circles(x, y, projects[f"{basis}_yuan"].to_numpy(),
                                                radius=radius_m, top=top), start=1):
        inside = projects.iloc[list(circle.members)]
        lon, lat = back.transform(circle.x, circle.y)
        out.append({"rank": rank, "lon": round(lon, 6), "lat": round(lat, 6),
                    "radius_m": radius_m, "projects": len(inside),
                    **_money(inside.sum(numeric_only=True)),
                    "members": [{"project_id": int(p.project_id), "permit_no": p.permit_no,
                                 "name": p.name, f"{basis}_wan": getattr(p, f"{basis}_yuan") / WAN}
                                for p in inside.itertuples()]})
    return out

