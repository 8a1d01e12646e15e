"""The district table: every district with the same figures as the map."""

from __future__ import annotations

import re

from sqlalchemy import text

from layers.districts import district_metrics
from layers.filters import Filters


def test_table_lists_every_district_with_the_maps_figures(client, kunming):
    html = client.get("/districts").get_data(as_text=True)
    for name in ("五华区", "盘龙区", "寻甸回族彝族自治县", "安宁市"):
        assert name in html
    assert len(re.findall(r'<tr data-district="\d{6}">', html)) == 14
    with kunming.connect() as conn:
        rows = district_metrics(conn, "530100", Filters())
        insured = conn.execute(text("""SELECT count(*) FROM project p WHERE EXISTS (SELECT 1
            FROM policy po WHERE po.project_id = p.id AND po.status NOT IN
            ('returned', 'cancelled'))""")).scalar_one()
    footer = re.search(r"全市（14 个区县）</td>\s*<td class=\"num\">(\d+)</td>", html)
    assert footer and int(footer.group(1)) == insured == sum(r["projects"] for r in rows)
    assert "保费（万元）" in html and "理赔案件" in html


def test_table_takes_the_maps_filters(client):
    html = client.get("/districts?period=2024").get_data(as_text=True)
    assert "from=2024-01-01" in html
    assert client.get("/districts?period=2024-13").status_code == 400


def test_names_from_the_data_are_escaped(make_database, client_for):
    engine = make_database()
    with engine.begin() as conn:
        conn.execute(text("""INSERT INTO district (code, name, city_code, city_name,
            province_code, province_name, boundary) VALUES ('530102', :name, '530100', '昆明市',
            '530000', '云南省', ST_Multi(ST_MakeEnvelope(102.6, 25.0, 102.7, 25.1, 4326)))"""),
            {"name": "<script>alert(1)</script>区"})
    html = client_for(engine).get("/districts").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;区" in html
    assert "<script>alert(1)" not in html


def test_a_bad_filter_on_the_map_page_is_a_clear_400(client):
    response = client.get("/?period=2024-13")
    assert response.status_code == 400
    assert "period" in response.get_data(as_text=True) and "Traceback" not in response.get_data(
        as_text=True)


def test_health_reports_the_data_version(client):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["data_version"] >= 2
