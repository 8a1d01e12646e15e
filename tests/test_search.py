"""Search (issue 6): projects by name, community, developer, insurer, TIS and contractor, with
Chinese substring and near matching, scoped to what the user may see.

Expected answers come from the store's owner with plain SQL (strpos, the parties' ids), not
from the search's own query."""

from __future__ import annotations

import re

import pytest
from importing import demo_store
from sqlalchemy import text

from conftest import sign_in
from geo import store
from geo.tenancy import Tenant, set_tenant
from layers.filters import FilterError, Filters
from layers.search import search

EVERY_PROJECT = "有限公司"  # every demo developer's name holds it, so it finds every project
XSS = "<script>x</script>花园"

# an organisation's projects, as the owner sees them, by the field a search labels
PROJECTS_OF = {
    "建设单位": "SELECT id FROM project WHERE developer_id = :org",
    "施工单位": "SELECT id FROM project WHERE contractor_id = :org",
    "保险公司": """SELECT DISTINCT po.project_id FROM policy po
                JOIN policy_share s ON s.policy_id = po.id WHERE s.insurer_id = :org""",
    "风险管理机构": "SELECT DISTINCT project_id FROM policy WHERE tis_id = :org",
}
KIND_OF = {"建设单位": "developer", "施工单位": "contractor", "保险公司": "insurer",
           "风险管理机构": "tis"}


@pytest.fixture(scope="module")
def web(kunming):
    """The store as the web service reaches it: role riskmap_web, under row security."""
    engine = store.make_engine(kunming.url.set(username="riskmap_web"))
    yield engine
    engine.dispose()


def find(web, q: str, tenant: Tenant | None = None, filters: Filters | None = None,
         limit: int = 200) -> list[dict]:
    with web.begin() as conn:
        set_tenant(conn, tenant or Tenant("regulator"))
        return search(conn, q, filters or Filters(), limit)


def ids(results: list[dict]) -> set[int]:
    return {r["id"] for r in results}


def by_field(results: list[dict], field: str, value: str | None = None) -> set[int]:
    """The results that matched on ``field`` (with ``value``, when given)."""
    return {r["id"] for r in results for m in r["matches"]
            if m["field"] == field and value in (None, m["value"])}


def owner_ids(kunming, sql: str, **params) -> set[int]:
    with kunming.connect() as conn:
        return set(conn.execute(text(sql), params).scalars())


def rows_of(kunming, sql: str) -> list[tuple]:
    with kunming.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def busiest(kunming, field: str) -> tuple[int, str, set[int]]:
    """The organisation of the field's kind with the most projects: id, name, its projects."""
    with kunming.connect() as conn:
        orgs = conn.execute(text("SELECT id, name FROM organisation WHERE kind = :k"),
                            {"k": KIND_OF[field]}).all()
        sized = [(len(conn.execute(text(PROJECTS_OF[field]), {"org": o}).all()), o, n)
                 for o, n in orgs]
    _, org, name = max(sized)
    return org, name, owner_ids(kunming, PROJECTS_OF[field], org=org)


def piece_of(kunming, name: str) -> str:
    """A two- or three-character piece of ``name`` that no other organisation's name or short
    name and no project's name or community holds, as a user would type part of a name."""
    with kunming.connect() as conn:
        for size in (2, 3):
            for start in range(len(name) - size + 1):
                piece = name[start:start + size]
                clash = conn.execute(text("""
                    SELECT 1 FROM organisation WHERE name <> :name
                      AND (strpos(name, :p) > 0 OR strpos(COALESCE(short_name, ''), :p) > 0)
                    UNION ALL SELECT 1 FROM project
                    WHERE strpos(name, :p) > 0 OR strpos(COALESCE(community, ''), :p) > 0"""),
                    {"name": name, "p": piece}).first()
                if clash is None:
                    return piece
    raise AssertionError(f"no distinctive piece of {name}")


def scores_fall(results: list[dict]) -> bool:
    scores = [r["score"] for r in results]
    return scores == sorted(scores, reverse=True)


# --------------------------------------------------------------------------------------------
# What a search finds


def test_a_piece_of_a_project_name_finds_every_project_so_named(kunming, web):
    name = owner_ids(kunming, "SELECT name FROM project ORDER BY id LIMIT 1").pop()
    piece = name[1:4]
    expected = owner_ids(kunming, "SELECT id FROM project WHERE strpos(name, :p) > 0", p=piece)
    results = find(web, piece)
    assert expected and by_field(results, "项目名称") == expected
    for r in results:
        named = [m for m in r["matches"] if m["field"] == "项目名称"]
        assert all(piece in m["value"] and m["how"] == "contains" for m in named), r
    assert scores_fall(results)


def test_a_community_name_finds_its_projects_first(kunming, web):
    community = owner_ids(kunming, """SELECT community FROM project WHERE community IS NOT NULL
        GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""").pop()
    expected = owner_ids(kunming, "SELECT id FROM project WHERE community = :c", c=community)
    results = find(web, community)
    top = results[:len(expected)]
    assert ids(top) == expected == by_field(results, "小区", community)
    assert all(r["score"] == 1.0 and r["community"] == community for r in top)
    assert "小区 " + community in top[0]["matched"]
    assert scores_fall(results)


@pytest.mark.parametrize("field", ["建设单位", "保险公司", "风险管理机构", "施工单位"])
def test_part_of_an_organisations_name_finds_its_projects(kunming, web, field):
    org, name, expected = busiest(kunming, field)
    piece = piece_of(kunming, name)
    results = find(web, piece)
    top = results[:len(expected)]  # its projects first; near matches of the piece may follow
    assert 0 < len(expected) < 200
    assert ids(top) == expected == by_field(results, field, name), (field, name, piece)
    assert all(f"{field} {name}" in r["matched"] for r in top)  # the full name shows


def test_an_organisations_short_name_finds_its_projects(kunming, web):
    org, name, expected = busiest(kunming, "保险公司")
    short = owner_ids(kunming, "SELECT short_name FROM organisation WHERE id = :o", o=org).pop()
    results = find(web, short)
    assert by_field(results, "保险公司", name) == expected
    hows = {m["how_zh"] for r in results for m in r["matches"] if m["value"] == name}
    assert hows == {"简称一致"}


def test_a_mistyped_or_missing_character_still_finds_the_project(kunming, web):
    pid, name = next(iter(rows_of(kunming, """SELECT id, name FROM project
        WHERE char_length(name) >= 5 ORDER BY id LIMIT 1""")))
    typo = name[:2] + "囧" + name[3:]          # one character mistyped
    results = find(web, typo)
    assert pid in by_field(results, "项目名称", name)
    hit = next(r for r in results if r["id"] == pid)
    assert hit["matches"][0]["how_zh"] == "近似" and hit["score"] < 0.6

    missing = name[:1] + name[2:]               # one character left out
    results = find(web, missing)
    hit = next(r for r in results if r["id"] == pid)
    assert any(m["field"] == "项目名称" and m["how"] == "fuzzy" for m in hit["matches"])
    assert scores_fall(results)  # whatever holds the text exactly comes before near matches


def test_percent_and_underscore_are_taken_literally(web):
    assert find(web, "%") == [] and find(web, "_") == [] and find(web, "花%园") == []
    assert len(find(web, "花园")) > 0


def test_filters_narrow_the_search(kunming, web):
    code = "530102"
    in_district = owner_ids(kunming, "SELECT id FROM project WHERE district_code = :d", d=code)
    results = find(web, EVERY_PROJECT, filters=Filters(district=code))
    assert ids(results) == in_district and {r["district"] for r in results} == {"五华区"}
    delivered = find(web, EVERY_PROJECT, filters=Filters(stage="delivered"))
    assert delivered and {r["stage_zh"] for r in delivered} == {"已交付"}
    org, _, insured = busiest(kunming, "保险公司")
    assert ids(find(web, EVERY_PROJECT, filters=Filters(insurer=org))) == insured


def test_an_empty_or_overlong_text_is_refused(web):
    for bad in ("", "   ", "花" * 101):
        with pytest.raises(FilterError, match="请输入搜索内容|最多 100 字"):
            find(web, bad)


# --------------------------------------------------------------------------------------------
# Who finds what


def test_an_insurer_finds_only_its_own_portfolio(kunming, web, app):
    org, _, own = busiest(kunming, "保险公司")  # its projects, by policy_share, as the owner
    every = owner_ids(kunming, "SELECT id FROM project")
    assert 0 < len(own) < len(every)
    tenant = Tenant("insurer", org)
    assert ids(find(web, EVERY_PROJECT, tenant, Filters().for_tenant(tenant))) == own
    assert ids(find(web, EVERY_PROJECT, tenant)) == own  # row security alone keeps it so
    client = sign_in(app.test_client(), kunming, "insurer", org)
    body = client.get(f"/api/search?q={EVERY_PROJECT}&limit=200").get_json()
    assert ids(body["results"]) == own
    foreign = next(r for r in rows_of(kunming, "SELECT id, permit_no, name FROM project "
                                    "ORDER BY id") if r[0] not in own)
    found = client.get(f"/api/search?q={foreign[2]}").get_json()["results"]
    assert foreign[0] not in ids(found)
    page = client.get(f"/search?q={foreign[2]}").get_data(as_text=True)
    assert foreign[1] not in page
    asked = client.get(f"/api/search?q=花园&insurer={org + 1}")
    assert asked.status_code == 400 and "your own organisation" in asked.get_json()["error"]


def test_the_public_is_refused(public_client):
    api = public_client.get("/api/search?q=花园")
    assert api.status_code == 401 and "请先登录" in api.get_json()["error"]
    page = public_client.get("/search?q=花园")
    assert page.status_code == 302 and page.location.startswith("/login?next=")
    assert "搜索" not in public_client.get("/login").get_data(as_text=True)


# --------------------------------------------------------------------------------------------
# The page, the API and the map


def test_the_api_answers_results_best_first(client, kunming):
    org, name, expected = busiest(kunming, "建设单位")
    body = client.get(f"/api/search?q={name}&limit=200").get_json()
    assert body["query"] == name and ids(body["results"][:len(expected)]) == expected
    first = body["results"][0]
    assert {"id", "permit_no", "name", "community", "district_code", "district", "stage",
            "stage_zh", "lon", "lat", "score", "matched", "matches"} <= set(first)
    assert first["matched"] == f"建设单位 {name}" and first["score"] == 1.0
    assert 102 < first["lon"] < 104 and 24 < first["lat"] < 27  # Kunming


def test_an_empty_or_bad_request_is_a_clear_400(client):
    for url in ("/api/search", "/api/search?q=", "/api/search?q=%20%20"):
        response = client.get(url)
        assert response.status_code == 400 and "请输入搜索内容" in response.get_json()["error"]
    long = client.get("/api/search?q=" + "花" * 101)
    assert long.status_code == 400 and "最多 100 字" in long.get_json()["error"]
    limit = client.get("/api/search?q=花园&limit=9999")
    assert limit.status_code == 400 and "limit" in limit.get_json()["error"]
    page = client.get("/search?q=")
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and "请输入搜索内容" in html and 'id="search-form"' in html


def test_the_page_shows_a_table_links_and_a_local_map(client, kunming):
    org, name, expected = busiest(kunming, "风险管理机构")
    html = client.get("/search?q=" + piece_of(kunming, name)).get_data(as_text=True)
    rows = re.findall(r'<tr data-id="(\d+)"', html)
    assert len(rows) == min(len(expected), 50) and set(map(int, rows)) <= expected
    assert f'href="/projects/{rows[0]}"' in html and f"风险管理机构 {name}" in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/vendor/leaflet/dist/leaflet.js" in sources
    assert all(s.startswith(("/", "data:", "?")) for s in sources), sources
    blank = client.get("/search").get_data(as_text=True)
    assert 'id="search-form"' in blank and 'id="search-results"' not in blank


def test_signed_in_pages_link_to_search_and_the_map_knows_the_api(client):
    assert 'href="/search">搜索</a>' in client.get("/districts").get_data(as_text=True)
    assert '"search": "/api/search"' in client.get("/").get_data(as_text=True)


def test_names_from_the_data_and_the_query_show_as_text(make_database, client_for):
    engine = demo_store(make_database, projects=5)
    with engine.begin() as conn:
        conn.execute(text("UPDATE project SET name = :n WHERE id = 1"), {"n": XSS})
    client = client_for(engine)
    html = client.get("/search?q=script").get_data(as_text=True)
    assert "&lt;script&gt;x&lt;/script&gt;花园" in html and "<script>x</script>" not in html
    echoed = client.get("/search?q=<b>花园").get_data(as_text=True)
    assert 'value="&lt;b&gt;花园"' in echoed and "<b>花园" not in echoed
    body = client.get("/api/search?q=script").get_json()
    assert [r["name"] for r in body["results"]] == [XSS]
