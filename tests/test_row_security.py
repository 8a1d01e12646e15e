"""Row-level security in PostgreSQL itself: the web role sees only its organisation's rows."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from geo import store

# table -> how its rows reach a project (as the owner sees them)
PROTECTED = {
    "project": "SELECT id, id AS project_id FROM project",
    "policy": "SELECT id, project_id FROM policy",
    "policy_share": "SELECT s.policy_id * 100000 + s.insurer_id, po.project_id FROM policy_share s JOIN policy po ON po.id = s.policy_id",
    "reinsurance_share": "SELECT r.policy_id * 100000 + r.reinsurer_id, po.project_id FROM reinsurance_share r JOIN policy po ON po.id = r.policy_id",
    "coverage_section": "SELECT cs.id, po.project_id FROM coverage_section cs JOIN policy po ON po.id = cs.policy_id",
    "inspection": "SELECT id, project_id FROM inspection",
    "risk_event": "SELECT id, project_id FROM risk_event",
    "report": "SELECT id, project_id FROM report",
    "claim": "SELECT c.id, po.project_id FROM claim c JOIN policy po ON po.id = c.policy_id",
}
# what each role may see, as the owner computes it
OWN_PROJECTS = {
    "insurer": """SELECT DISTINCT po.project_id FROM policy po
                  JOIN policy_share s ON s.policy_id = po.id WHERE s.insurer_id = :org""",
    "tis": "SELECT DISTINCT project_id FROM policy WHERE tis_id = :org",
    "developer": "SELECT id FROM project WHERE developer_id = :org",
    "contractor": "SELECT id FROM project WHERE contractor_id = :org",
    "supervisor": "SELECT id FROM project WHERE supervisor_id = :org",
}


@pytest.fixture(scope="module")
def web(kunming):
    """The store as the web service reaches it: role riskmap_web."""
    engine = store.make_engine(kunming.url.set(username="riskmap_web"))
    yield engine
    engine.dispose()


def rows_as_owner(kunming, table: str, projects: set[int]) -> set[int]:
    with kunming.connect() as conn:
        return {i for i, p in conn.execute(text(PROTECTED[table])) if p in projects}


def rows_as(web, role: str | None, org: int | None, table: str,
            jurisdiction: str = "530100") -> set[int]:
    """The rows of ``table`` the web role reads for ``role`` (the city's staff: within
    ``jurisdiction``, Kunming by default)."""
    with web.begin() as conn:
        if role:
            conn.execute(text("SELECT set_config('riskmap.role', :r, true), "
                              "set_config('riskmap.org', :o, true), "
                              "set_config('riskmap.jurisdiction', :j, true)"),
                         {"r": role, "o": "" if org is None else str(org), "j": jurisdiction})
        return {i for i, _ in conn.execute(text(PROTECTED[table]))}


def tenants(kunming) -> list[tuple[str, int]]:
    """Two organisations of each kind that holds projects (the busiest ones)."""
    found = []
    with kunming.connect() as conn:
        for role, sql in OWN_PROJECTS.items():
            orgs = conn.execute(text("SELECT id FROM organisation WHERE kind = :k ORDER BY id"),
                                {"k": role}).scalars().all()
            sized = sorted(orgs, key=lambda o: -len(conn.execute(text(sql), {"org": o}).all()))
            found += [(role, org) for org in sized[:2]]
    return found


def test_each_organisation_sees_exactly_its_own_rows_in_every_protected_table(kunming, web):
    for role, org in tenants(kunming):
        with kunming.connect() as conn:
            own = set(conn.execute(text(OWN_PROJECTS[role]), {"org": org}).scalars())
        assert own, (role, org)
        for table in PROTECTED:
            assert rows_as(web, role, org, table) == rows_as_owner(kunming, table, own), \
                (role, org, table)


def test_the_city_sees_everything_and_nobody_else_sees_anything(kunming, web):
    with kunming.connect() as conn:
        every = set(conn.execute(text("SELECT id FROM project")).scalars())
    for table in PROTECTED:
        everything = rows_as_owner(kunming, table, every)
        for role in ("regulator", "planner", "admin"):
            assert rows_as(web, role, None, table) == everything
            assert rows_as(web, role, None, table, "100000") == everything
            # the city's staff without a jurisdiction, or of another city: nothing
            assert rows_as(web, role, None, table, "") == set()
            assert rows_as(web, role, None, table, "421300") == set()
        assert rows_as(web, None, None, table) == set()          # no settings: nothing
        assert rows_as(web, "public", None, table) == set()
        assert rows_as(web, "insurer", None, table) == set()     # a role without its org


def test_the_web_role_cannot_step_around_row_security(kunming, web):
    with kunming.connect() as conn:
        attributes = conn.execute(text("""SELECT rolsuper, rolbypassrls, rolcreaterole
            FROM pg_roles WHERE rolname = 'riskmap_web'""")).one()
        owned = conn.execute(text("""SELECT count(*) FROM pg_tables
            WHERE tableowner = 'riskmap_web'""")).scalar_one()
    assert tuple(attributes) == (False, False, False) and owned == 0
    with web.begin() as conn:
        conn.execute(text("SELECT set_config('riskmap.role', 'insurer', true)"))
        with pytest.raises(Exception, match="permission denied|must be owner"):
            conn.execute(text("ALTER TABLE project DISABLE ROW LEVEL SECURITY"))


def test_only_admins_read_the_audit_log_and_nobody_rewrites_it(kunming, web):
    with kunming.begin() as conn:
        store.record_audit(conn, "test", "login", "t", "{}")
    for role, org in [("admin", None), ("regulator", None), ("public", None),
                      *tenants(kunming)[:1]]:
        with web.begin() as conn:
            conn.execute(text("SELECT set_config('riskmap.role', :r, true), "
                              "set_config('riskmap.org', :o, true), "
                              "set_config('riskmap.jurisdiction', '530100', true)"),
                         {"r": role, "o": "" if org is None else str(org)})
            seen = conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
            assert (seen > 0) == (role == "admin"), role
    with web.begin() as conn:
        conn.execute(text("SELECT set_config('riskmap.role', 'admin', true)"))
        for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log",
                          "UPDATE app_user SET role = 'admin'"):
            with pytest.raises(Exception, match="permission denied"):
                with conn.begin_nested():
                    conn.execute(text(statement))
