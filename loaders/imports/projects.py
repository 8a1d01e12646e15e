"""Project files: where each project is, which district it is in, and whether its dates agree."""

from __future__ import annotations

import numpy as np
import shapely

from geo import coords, programme
from loaders.demo import District
from loaders.imports import values
from loaders.imports.columns import PROJECTS
from loaders.imports.kinds import Context, ImportKind
from loaders.imports.pipeline import Checked

GEOGRAPHIC = ("wgs84", "cgcs2000", "gcj02", "bd09")
STAGE_LABELS = programme.PROJECT_STAGES


def _raw_pair(record: dict):
    if record.get("lon") is not None or record.get("lat") is not None:
        return record.get("lon"), record.get("lat"), "lon"
    return record.get("__x"), record.get("__y"), "__x"


def _to_wgs84(checked: Checked, records: list[dict], crs) -> list[tuple[dict, float, float]]:
    """Each record's point in WGS84; bad, missing, swapped or foreign points are row errors."""
    placed = []
    for record in records:
        x, y, column = _raw_pair(record)
        header = record["_headers"].get(column, column)
        try:
            if crs in GEOGRAPHIC:
                pair = values.parse_coordinate_pair(x, y)
            else:  # projected metres: convert first, then check the result is in China
                pair = None if x is None and y is None else coords.transform(
                    float(x), float(y), crs, "wgs84")
                pair = pair and values.parse_coordinate_pair(*pair)
        except (TypeError, ValueError) as exc:
            checked.reject(record, header, f"{x}, {y}", str(exc))
            continue
        if pair is None:
            checked.reject(record, header, "",
                           "缺少坐标（经度、纬度）— the project has no location")
            continue
        placed.append((record, *pair))
    if placed and crs in ("gcj02", "bd09"):
        lon, lat = coords.transform(np.array([p[1] for p in placed]),
                                    np.array([p[2] for p in placed]), crs, "wgs84")
        placed = [(p[0], float(a), float(b)) for p, a, b in zip(placed, lon, lat, strict=True)]
    return placed


def locate(checked: Checked, crs, districts: list[District], city_name: str) -> None:
    """Give each record its WGS84 point and district; a point outside the city is an error,
    a point outside the district the file states is reported."""
    # rows with other errors are placed too, so that one pass reports all of a file's problems
    placed = _to_wgs84(checked, checked.records, crs)
    if not placed:
        return
    lon = np.array([p[1] for p in placed])
    lat = np.array([p[2] for p in placed])
    found = np.full(len(placed), None, dtype=object)
    for district in districts:
        shapely.prepare(district.boundary)
        inside = shapely.contains_xy(district.boundary, lon, lat)
        found[inside & (found == None)] = district.code  # noqa: E711 - numpy elementwise
    names = {d.code: d.name for d in districts}
    for (record, x, y), code in zip(placed, found, strict=True):
        _assign(checked, record, x, y, code, names, city_name)


def _assign(checked, record, x, y, code, names, city_name) -> None:
    header = record["_headers"].get("lon", "经度")
    if code is None:
        checked.reject(record, header, f"{x:.6f}, {y:.6f}",
                       f"坐标不在{city_name}范围内 — the point is outside the city")
        return
    stated = record.get("district")
    if stated is not None and stated != code:
        checked.warn(record, record["_headers"].get("district", "所在区县"), names[stated],
                     f"坐标落在{names[code]}，与所填区县{names[stated]}不符 — "
                     "the point lies outside its stated district (the stated one is kept)")
    record["district"] = stated or code
    record["lon"], record["lat"] = round(x, 7), round(y, 7)


def check_dates(checked: Checked) -> None:
    """Stages and dates must agree, as the store requires (and the programme's cover needs)."""
    for record in checked.records:
        start, done, delivered = (record.get("start_date"), record.get("completion_date"),
                                  record.get("delivery_date"))
        stage, headers = record.get("stage"), record["_headers"]
        if done and start and done < start:
            checked.reject(record, headers.get("completion_date", "竣工验收日期"), done,
                           "竣工验收日期早于开工日期 — completion before start")
        elif delivered and (not done or delivered < done):
            checked.reject(record, headers.get("delivery_date", "交付日期"), delivered,
                           "交付日期须晚于竣工验收日期 — delivery needs a later completion date")
        elif stage in ("completed", "delivered") and not done:
            checked.reject(record, headers.get("stage", "项目阶段"), STAGE_LABELS.get(stage),
                           "已竣工或已交付的项目须填竣工验收日期 — completion date missing")
        elif stage not in ("completed", "delivered") and done:
            checked.reject(record, headers.get("stage", "项目阶段"), STAGE_LABELS.get(stage),
                           "填了竣工验收日期，项目阶段应为竣工验收或已交付")
        elif (stage == "delivered") != (delivered is not None):
            checked.reject(record, headers.get("stage", "项目阶段"), STAGE_LABELS.get(stage),
                           "已交付的项目须填交付日期，未交付的不应填 — "
                           "stage and delivery date disagree")


# each party column names an organisation of the kind with the same code
PARTY_KINDS = ("developer", "contractor", "supervisor", "designer", "surveyor")


def check_party_kinds(checked: Checked, context: Context) -> None:
    """A party named in the file must not already be in the store as another kind."""
    known = context.organisation_kinds(r.get(c) for r in checked.records for c in PARTY_KINDS)
    for record in checked.valid_records():
        for kind in PARTY_KINDS:
            name = record.get(kind)
            if name in known and known[name] != kind:
                was, wanted = (programme.ORGANISATION_KINDS[k] for k in (known[name], kind))
                checked.reject(record, record["_headers"][kind], name,
                               f"该单位在库中登记为「{was}」，不能作为{wanted} — "
                               "the organisation is registered as another kind")


def check_developer_codes(checked: Checked, context: Context) -> None:
    """A unified social credit code belongs to one organisation, in the file and in the store."""
    owners = context.lookup("SELECT uscc, name FROM organisation WHERE uscc = ANY(:n)",
                            (r.get("developer_uscc") for r in checked.records))
    for record in checked.valid_records():
        code, name = record.get("developer_uscc"), record.get("developer")
        if code and owners.setdefault(code, name) != name:
            checked.reject(record, record["_headers"]["developer_uscc"], code,
                           f"该统一社会信用代码已属于「{owners[code]}」 — "
                           "this code already belongs to another organisation")


def check(checked: Checked, context: Context) -> None:
    locate(checked, context.crs, context.districts, context.city_name)
    check_dates(checked)
    check_party_kinds(checked, context)
    check_developer_codes(checked, context)


IMPORT_KIND = ImportKind(
    name="projects", title="项目", columns=PROJECTS, key="permit_no",
    stage_sql="stage_projects.sql", stage_table="stage_project",
    upsert_sqls=("upsert_project_parties.sql", "upsert_projects.sql"), check=check,
    located=True, current_sql="current_projects.sql")
