"""One store, many cities: the city's staff see their jurisdiction's programme only — a
district, a city, a province or the nation — while an insurer sees its own business in
every city. Checked as the web role in PostgreSQL itself, and through the service."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from test_row_security import PROTECTED
from test_tiles import tile_of

from conftest import as_web
from geo.tenancy import NATION, Tenant, set_tenant
from layers import districts, tiles
from layers.filters import Filters
from webmap import accounts, create_app, sessions

KUNMING, QUJING, SUIZHOU, YUNNAN, WUHUA = "530100", "530300", "421300", "530000", "530102"

def projects_of(engine, prefix: str) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT id FROM project WHERE starts_with(district_code, :p)"),
                                {"p": prefix}).scalars())


def rows(engine, tenant: Tenant | None, table: str) -> set[int]:
    """The rows of ``table`` the web role reads for ``tenant`` (the owner's for None), as
    (row id) of projects — to compare with the owner's view restricted to projects."""
    with engine.begin() as conn:
        if tenant is not None:
            conn.execute(text("SET LOCAL ROLE riskmap_web"))
            set_tenant(conn, tenant)
        return {(i, p) for i, p in conn.execute(text(PROTECTED[table]))}


def test_each_jurisdiction_sees_exactly_its_own_programme_by_direct_sql(cities):
    everything = {table: rows(cities, None, table) for table in PROTECTED}
    kunming, suizhou = projects_of(cities, "5301"), projects_of(cities, "4213")
    assert kunming and suizhou and projects_of(cities, "5303")
    assert any(p in suizhou for _, p in everything["claim"])  # claims moved too
    for code, prefix in ((KUNMING, "5301"), (YUNNAN, "53"), (SUIZHOU, "4213"),
                         (WUHUA, WUHUA), (NATION, "")):
        own = projects_of(cities, prefix)
        for role in ("regulator", "planner", "admin"):
            tenant = Tenant(role, jurisdiction=code)
            for table in PROTECTED:
                seen = rows(cities, tenant, table)
                assert seen == {r for r in everything[table] if r[1] in own}, (code, role, table)
    assert projects_of(cities, YUNNAN[:2]) == kunming | projects_of(cities, "5303")
    assert not rows(cities, Tenant("regulator", jurisdiction="440300"), "project")


def test_an_insurer_sees_its_own_business_in_every_city(cities):
    with cities.connect() as conn:
        insurer, own = conn.execute(text("""
            SELECT s.insurer_id, array_agg(DISTINCT po.project_id) FROM policy_share s
            JOIN policy po ON po.id = s.policy_id GROUP BY 1 ORDER BY count(*) DESC LIMIT 1""")
        ).one()
    seen = {p for _, p in rows(cities, Tenant("insurer", insurer), "project")}
    assert seen == set(own)
    assert seen & projects_of(cities, "4213") and seen & projects_of(cities, "5301")


def test_a_city_regulator_cannot_write_into_another_city(cities):
    suizhou, kunming = min(projects_of(cities, "4213")), min(projects_of(cities, "5301"))
    with cities.connect() as conn, conn.begin():
        with as_web(conn, Tenant("regulator", jurisdiction=KUNMING)):
            moved = conn.execute(text("UPDATE project SET units = units + 1 WHERE id = :id"),
                                 {"id": suizhou}).rowcount
            assert moved == 0
            assert conn.execute(text("UPDATE project SET units = units + 1 WHERE id = :id"),
                                {"id": kunming}).rowcount == 1
            with pytest.raises(Exception, match="row-level security"), conn.begin_nested():
                # moving its own project into Suizhou takes it out of its jurisdiction
                conn.execute(text("UPDATE project SET district_code = '421303' WHERE id = :id"),
                             {"id": kunming})
            with pytest.raises(Exception, match="row-level security"), conn.begin_nested():
                conn.execute(text("""INSERT INTO risk_event (project_id, found_on, category,
                    severity, status, description) SELECT :id, found_on, category, severity,
                    status, 'x' FROM risk_event LIMIT 1"""), {"id": suizhou})
        conn.rollback()


def _scoped_metrics(conn, city: str, code: str) -> list[dict]:
    """The same district metrics aggregated through row security (no kept summary)."""
    with as_web(conn, Tenant("regulator", jurisdiction=code)):
        sql = districts._metrics_sql(False, frozenset({"written", "risk"}), daily=False)
        out = []
        for row in conn.execute(text(sql), {**Filters().params(), "city": city,
                                            "need_written": True, "need_risk": True}):
            item = districts.plain_row(row)
            item["code"] = item["code"].strip()
            out.append(item)
        return out


def test_kept_summaries_answer_a_city_regulator_for_its_city_only(cities):
    """The district layers summed from district_day and the tiles read from map_project
    (the fast paths) equal row security's answer for each jurisdiction."""
    with cities.connect() as conn:
        for code in (KUNMING, SUIZHOU, YUNNAN, NATION):
            for city in (KUNMING, SUIZHOU):
                with as_web(conn, Tenant("regulator", jurisdiction=code)):
                    daily = districts.district_metrics(conn, city, Filters(),
                                                       parts=frozenset({"written", "risk"}))
                    sql, _ = districts.metrics_query(conn, city, Filters(),
                                                     parts=frozenset({"written", "risk"}))
                    assert "riskmap_district_days" in sql
                scoped = _scoped_metrics(conn, city, code)
                assert daily == scoped, (code, city)
                covered = code == NATION or city.startswith(code.rstrip("0"))
                assert any(r["premium_yuan"] for r in daily) == covered, (code, city)


def test_a_tile_over_suizhou_is_empty_for_kunmings_regulator(cities):
    with cities.connect() as conn:
        x, y = conn.execute(text("""
            SELECT ST_X(location), ST_Y(location) FROM project
            WHERE starts_with(district_code, '4213') LIMIT 1""")).one()
    z = 12
    tx, ty = tile_of(x, y, z)
    with cities.connect() as conn:
        with as_web(conn, Tenant("regulator", jurisdiction=KUNMING)):
            kunming_tile = tiles.project_tile(conn, z, tx, ty, Filters())
        with as_web(conn, Tenant("regulator", jurisdiction=SUIZHOU)):
            suizhou_tile = tiles.project_tile(conn, z, tx, ty, Filters())
    assert not kunming_tile and suizhou_tile


def signed_in(engine, username: str, jurisdiction: str):
    """A client of the service signed in as staff account ``username`` of ``jurisdiction``."""
    with engine.begin() as conn:
        user_id = conn.execute(text("SELECT id FROM app_user WHERE username = :u"),
                               {"u": username}).scalar()
        if user_id is None:
            user_id = accounts.add_user(conn, username, "regulator", "a-long-password",
                                        jurisdiction=jurisdiction)
    client = create_app({"TESTING": True, "DATABASE_URL": engine.url.render_as_string(
        hide_password=False)}).test_client()
    with client.session_transaction() as session:
        session.update(sessions.signed_in_fields(user_id, client.application))
    return client


def signed_in_as(engine, role: str, organisation_id: int):
    """A client signed in as a (made-on-demand) account of an organisation."""
    from conftest import sign_in

    client = create_app({"TESTING": True, "DATABASE_URL": engine.url.render_as_string(
        hide_password=False)}).test_client()
    return sign_in(client, engine, role, organisation_id)


def test_a_city_regulator_is_shown_its_city_only_through_the_service(cities):
    suizhou, kunming = min(projects_of(cities, "4213")), min(projects_of(cities, "5301"))
    km = signed_in(cities, "km-regulator", KUNMING)
    sz = signed_in(cities, "sz-regulator", SUIZHOU)
    nation = signed_in(cities, "cn-regulator", NATION)
    assert km.get(f"/projects/{suizhou}").status_code == 404
    assert km.get(f"/api/projects/{suizhou}").status_code == 404
    assert km.get(f"/projects/{kunming}").status_code == 200
    assert sz.get(f"/projects/{suizhou}").status_code == 200
    assert sz.get(f"/projects/{kunming}").status_code == 404
    # the same URL, cached per jurisdiction and city: each regulator gets its city's figures,
    # and the nation's regulator each city's as that city's regulator sees it
    counts = {}
    for name, client, city in (("km", km, ""), ("sz", sz, ""), ("cn", nation, ""),
                               ("cn in sz", nation, f"?city={SUIZHOU}"), ("km again", km, "")):
        answer = client.get("/api/statistics" + city)
        assert answer.status_code == 200, name
        counts[name] = answer.get_json()["sections"]
    assert counts["km"] == counts["km again"] == counts["cn"] != counts["sz"]
    assert counts["cn in sz"] == counts["sz"]


def test_the_city_switcher_offers_only_the_users_cities_and_stays_on_this_site(cities):
    nation, km = signed_in(cities, "cn-regulator", NATION), signed_in(cities, "km-regulator",
                                                                         KUNMING)
    page = nation.get("/statistics").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
    assert re.findall(r'<option value="(\d+)"', page.split('id="city-choice"')[1]
                      .split("</select>")[0]) == [SUIZHOU, KUNMING, QUJING]
    switched = nation.post("/city", data={"city": SUIZHOU, "next": "/statistics?period=2024",
                                          "csrf_token": token})
    assert switched.status_code == 303 and switched.location == "/statistics?period=2024"
    assert "随州市" in nation.get("/statistics").get_data(as_text=True)
    for away in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        answer = nation.post("/city", data={"city": KUNMING, "next": away, "csrf_token": token})
        assert answer.location == "/", away
    # a city regulator has one city: no switcher, and another city is refused, by form or URL
    page = km.get("/statistics").get_data(as_text=True)
    assert 'id="city-choice"' not in page
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
    refused = km.post("/city", data={"city": SUIZHOU, "csrf_token": token})
    assert refused.status_code == 404 and "不在您的管辖范围内" in refused.get_data(as_text=True)
    assert km.get(f"/api/statistics?city={SUIZHOU}").status_code == 404
    assert km.get(f"/api/layers/premium_total/districts?city={SUIZHOU}").status_code == 404
    # a district of another city the user may open shows in that city (Kunming is shown now)
    assert nation.get("/districts/530102").status_code == 200
    opened = nation.get("/districts/421303?period=2024")
    assert opened.status_code == 302 and "city=421300" in opened.location
    assert "period=2024" in opened.location
    assert "曾都区" in nation.get(opened.location).get_data(as_text=True)


def test_a_city_loaded_while_the_service_runs_is_offered_at_once(make_database):
    """The cities a tenant may open are kept by each process for the data version: loading a
    city's districts bumps it, so the next page offers the city (no restart, no stale list)."""
    from loaders import districts as district_loader

    engine = make_database()
    with engine.begin() as conn:
        district_loader.load_districts(conn, district_loader.district_records(city=KUNMING))
    nation = signed_in(engine, "cn-regulator", NATION)

    def opens(city: str) -> int:
        return nation.get(f"/api/layers/premium_total/districts?city={city}").status_code

    assert opens(KUNMING) == 200 and opens(SUIZHOU) == 404
    assert opens(KUNMING) == 200 and opens(SUIZHOU) == 404  # now from the kept list
    with engine.begin() as conn:
        district_loader.load_districts(conn, district_loader.district_records(city=SUIZHOU))
    assert opens(SUIZHOU) == 200
    page = nation.get("/statistics").get_data(as_text=True)
    assert re.findall(r'<option value="(\d+)"', page.split('id="city-choice"')[1]
                      .split("</select>")[0]) == [SUIZHOU, KUNMING]


def test_accounts_refuse_a_jurisdiction_that_is_none(cities):
    with cities.begin() as conn:
        with pytest.raises(accounts.AccountError, match="GB/T 2260"):
            accounts.add_user(conn, "bad-area", "regulator", "a-long-password",
                              jurisdiction="999999")
        with pytest.raises(accounts.AccountError, match="no jurisdiction"):
            accounts.add_user(conn, "bad-insurer", "insurer", "a-long-password",
                              organisation="1", jurisdiction=KUNMING)
        accounts.add_user(conn, "yn-planner", "planner", "a-long-password",
                          jurisdiction=YUNNAN)
        assert accounts.tenant_of(conn, "yn-planner").key() == "planner:@530000"
        accounts.set_jurisdiction(conn, "yn-planner", SUIZHOU)
        assert accounts.tenant_of(conn, "yn-planner").jurisdiction == SUIZHOU
        with pytest.raises(Exception, match="app_user_staff_jurisdiction"), conn.begin_nested():
            conn.execute(text("UPDATE app_user SET jurisdiction = NULL "
                              "WHERE username = 'yn-planner'"))


def test_a_province_demo_spreads_one_programme_over_its_cities(make_database):
    """`riskmap demo --city 530000`: Yunnan's districts loaded, projects in many of its cities
    with Kunming (the capital) building the most, a provincial regulator who switches between
    them, and the public map of the CITY setting's city."""
    from webmap.cli import main

    engine = make_database()
    app = create_app({"TESTING": True, "DATABASE_URL": engine.url.render_as_string(
        hide_password=False)})
    result = app.test_cli_runner().invoke(main, ["demo", "--city", YUNNAN, "--projects", "800"])
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        by_city = dict(conn.execute(text(
            "SELECT left(district_code, 4), count(*) FROM project GROUP BY 1")).all())
        staff = conn.execute(text("SELECT DISTINCT jurisdiction FROM app_user "
                                  "WHERE jurisdiction IS NOT NULL")).scalars().all()
        public = conn.execute(text("SELECT count(*) FROM layer_publication "
                                   "WHERE status = 'approved'")).scalar_one()
    assert sum(by_city.values()) == 800 and len(by_city) >= 8
    assert all(code.startswith("53") for code in by_city)
    assert max(by_city, key=by_city.get) == "5301"
    assert staff == [YUNNAN] and public == 3
    client = app.test_client()
    with engine.connect() as conn:
        user_id = conn.execute(text("SELECT id FROM app_user WHERE username = 'demo-regulator'")
                               ).scalar_one()
    with client.session_transaction() as session:
        session.update(sessions.signed_in_fields(user_id, app))
    page = client.get("/statistics").get_data(as_text=True)
    assert page.count('<option value="53') >= 8 and "昆明市" in page


def test_a_citys_regulator_imports_into_its_city_only(cities, tmp_path):
    """Imports run as the store's owner, so the jurisdiction is enforced by the import's own
    checks: a Qujing regulator's file may neither rewrite Kunming's project by its permit
    number nor move a project out of Qujing; a new Qujing project imports."""
    import importing
    from test_import import HEADERS, project_row

    from loaders.imports.run import import_file
    with cities.connect() as conn:
        kunming_permit = conn.execute(text("SELECT permit_no FROM project WHERE "
                                           "starts_with(district_code, '5301') LIMIT 1")).scalar()
        site = conn.execute(text("""SELECT code, name, ST_X(p), ST_Y(p) FROM (SELECT code, name,
            ST_PointOnSurface(boundary) AS p FROM district WHERE city_code = :c
            ORDER BY code LIMIT 1) s"""), {"c": QUJING}).one()
        before = conn.execute(text("SELECT district_code FROM project WHERE permit_no = :p"),
                              {"p": kunming_permit}).scalar()
    qujing = Tenant("regulator", username="qj", jurisdiction=QUJING)

    def run(rows):
        path = importing.write_csv(tmp_path / "projects.csv", HEADERS, rows)
        with cities.begin() as conn:
            return import_file(conn, "projects", path, city=QUJING, actor="qj", tenant=qujing)

    taken = run([project_row(site, kunming_permit), project_row(site, "QJ-NEW-1")])
    assert (taken.inserted, taken.updated) == (0, 0)
    assert [(p.row, p.value) for p in taken.errors] == [(2, kunming_permit)]
    assert "辖区以外" in taken.errors[0].reason and taken.errors[0].column == "报建号"
    with cities.connect() as conn:
        assert conn.execute(text("SELECT district_code FROM project WHERE permit_no = :p"),
                            {"p": kunming_permit}).scalar() == before
    made = run([project_row(site, "QJ-NEW-1")])
    assert made.errors == [] and made.inserted == 1


def test_a_citys_staff_keep_to_their_citys_publications_audit_and_complaints(cities):
    """Public layers belong to a city; an admin reads its own staff's audit lines; a
    complaint about a district shows to that district's city — all as the web role, in
    PostgreSQL."""
    from layers import publication

    kunming_staff = Tenant("regulator", username="km", jurisdiction=KUNMING)
    with cities.begin() as conn:
        km_user = accounts.add_user(conn, "km-publisher", "regulator", "a-long-password",
                                    jurisdiction=KUNMING)
        kunming_staff = Tenant("regulator", username="km-publisher", user_id=km_user,
                               jurisdiction=KUNMING)
        pub = publication.draft(conn, kunming_staff, "projects", Filters(), city=KUNMING)
        conn.execute(text("INSERT INTO audit_log (user_id, actor, action) "
                          "VALUES (:u, 'km-publisher', 'login')"), {"u": km_user})
        conn.execute(text("""INSERT INTO complaint (complaint_no, party_kind, party_name,
            district_code, category, body, contact, received_on) VALUES ('TS-QJ-1', 'insurer',
            '某保险', '530302', 'service', '未回访', '138', '2026-06-01')"""))
    qujing_admin = Tenant("admin", username="qj", jurisdiction=QUJING)
    with cities.connect() as conn:
        with as_web(conn, qujing_admin):
            assert conn.execute(text("SELECT count(*) FROM layer_publication WHERE id = :p"),
                                {"p": pub}).scalar_one() == 0
            assert conn.execute(text("UPDATE layer_publication SET status = 'withdrawn' "
                                     "WHERE id = :p"), {"p": pub}).rowcount == 0
            with pytest.raises(Exception, match="row-level security"), conn.begin_nested():
                conn.execute(text("INSERT INTO published_value (publication_id, district_code, "
                                  "value, suppressed) VALUES (:p, '530102', 1, false)"),
                             {"p": pub})
            assert conn.execute(text("SELECT count(*) FROM audit_log WHERE actor = "
                                     "'km-publisher'")).scalar_one() == 0
            assert "TS-QJ-1" in conn.execute(text("SELECT complaint_no FROM complaint")
                                             ).scalars().all()
        with as_web(conn, Tenant("admin", username="km", jurisdiction=KUNMING)):
            assert conn.execute(text("SELECT count(*) FROM audit_log WHERE actor = "
                                     "'km-publisher'")).scalar_one() >= 1  # login, draft
            assert conn.execute(text("SELECT count(*) FROM layer_publication WHERE id = :p"),
                                {"p": pub}).scalar_one() == 1
            assert conn.execute(text("SELECT count(*) FROM complaint WHERE complaint_no = "
                                     "'TS-QJ-1'")).scalar_one() == 0
        conn.rollback()


def test_pages_answer_404_in_chinese_for_a_city_out_of_reach(cities):
    nation = signed_in(cities, "cn-regulator", NATION)
    refused = nation.get("/statistics?city=999900")
    assert refused.status_code == 404 and "没有该城市" in refused.get_data(as_text=True)
    page = nation.get("/statistics").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
    for away in ("/\t/evil.example", "/ /evil.example", "http:/evil.example"):
        answer = nation.post("/city", data={"city": KUNMING, "next": away, "csrf_token": token})
        assert answer.location == "/", away
    nowhere = signed_in(cities, "gd-regulator", "440300")  # Shenzhen: no district loaded
    assert nowhere.get("/statistics").status_code == 404
    assert nowhere.get("/api/statistics").status_code == 404
