"""The demo programme: believable, inside its districts, by the programme's rules, repeatable."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from loaders import demo, demo_load, districts


def _scalar(engine: Engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_every_project_lies_inside_its_district(kunming):
    assert _scalar(kunming, "SELECT count(*) FROM project") == 300
    outside = _scalar(kunming, """
        SELECT count(*) FROM project p JOIN district d ON d.code = p.district_code
        WHERE NOT ST_Covers(d.boundary, p.location)""")
    assert outside == 0


def test_projects_are_denser_in_urban_districts(kunming):
    density = dict(_rows(kunming, """
        SELECT d.name LIKE '%区', count(p.id) / sum(DISTINCT ST_Area(d.boundary::geography)) * 1e6
        FROM district d LEFT JOIN project p ON p.district_code = d.code GROUP BY 1"""))
    assert density[True] > 2 * density[False]


def test_every_policy_shares_sum_to_100_percent(kunming):
    bad = _scalar(kunming, """
        SELECT count(*) FROM (SELECT policy_id FROM policy_share GROUP BY policy_id
                              HAVING sum(share) <> 1) s""")
    assert bad == 0
    co_insured = _scalar(kunming, """
        SELECT count(*) FROM (SELECT policy_id FROM policy_share GROUP BY policy_id
                              HAVING count(*) > 1) s""")
    assert co_insured > 50


def test_coverage_follows_completion_acceptance(kunming):
    """Structure 10 years, insulation and waterproofing 5, from 2 years after completion."""
    rows = _rows(kunming, """
        SELECT cs.section, cs.starts_on, cs.ends_on, p.completion_date
        FROM coverage_section cs JOIN policy po ON po.id = cs.policy_id
        JOIN project p ON p.id = po.project_id
        WHERE cs.section IN ('structure', 'insulation_waterproofing')""")
    years = {"structure": 10, "insulation_waterproofing": 5}
    dated = [r for r in rows if r.completion_date]
    assert len(dated) > 200
    for section, start, end, completion in dated:
        assert start.year == completion.year + 2 and end.year == start.year + years[section]
        if (completion.month, completion.day) != (2, 29):
            assert (start.month, start.day) == (end.month, end.day) == (
                completion.month, completion.day)
    assert all(r.starts_on is None for r in rows if not r.completion_date)


def test_values_are_believable(kunming):
    cost = _scalar(kunming, """SELECT json_build_array(min(construction_cost_yuan /
        gross_floor_area_m2), max(construction_cost_yuan / gross_floor_area_m2)) FROM project""")
    assert 2000 <= cost[0] and cost[1] <= 4500
    rates = _scalar(kunming, "SELECT json_build_array(min(rate), max(rate)) FROM policy")
    assert 0.010 <= rates[0] and rates[1] <= 0.025
    kinds = dict(_rows(kunming, "SELECT kind, count(*) FROM organisation GROUP BY kind"))
    assert 5 <= kinds["insurer"] <= 8 and 3 <= kinds["tis"] <= 5 and kinds["reinsurer"] >= 2
    names = [n for (n,) in _rows(kunming, "SELECT name FROM project UNION ALL "
                                          "SELECT name FROM organisation")]
    assert all(re.search(r"[\u4e00-\u9fff]{2}", n) for n in names)


def _rows(engine: Engine, sql: str) -> list:
    with engine.connect() as conn:
        return conn.execute(text(sql)).all()


def test_claims_sometimes_meet_and_sometimes_break_the_deadlines(kunming):
    counts = dict(_rows(kunming, """
        SELECT surveyed_on - reported_on > 2, count(*) FROM claim
        WHERE surveyed_on IS NOT NULL GROUP BY 1"""))
    assert counts[False] > 5 * counts[True] > 0
    late_decisions = _scalar(kunming, """SELECT count(*) FROM claim
        WHERE decided_on - reported_on > CASE WHEN is_complex THEN 30 ELSE 7 END""")
    late_repairs = _scalar(kunming, "SELECT count(*) FROM claim WHERE settled_on - agreed_on > 7")
    assert late_decisions > 0 and late_repairs > 0
    kinds = dict(_rows(kunming, "SELECT severity, count(*) FROM risk_event GROUP BY 1"))
    assert set(kinds) == {"minor", "major", "severe"}
    statuses = dict(_rows(kunming, "SELECT status, count(*) FROM risk_event GROUP BY 1"))
    assert set(statuses) == {"open", "rectifying", "closed"}


# Row stamps (created_at, updated_at) record when, not what, and a building's public reference
# is random by design (it must not be guessable), so they stay out of the digest.
DIGEST = """SELECT md5(string_agg(r::text, '|' ORDER BY r::text))
            FROM (SELECT to_jsonb(t) - 'created_at' - 'updated_at' - 'public_ref' AS r
                  FROM {table} t) s"""


def _digests(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {t: conn.execute(text(DIGEST.format(table=t))).scalar_one()
                for t in demo_load.PROGRAMME_TABLES}


def test_same_seed_gives_the_same_data(kunming, make_database):
    again = make_database()
    with again.begin() as conn:
        districts.load_districts(conn, districts.district_records(city="530100"))
        demo_load.run_demo(conn, demo.DemoOptions(city="530100"))
    assert _digests(again) == _digests(kunming)
    with again.begin() as conn:
        demo_load.run_demo(conn, demo.DemoOptions(city="530100", seed=7))
    assert _digests(again)["project"] != _digests(kunming)["project"]


def test_suizhou_demo_works_too(make_database):
    engine = make_database()
    with engine.begin() as conn:
        districts.load_districts(conn, districts.district_records(city="421300"))
        counts = demo_load.run_demo(conn, demo.DemoOptions(city="421300"))
    assert counts["project"] == 300 and counts["claim"] > 0
    outside = _scalar(engine, """SELECT count(*) FROM project p
        JOIN district d ON d.code = p.district_code WHERE NOT ST_Covers(d.boundary, p.location)""")
    assert outside == 0
    assert _scalar(engine, "SELECT count(DISTINCT district_code) FROM project") == 3


def test_owner_keys_are_those_the_trigger_makes(kunming):
    """The demo writes without row triggers and fills the owners' lookup keys set-wise."""
    # as sets: the order of the keys is the plan's, and && (their only use) ignores it
    keys = """SELECT md5(string_agg(id || ':' || ARRAY(SELECT k FROM unnest(owner_keys) k
                                                      ORDER BY k)::text, '|' ORDER BY id))
              FROM project"""
    with kunming.connect() as conn:
        written = conn.execute(text(keys)).scalar_one()
        conn.execute(text("UPDATE project SET name = name"))  # the trigger recomputes them
        assert conn.execute(text(keys)).scalar_one() == written
        assert conn.execute(text("SELECT count(*) FROM project WHERE owner_keys = '{}'")
                            ).scalar_one() == 0
        conn.rollback()


def test_the_triggers_are_back_on_after_the_demo(kunming):
    with kunming.connect() as conn:
        off = conn.execute(text("""
            SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'
              AND tgrelid::regclass::text = ANY(:tables)"""),
            {"tables": list(demo_load.PROGRAMME_TABLES)}).scalar_one()
        version = conn.execute(text("SELECT version FROM data_version")).scalar_one()
        # a party of the wrong kind is still refused
        developer = conn.execute(text("SELECT id FROM organisation WHERE kind = 'developer' "
                                      "LIMIT 1")).scalar_one()
        with pytest.raises(DBAPIError, match="insurer"):
            conn.execute(text("UPDATE policy SET lead_insurer_id = :d WHERE id = 1"),
                         {"d": developer})
        conn.rollback()
    assert off == 0 and version > 1


def test_the_bulk_writes_keys_are_checked_once_and_checked_again_after(kunming):
    """The demo writes without the per-row key checks where it may, then checks every foreign
    key at once: a row pointing nowhere stops it, naming the table; and afterwards the
    per-row checks are on again."""
    with kunming.connect() as conn:
        demo_load.check_foreign_keys(conn, demo_load.PROGRAMME_TABLES)  # the demo's own rows
        assert conn.execute(text("SHOW session_replication_role")).scalar_one() == "origin"
        with pytest.raises(DBAPIError, match="foreign key"):
            with conn.begin_nested():
                conn.execute(text("UPDATE policy_share SET policy_id = 99999999 WHERE "
                                  "policy_id = 1"))
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("UPDATE policy_share SET policy_id = 99999999 WHERE policy_id = 1"))
        conn.execute(text("SET LOCAL session_replication_role = origin"))
        with pytest.raises(demo_load.BrokenKey, match="policy_share point at no policy"):
            demo_load.check_foreign_keys(conn, demo_load.PROGRAMME_TABLES)
        conn.rollback()
