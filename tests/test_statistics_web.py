"""The statistics page, the district page and report downloads, through the web."""

from __future__ import annotations

import csv
import io
import json
import re
import time

import pytest
from sqlalchemy import text

from conftest import sign_in
from webmap import create_app

WUHUA = "530102"


def csrf(client, page: str = "/statistics") -> str:
    body = client.get(page).get_data(as_text=True)
    return body.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def download(client, start_url: str, token: str, seconds: float = 60.0):
    """Start a report, follow its progress until done, and fetch the file."""
    started = client.post(start_url, headers={"X-CSRFToken": token})
    assert started.status_code == 202, started.get_data(as_text=True)
    status_url, file_url = started.get_json()["status_url"], started.get_json()["file_url"]
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = client.get(status_url).get_json()["job"]
        seen.append(job["state"])
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job["state"] == "done", job
    return client.get(file_url), seen


def test_the_statistics_page_shows_each_sections_figures_and_charts(client):
    page = client.get("/statistics?period=2024").get_data(as_text=True)
    for title in ("承保统计", "风险统计", "理赔统计", "平均建安造价", "立案率",
                  "各保险公司保费（按共保份额）", "风险事件整改率", "理赔案件数（按区县）",
                  "指标说明", "保费合计 ÷ 各保单所保项目建安造价合计"):
        assert title in page, title
    assert "平米平均造价均值" not in page and "平均保险费率" not in page
    assert "/vendor/echarts/dist/echarts.min.js" in page
    assert "统计期间：2024-01-01 至 2024-12-31" in page
    assert client.get("/vendor/echarts/dist/echarts.min.js").status_code == 200


def test_the_statistics_json_matches_the_page(client):
    answer = client.get("/api/statistics?period=2024").get_json()
    assert answer["filters"] == {"from": "2024-01-01", "to": "2024-12-31"}
    claims = next(s for s in answer["sections"] if s["id"] == "claims")
    count = next(i for i in claims["indicators"] if i["id"] == "claims")["value"]
    page = client.get("/statistics?period=2024").get_data(as_text=True)
    assert 'data-indicator="claims"' in page and f"{count:,.0f}" in page


def test_the_public_gets_no_statistics(public_client):
    assert public_client.get("/api/statistics").status_code == 401
    assert public_client.get("/statistics").status_code == 302
    assert public_client.get(f"/districts/{WUHUA}").status_code == 302


def test_a_bad_period_is_a_clear_400(client):
    response = client.get("/statistics?period=2024-13")
    assert response.status_code == 400
    assert "月份应为 01–12" in response.get_data(as_text=True)


def test_the_district_page_shows_its_figures_beside_the_citys_and_its_tables(client, kunming):
    page = client.get(f"/districts/{WUHUA}?period=2024").get_data(as_text=True)
    assert "五华区（530102）" in page
    assert "全市" in page and 'id="key-indicators"' in page
    for title in ("项目清单", "未销项严重风险事件", "理赔案件及时限履行", "下载区域报告"):
        assert title in page
    with kunming.connect() as conn:
        name = conn.execute(text(
            "SELECT p.name FROM project p JOIN policy po ON po.project_id = p.id "
            "WHERE p.district_code = :d AND po.issue_date BETWEEN '2024-01-01' AND '2024-12-31' "
            "ORDER BY p.id LIMIT 1"), {"d": WUHUA}).scalar_one()
    assert name in page
    assert client.get("/districts/110101").status_code == 404


def test_a_district_report_downloads_in_the_background(client):
    token = csrf(client, f"/districts/{WUHUA}")
    response, states = download(client, f"/reports/district/{WUHUA}?format=csv&period=2024",
                                token)
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "报建号" and len(rows) > 2
    assert states[-1] == "done"
    geo = download(client, f"/reports/district/{WUHUA}?format=geojson", token)[0]
    kinds = {f["properties"]["kind"] for f in json.loads(geo.data)["features"]}
    assert kinds == {"district", "project"}


def test_a_report_needs_the_forms_token_and_a_known_format(client):
    assert client.post(f"/reports/district/{WUHUA}?format=csv").status_code == 400
    token = csrf(client)
    bad = client.post(f"/reports/district/{WUHUA}?format=docx", headers={"X-CSRFToken": token})
    assert bad.status_code == 400 and "format='docx'" in bad.get_json()["error"]
    missing = client.post("/reports/district/110101?format=csv", headers={"X-CSRFToken": token})
    assert missing.status_code == 404


def test_only_the_account_that_asked_may_fetch_a_report(app, kunming, client):
    token = csrf(client)
    started = client.post(f"/reports/district/{WUHUA}?format=csv",
                          headers={"X-CSRFToken": token}).get_json()
    other = sign_in(app.test_client(), kunming, "planner")
    assert other.get(started["status_url"]).status_code == 404
    assert other.get(started["file_url"]).status_code == 404


def test_the_periodic_report_is_for_the_citys_staff(app, kunming, client):
    page = client.get("/reports/periodic").get_data(as_text=True)
    assert "平台统计报表" in page
    token = csrf(client, "/reports/periodic")
    response, _ = download(client, "/reports/periodic?format=xlsx&period=2024-Q2", token)
    assert response.status_code == 200 and response.data[:2] == b"PK"
    yearly = client.post("/reports/periodic?format=pdf&period=2024",
                         headers={"X-CSRFToken": token})
    assert yearly.status_code == 400 and "monthly" in yearly.get_json()["error"]
    insurer = conn_insurer(kunming)
    outsider = sign_in(app.test_client(), kunming, "insurer", insurer)
    assert outsider.get("/reports/periodic").status_code == 403


def conn_insurer(kunming) -> int:
    with kunming.connect() as conn:
        return conn.execute(text("SELECT id FROM organisation WHERE kind = 'insurer' "
                                 "ORDER BY id LIMIT 1")).scalar_one()


@pytest.mark.parametrize("page", ["/statistics", f"/districts/{WUHUA}", "/reports/periodic"])
def test_the_navigation_leads_to_the_statistics(client, page):
    body = client.get(page).get_data(as_text=True)
    assert 'href="/statistics"' in body and 'href="/reports/periodic"' in body


def test_the_web_server_answers_while_a_pdf_is_being_made(client):
    token = csrf(client)
    started = client.post(f"/reports/district/{WUHUA}?format=pdf", headers={"X-CSRFToken": token})
    assert started.status_code == 202
    answered = time.monotonic()
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/statistics?period=2024").status_code == 200
    answered = time.monotonic() - answered
    job = client.get(started.get_json()["status_url"]).get_json()["job"]
    assert job["state"] in ("queued", "running") and answered < 2.0
    assert job["progress"] < 1
    deadline = time.monotonic() + 60
    while job["state"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = client.get(started.get_json()["status_url"]).get_json()["job"]
    assert job["state"] == "done" and job["progress"] == 1
    pdf = client.get(started.get_json()["file_url"])
    assert pdf.data[:5] == b"%PDF-" and pdf.mimetype == "application/pdf"


def test_another_worker_process_answers_for_a_report_it_did_not_make(app, client):
    """gunicorn runs several workers: a poll may reach one that did not start the job."""
    other = create_app({"DATABASE_URL": app.config["DATABASE_URL"],
                        "SECRET_KEY": app.config["SECRET_KEY"],
                        "REDIS_PREFIX": app.config["REDIS_PREFIX"],
                        "REPORT_DIR": app.config["REPORT_DIR"]}).test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    token = csrf(client)
    started = client.post(f"/reports/district/{WUHUA}?format=csv", headers={"X-CSRFToken": token})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = other.get(started.get_json()["status_url"]).get_json()["job"]
        if job["state"] == "done":
            break
        time.sleep(0.1)
    assert job["state"] == "done"
    assert other.get(started.get_json()["file_url"]).data.decode("utf-8-sig").startswith("报建号")
    assert other.get("/reports/jobs/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_the_regulator_sees_every_project_that_should_be_insured_and_is_not(app, kunming, client):
    with kunming.connect() as conn:
        want = set(conn.execute(text(
            "SELECT permit_no FROM project p WHERE NOT EXISTS (SELECT 1 FROM policy po WHERE "
            "po.project_id = p.id AND po.status IN ('submitted', 'confirmed'))")).scalars())
        insurer = conn.execute(text("SELECT id FROM organisation WHERE kind = 'insurer' "
                                    "LIMIT 1")).scalar_one()
    page = client.get("/projects/uninsured").get_data(as_text=True)
    shown = set(re.findall(r"<tr><td>(\d{6}-\d{4}-\d{4})</td>", page))
    assert want and shown == want
    assert sign_in(app.test_client(), kunming, "insurer", insurer).get(
        "/projects/uninsured").status_code == 403
