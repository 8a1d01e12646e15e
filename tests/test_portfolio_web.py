"""The portfolio page, its JSON, its exports and the insurer's limits, through the web."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from sqlalchemy import text

from conftest import sign_in


def busiest_insurer(kunming) -> int:
    with kunming.connect() as conn:
        return conn.execute(text("SELECT insurer_id FROM policy_share GROUP BY 1 "
                                 "ORDER BY count(*) DESC, 1 LIMIT 1")).scalar_one()


def test_the_regulator_sees_the_market_and_each_insurer(client, kunming):
    page = client.get("/portfolio").get_data(as_text=True)
    assert "风险累积分析：全市场" in page and "各保险公司风险暴露（全市场）" in page
    insurer = busiest_insurer(kunming)
    one = client.get(f"/api/portfolio?insurer={insurer}&basis=own&radius=300").get_json()
    assert one["insurer"]["id"] == insurer and one["choice"]["radius_m"] == 300
    assert one["circles"][0]["radius_m"] == 300 and one["insurers"] == []
    market = client.get("/api/portfolio").get_json()
    listed = {o["id"]: o for o in market["insurers"]}
    assert listed[insurer]["own_wan"] == same_value(one["totals"]["own_wan"])


def same_value(value):
    return pytest.approx(value, rel=1e-9)


def test_an_insurer_is_held_to_its_own_portfolio(app, kunming):
    insurer = busiest_insurer(kunming)
    client = sign_in(app.test_client(), kunming, "insurer", insurer)
    own = client.get("/api/portfolio").get_json()
    assert own["insurer"]["id"] == insurer and own["insurers"] == []
    with kunming.connect() as conn:
        other = conn.execute(text("SELECT id FROM organisation WHERE kind = 'insurer' "
                                  "AND id <> :i ORDER BY id LIMIT 1"), {"i": insurer}).scalar()
    refused = client.get(f"/api/portfolio?insurer={other}")
    assert refused.status_code == 400 and "only see your own" in refused.get_data(as_text=True)
    assert "只能查看本单位的业务" in refused.get_json()["error"]
    assert "全市场" not in client.get("/portfolio").get_data(as_text=True)


def test_parties_and_the_public_are_refused(app, kunming, public_client):
    with kunming.connect() as conn:
        developer = conn.execute(text("SELECT developer_id FROM project LIMIT 1")).scalar_one()
    client = sign_in(app.test_client(), kunming, "developer", developer)
    assert client.get("/portfolio").status_code == 403
    assert client.get("/api/portfolio").status_code == 403
    assert public_client.get("/portfolio").status_code == 302


def test_an_insurer_sets_a_limit_and_sees_where_it_is_broken(app, kunming):
    insurer = busiest_insurer(kunming)
    client = sign_in(app.test_client(), kunming, "insurer", insurer)
    top = client.get("/api/portfolio").get_json()["circles"][0]["net_wan"]
    page = client.get("/portfolio").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    try:
        saved = client.post("/portfolio/limits", data={
            "csrf_token": token, "measure": "circle", "size_m": "200", "basis": "net",
            "max_wan": str(round(top / 2)), "note": "<b>试行</b>"}, follow_redirects=True)
        body = saved.get_data(as_text=True)
        assert "限额已保存" in body and "&lt;b&gt;试行&lt;/b&gt;" in body
        data = client.get("/api/portfolio").get_json()
        assert data["breaches"][0]["value_wan"] == same_value(top)
        bad = client.post("/portfolio/limits", data={
            "csrf_token": token, "measure": "circle", "size_m": "", "basis": "net",
            "max_wan": "100"}, follow_redirects=True)
        assert "圆或网格的限额须填写尺寸" in bad.get_data(as_text=True)
        # a district's limit has no size: the form's size is ignored, not refused in English
        district = client.post("/portfolio/limits", data={
            "csrf_token": token, "measure": "district", "size_m": "200", "basis": "net",
            "max_wan": "1"}, follow_redirects=True).get_data(as_text=True)
        assert "限额已保存" in district
        named = client.get("/api/portfolio").get_json()["breaches"]
        assert any("区" in b["place"] or "县" in b["place"] for b in named)
        circle = next(b for b in named if b["place"].startswith("圆 #"))
        assert "附近" in circle["place"]  # by district and nearest project, not bare numbers
        for limit in client.get("/api/portfolio").get_json()["limits"]:
            gone = client.post(f"/portfolio/limits/{limit['id']}/delete",
                               data={"csrf_token": token}, follow_redirects=True)
            assert "限额已删除" in gone.get_data(as_text=True)
        assert client.get("/api/portfolio").get_json()["limits"] == []
    finally:
        with kunming.begin() as conn:
            conn.execute(text("DELETE FROM exposure_limit"))


def test_the_portfolio_exports_as_xlsx_csv_and_geojson(client):
    data = client.get("/api/portfolio?basis=gross").get_json()
    book = openpyxl.load_workbook(io.BytesIO(client.get("/portfolio/export.xlsx?basis=gross").data))
    assert {"概览", "项目风险暴露", "按区县累积"} <= set(book.sheetnames)
    csv = client.get("/portfolio/export.csv").data.decode("utf-8-sig").splitlines()
    assert csv[0].startswith("报建号") and len(csv) == data["totals"]["projects"] + 1
    assert "经度" in csv[0] and "纬度" in csv[0]  # each project with its coordinates
    cells = next(book[n] for n in book.sheetnames if n.startswith("按网格累积"))
    header = [c.value or "" for c in next(cells.iter_rows(max_row=1))]
    assert any("中心经度" in h for h in header) and any("中心纬度" in h for h in header)
    geo = json.loads(client.get("/portfolio/export.geojson").data)
    kinds = [f["properties"]["kind"] for f in geo["features"]]
    assert kinds.count("circle") == len(data["circles"])
    assert kinds.count("project") == data["totals"]["projects"]
    assert client.get("/portfolio/export.docx").status_code == 404


def test_the_json_carries_the_largest_and_says_how_many_the_exports_hold(client):
    data = client.get("/api/portfolio").get_json()
    assert data["listed"]["projects"] == data["totals"]["projects"] > 100
    assert len(data["projects"]) == 100
    net = [p["net_wan"] for p in data["projects"]]
    assert net == sorted(net, reverse=True)
    csv = client.get("/portfolio/export.csv").data.decode("utf-8-sig").splitlines()
    assert len(csv) == data["listed"]["projects"] + 1
