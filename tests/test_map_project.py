"""map_project, the projects on the map kept current by the writes (geo/sql/0010_map_project.sql):
after any mix of writes it equals what reading the programme gives, and a regulator's tiles
drawn from it equal the tiles drawn through the scope."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from test_tiles import centre_tile, decode, tile_of

from conftest import as_web
from geo import tile_grid
from geo.tenancy import Tenant, set_tenant
from layers import districts, tiles
from layers.filters import Filters

# the rows map_project must hold, read from the programme itself
EXPECTED = """
SELECT p.id, p.district_code, p.stage,
       ST_AsText(ST_SnapToGrid(ST_Transform(p.location, 3857), 0.01)) AS geom,
       p.gross_floor_area_m2,
       (SELECT count(*) FROM risk_event e WHERE e.project_id = p.id
          AND e.status <> 'closed') AS open_risk_events,
       (SELECT count(*) FROM claim c JOIN policy po ON po.id = c.policy_id
          WHERE po.project_id = p.id AND po.status NOT IN ('returned', 'cancelled')) AS claims,
       (SELECT g.grade FROM project_grade g WHERE g.project_id = p.id
          ORDER BY g.id DESC LIMIT 1) AS grade,
       p.name, p.permit_no, p.community,
       (SELECT string_agg(o.name, '、' ORDER BY s.is_lead DESC, s.share DESC, o.name)
        FROM (SELECT ps.insurer_id, bool_or(ps.is_lead) AS is_lead, max(ps.share) AS share
              FROM policy po JOIN policy_share ps ON ps.policy_id = po.id
              WHERE po.project_id = p.id AND po.status NOT IN ('returned', 'cancelled')
              GROUP BY ps.insurer_id) s
        JOIN organisation o ON o.id = s.insurer_id) AS insurers
FROM project p
WHERE p.id IN (SELECT project_id FROM policy WHERE status NOT IN ('returned', 'cancelled'))
ORDER BY p.id"""
HELD = """
SELECT project_id, district_code, stage, ST_AsText(ST_SnapToGrid(geom, 0.01)),
       gross_floor_area_m2, open_risk_events, claims, grade, name, permit_no, community,
       insurers
FROM map_project ORDER BY project_id"""

# one write each, on the n-th row of its kind (modulo how many there are)
WRITES = {
    "a risk event found": """
        INSERT INTO risk_event (event_no, project_id, category, severity, status, found_on)
        SELECT 'T-' || gen_random_uuid(), p.id, (SELECT min(code) FROM risk_category),
               'severe', 'open', DATE '2024-06-01'
        FROM project p ORDER BY p.id OFFSET :n % (SELECT count(*) FROM project) LIMIT 1""",
    "a risk event closed": """
        UPDATE risk_event SET status = 'closed', closed_on = found_on
        WHERE id = (SELECT id FROM risk_event WHERE status <> 'closed' ORDER BY id
                    OFFSET :n % GREATEST(1, (SELECT count(*) FROM risk_event
                                             WHERE status <> 'closed')) LIMIT 1)""",
    "a risk event deleted": """
        DELETE FROM risk_event WHERE id = (SELECT id FROM risk_event ORDER BY id
            OFFSET :n % (SELECT count(*) FROM risk_event) LIMIT 1)""",
    "a policy cancelled": """
        UPDATE policy SET status = 'cancelled' WHERE id = (SELECT id FROM policy ORDER BY id
            OFFSET :n % (SELECT count(*) FROM policy) LIMIT 1)""",
    "a claim withdrawn": """
        DELETE FROM claim WHERE id = (SELECT id FROM claim c WHERE NOT EXISTS (
            SELECT 1 FROM claim r WHERE r.reopens_claim_id = c.id) ORDER BY id
            OFFSET :n % (SELECT count(*) FROM claim) LIMIT 1)""",
    "a project graded": """
        INSERT INTO project_grade (project_id, grade, score, inputs)
        SELECT p.id, (ARRAY['A', 'B', 'C', 'D'])[1 + :n % 4], 50, '{}'
        FROM project p ORDER BY p.id OFFSET :n % (SELECT count(*) FROM project) LIMIT 1""",
    "a project moved": """
        UPDATE project SET location = ST_Translate(location, 0.002, -0.001)
        WHERE id = (SELECT id FROM project ORDER BY id
                    OFFSET :n % (SELECT count(*) FROM project) LIMIT 1)""",
    "a premium corrected": """
        UPDATE policy SET premium_yuan = round(premium_yuan * 0.9, 2)
        WHERE id = (SELECT id FROM policy ORDER BY id
                    OFFSET :n % (SELECT count(*) FROM policy) LIMIT 1)""",
    "a project's floor area corrected": """
        UPDATE project SET gross_floor_area_m2 = gross_floor_area_m2 + 100
        WHERE id = (SELECT id FROM project ORDER BY id
                    OFFSET :n % (SELECT count(*) FROM project) LIMIT 1)""",
    "a risk event's date corrected": """
        UPDATE risk_event SET found_on = found_on - 40
        WHERE id = (SELECT id FROM risk_event ORDER BY id
                    OFFSET :n % (SELECT count(*) FROM risk_event) LIMIT 1)""",
    "a policy's issue date corrected": """
        UPDATE policy SET issue_date = issue_date - 1
        WHERE id = (SELECT id FROM policy ORDER BY id
                    OFFSET :n % (SELECT count(*) FROM policy) LIMIT 1)""",
    "a project renamed": """
        UPDATE project SET name = name || '（二期）', community = NULL
        WHERE id = (SELECT id FROM project ORDER BY id
                    OFFSET :n % (SELECT count(*) FROM project) LIMIT 1)""",
    "an insurer renamed": """
        UPDATE organisation SET name = name || '（更名）'
        WHERE id = (SELECT insurer_id FROM policy_share GROUP BY 1 ORDER BY 1
                    OFFSET :n % (SELECT count(DISTINCT insurer_id) FROM policy_share) LIMIT 1)""",
    "a co-insurer's share taken": """
        INSERT INTO policy_share (policy_id, insurer_id, is_lead, share)
        SELECT po.id, o.id, false, 0.0001 FROM policy po, organisation o
        WHERE o.kind = 'insurer' AND po.status NOT IN ('returned', 'cancelled')
          AND NOT EXISTS (SELECT 1 FROM policy_share s
                          WHERE s.policy_id = po.id AND s.insurer_id = o.id)
        -- a policy of one insurer first: its point then names two
        ORDER BY (SELECT count(*) FROM policy_share s WHERE s.policy_id = po.id), po.id, o.id
        OFFSET :n % 50 LIMIT 1""",
    "a share given up": """
        DELETE FROM policy_share WHERE (policy_id, insurer_id) = (
            SELECT policy_id, insurer_id FROM policy_share ORDER BY 1, 2
            OFFSET :n % (SELECT count(*) FROM policy_share) LIMIT 1)""",
    "every open event of a district closed": """
        UPDATE risk_event e SET status = 'closed', closed_on = e.found_on FROM project p
        WHERE p.id = e.project_id AND e.status <> 'closed'
          AND p.district_code = (SELECT code FROM district WHERE city_code = '530100'
                                 ORDER BY code OFFSET :n % 14 LIMIT 1)""",
}

_WRITES = st.lists(st.tuples(st.sampled_from(sorted(WRITES)), st.integers(0, 10_000)),
                   min_size=1, max_size=6)


def features(tile: bytes) -> dict:
    """Each layer's features as sorted (geometry, properties), comparable across builds."""
    out = {}
    for name, layer in decode(tile).items():
        out[name] = sorted((repr(f["geometry"]), repr(sorted(f["properties"].items())))
                           for f in layer["features"])
    return out


def regulator_and_scope_tiles(conn, tile: str) -> tuple[dict, dict]:
    z, x, y = map(int, tile.split("/"))
    scoped = tiles.project_tile(conn, z, x, y, Filters())  # as the owner: through the scope
    with as_web(conn, Tenant("regulator")):
        assert conn.execute(text("SELECT riskmap_sees_all()")).scalar_one()
        fast = tiles.project_tile(conn, z, x, y, Filters())
    return features(fast), features(scoped)


def test_the_demo_leaves_map_project_equal_to_the_programme(kunming):
    with kunming.connect() as conn:
        held = conn.execute(text(HELD)).all()
        assert held == conn.execute(text(EXPECTED)).all()
    assert len(held) > 250


def test_rebuilding_the_whole_programme_gives_each_projects_own_rows(rollback):
    """The bulk rebuild (after the demo's load, triggers off) writes the rows the per-write
    refresh writes for every project, in map_project and district_day alike, after writes
    that leave closed events, claims, grades and a cancelled policy behind."""
    conn = rollback
    for name in sorted(WRITES):
        conn.execute(text(WRITES[name]), {"n": 7})
    kept = ("SELECT * FROM map_project ORDER BY project_id",
            "SELECT * FROM district_day ORDER BY district_code, day",
            "SELECT * FROM district_month ORDER BY district_code, month",
            "SELECT * FROM district_year ORDER BY district_code, year")
    conn.execute(text("SELECT riskmap_rebuild_map_projects()"))
    rebuilt = [conn.execute(text(q)).all() for q in kept]
    conn.execute(text("TRUNCATE map_project, district_day"))
    conn.execute(text("SELECT riskmap_refresh_map_projects(ARRAY(SELECT id FROM project))"))
    assert rebuilt == [conn.execute(text(q)).all() for q in kept]
    assert len(rebuilt[0]) > 250 and len(rebuilt[1]) > 250 and len(rebuilt[2]) > 100
    # and the months are the days added up
    assert rebuilt[2] == conn.execute(text("""
        SELECT district_code, date_trunc('month', day)::date, sum(premium_yuan),
               sum(sum_insured_yuan), sum(rated_cost_yuan), sum(rated_area_m2),
               sum(risk_events), sum(severe_risk_events), sum(open_risk_events),
               sum(closed_risk_events)
        FROM district_day GROUP BY 1, 2 ORDER BY 1, 2""")).all()
    assert rebuilt[3] == conn.execute(text("""
        SELECT district_code, date_trunc('year', month)::date, sum(premium_yuan),
               sum(sum_insured_yuan), sum(rated_cost_yuan), sum(rated_area_m2),
               sum(risk_events), sum(severe_risk_events), sum(open_risk_events),
               sum(closed_risk_events)
        FROM district_month GROUP BY 1, 2 ORDER BY 1, 2""")).all()


def test_any_mix_of_writes_keeps_map_project_and_the_tiles_exact(rollback):
    conn = rollback

    @settings(max_examples=15, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_WRITES, st.sampled_from([9, 11, 12, 14]))
    def check(writes, z):
        savepoint = conn.begin_nested()
        try:
            for name, n in writes:
                conn.execute(text(WRITES[name]), {"n": n})
            assert conn.execute(text(HELD)).all() == conn.execute(text(EXPECTED)).all(), writes
            lon, lat = conn.execute(text(
                "SELECT ST_X(location), ST_Y(location) FROM project "
                "WHERE id IN (SELECT project_id FROM map_project) ORDER BY id "
                "OFFSET :n % (SELECT count(*) FROM map_project) LIMIT 1"),
                {"n": writes[0][1]}).one()
            x, y = tile_of(lon, lat, z)
            fast, scoped = regulator_and_scope_tiles(conn, f"{z}/{x}/{y}")
            assert fast == scoped and fast, (writes, z)
        finally:
            savepoint.rollback()

    check()


_SHOWN = "SELECT count(*) FROM map_project WHERE "


@pytest.mark.parametrize(("write", "shown"), [
    ("a project renamed", _SHOWN + "name LIKE '%（二期）'"),
    ("an insurer renamed", _SHOWN + "insurers LIKE '%（更名）%'"),
    ("a co-insurer's share taken", _SHOWN + "insurers LIKE '%、%'"),
    ("a share given up", None),
])
def test_the_words_of_a_point_follow_the_writes(rollback, write, shown):
    """What a regulator's tile writes beside a point (0017_map_tile.sql) changes with the
    project, its shares and its insurers' names, in the writing transaction."""
    conn = rollback
    before = shown and conn.execute(text(shown)).scalar_one()
    conn.execute(text(WRITES[write]), {"n": 3})
    assert conn.execute(text(HELD)).all() == conn.execute(text(EXPECTED)).all()
    if shown:
        assert conn.execute(text(shown)).scalar_one() > before


@pytest.mark.parametrize("z", [8, 10, 12, 13, 14])
def test_the_regulators_tiles_are_the_scopes_tiles(kunming, z):
    with kunming.connect() as conn:
        fast, scoped = regulator_and_scope_tiles(conn, centre_tile(z))
    assert fast == scoped
    assert fast, "the centre of Kunming has projects"


@pytest.mark.parametrize("role", ["regulator", "planner", "admin"])
def test_the_kept_words_show_each_staff_role_what_row_security_shows_it(kunming, role):
    """map_project is read as its owner (a security-definer function): the names and insurers
    it keeps must be what the same Kunming staff member reads through row security, where a
    period reaching back to 1900 sends the tile the scoped way."""
    staff = Tenant(role, jurisdiction="530100")
    z, x, y = map(int, centre_tile(12).split("/"))
    with kunming.connect() as conn, as_web(conn, staff):
        fast = features(tiles.project_tile(conn, z, x, y, Filters()))
        scoped = features(tiles.project_tile(conn, z, x, y,
                                             Filters(date_from=dt.date(1900, 1, 1))))
    assert fast == scoped
    assert any("保险" in props for _, props in fast["projects"])  # the insurers named


def test_an_insurer_is_never_drawn_from_map_project(kunming):
    """map_project holds every insurer's projects: another tenant's tile must not come from it,
    even if asked directly."""
    with kunming.connect() as conn:
        insurer = conn.execute(text(
            "SELECT insurer_id FROM policy_share GROUP BY 1 ORDER BY count(*) LIMIT 1")).scalar()
        box = tile_grid.mercator_box(*map(int, centre_tile(8).split("/")), 0)
        in_box = text(
            "SELECT count(*) FROM riskmap_map_projects_in_box(:west, :south, :east, :north)")
        with as_web(conn, Tenant("insurer", insurer)):
            rows = conn.execute(in_box, box).scalar_one()
        with as_web(conn, Tenant("regulator")):
            assert conn.execute(in_box, box).scalar_one() > 100
        readable = conn.execute(text(
            "SELECT has_table_privilege('riskmap_web', 'map_project', 'SELECT')")).scalar_one()
    assert rows == 0
    assert not readable


def test_a_dense_tile_holds_cells_not_points(rollback, monkeypatch):
    """A close tile holding up to MAX_TILE_POINTS projects holds points; one more and it holds
    cells, so that no tile grows past 500 KB however dense the city core; the cells still
    count every project."""
    z, x, y = map(int, centre_tile(14).split("/"))
    set_tenant(rollback, Tenant("regulator"))
    held = rollback.execute(text(
        "SELECT count(*) FROM riskmap_projects_in_box(:west, :south, :east, :north)"),
        tile_grid.tile_box(z, x, y, tiles.BUFFER / tiles.EXTENT + 0.02)).scalar_one()
    assert held > 1
    monkeypatch.setattr(tiles, "MAX_TILE_POINTS", held)
    before = decode(tiles.project_tile(rollback, z, x, y, Filters()))
    assert list(before) == ["projects"]
    monkeypatch.setattr(tiles, "MAX_TILE_POINTS", held - 1)
    after = decode(tiles.project_tile(rollback, z, x, y, Filters()))
    assert list(after) == ["project_clusters"]
    counted = sum(f["properties"]["count"] for f in after["project_clusters"]["features"])
    inside = [f for f in before["projects"]["features"]
              if all(0 <= c < 4096 for c in f["geometry"]["coordinates"])]
    assert counted == len(inside) > 0


# whole months, partial months at either end or both, none whole, open at either end
# (district_month holds the whole months, district_day the rest)
_PERIODS = st.sampled_from([(None, None), ("2022-01-01", "2022-12-31"),
                            ("2023-04-01", "2023-06-30"), ("2024-03-17", "2024-03-17"),
                            ("2019-05-02", None), (None, "2023-08-31"),
                            ("2022-01-15", "2023-02-10"), ("2023-03-02", "2023-03-30"),
                            ("2022-12-31", "2023-01-01"), ("2023-05-01", "2023-07-14"),
                            (None, "2023-08-30"), ("2021-02-01", None),
                            ("2021-01-01", "2023-12-31"), ("2020-11-20", "2023-02-03"),
                            ("2020-12-01", "2022-01-31"), ("2022-03-01", None)])
_PARTS = st.sampled_from([frozenset({"written"}), frozenset({"risk"}),
                          frozenset({"written", "risk"})])


def test_district_layers_from_district_day_equal_the_scope_after_any_writes(rollback):
    """The regulator's district layers come from district_day and district_month: after any
    mix of writes, in the writing transaction itself, every district's figures equal the
    on-the-fly aggregate for any period and district filter."""
    conn = rollback
    codes = conn.execute(text(
        "SELECT code FROM district WHERE city_code = '530100' ORDER BY code")).scalars().all()

    @settings(max_examples=40, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.tuples(st.sampled_from(sorted(WRITES)), st.integers(0, 10_000)),
                    max_size=5), _PERIODS, st.sampled_from([None, *codes[:3]]), _PARTS)
    def check(writes, period, district, parts):
        savepoint = conn.begin_nested()
        try:
            for name, n in writes:
                conn.execute(text(WRITES[name]), {"n": n})
            filters = Filters(date_from=period[0] and dt.date.fromisoformat(period[0]),
                              date_to=period[1] and dt.date.fromisoformat(period[1]),
                              district=district)
            scoped = districts.district_metrics(conn, "530100", filters, parts=parts)
            with as_web(conn, Tenant("regulator")):
                daily = districts.district_metrics(conn, "530100", filters, parts=parts)
                sql = districts._metrics_sql(False, parts, daily=True)
            assert "riskmap_district_days" in sql
            assert daily == scoped, (writes, period, district, parts)
            assert any(row["premium_yuan"] or row["risk_events"] for row in daily) or period[0]
        finally:
            savepoint.rollback()

    check()
