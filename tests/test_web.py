"""The district table: every district with its programme numbers."""

from __future__ import annotations

import re

from sqlalchemy import text

from layers.overview import district_overview
from webmap import create_app


def test_overview_function_matches_an_independent_count(kunming):
    with kunming.connect() as conn:
        rows = {r.code: r for r in district_overview(conn, "530100")}
        claims = dict(conn.execute(text("""
            SELECT p.district_code, count(*) FROM claim c JOIN policy po ON po.id = c.policy_id
            JOIN project p ON p.id = po.project_id GROUP BY 1""")).all())
        projects = dict(conn.execute(text(
            "SELECT district_code, count(*) FROM project GROUP BY 1")).all())
    assert len(rows) == 14
    for code, row in rows.items():
        assert row.projects == projects.get(code, 0)
        assert row.claims == claims.get(code, 0)


def test_index_lists_every_district_with_its_numbers(client, kunming):
    page = client.get("/districts")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("五华区", "盘龙区", "寻甸回族彝族自治县", "安宁市"):
        assert name in html
    assert len(re.findall(r'<tr data-district="\d{6}">', html)) == 14
    with kunming.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM project")).scalar_one()
    footer = re.search(r"合计（14 个区县）</td>\s*<td class=\"num\">(\d+)</td>", html)
    assert footer and int(footer.group(1)) == total
    assert "保费（万元）" in html and "理赔案件" in html


def test_names_from_the_data_are_escaped(make_database):
    engine = make_database()
    with engine.begin() as conn:
        conn.execute(text("""INSERT INTO district (code, name, city_code, city_name,
            province_code, province_name, boundary) VALUES ('530102', :name, '530100', '昆明市',
            '530000', '云南省', ST_Multi(ST_MakeEnvelope(102.6, 25.0, 102.7, 25.1, 4326)))"""),
            {"name": "<script>alert(1)</script>区"})
    app = create_app({"TESTING": True,
                      "DATABASE_URL": engine.url.render_as_string(hide_password=False)})
    html = app.test_client().get("/districts").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;区" in html
    assert "<script>alert(1)" not in html


def test_health_reports_the_data_version(client):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["data_version"] >= 2
