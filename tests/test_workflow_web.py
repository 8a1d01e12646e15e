"""The lifecycles through the web: the record pages' forms (made from the Field definitions),
their POSTs, the JSON API and the task list, each as the role and organisation it is for."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re

import pytest
from importing import demo_store
from sqlalchemy import text

from conftest import sign_in
from geo import clock
from webmap import create_app

TODAY = "2026-06-30"  # the demo's as-of day


@pytest.fixture(autouse=True)
def on_the_demos_day(monkeypatch):
    """These walks act on the demo's day (its records end there), so the clock is pinned to
    it; test_time.py checks that live actions otherwise take the real day."""
    monkeypatch.setattr(clock, "real_today", lambda: dt.date.fromisoformat(TODAY))


@pytest.fixture(scope="module")
def engine(make_database):
    return demo_store(make_database, projects=30)


@pytest.fixture(scope="module")
def app(engine):
    return create_app({"TESTING": True,
                       "DATABASE_URL": engine.url.render_as_string(hide_password=False)})


@pytest.fixture(scope="module")
def parties(engine) -> dict:
    """A confirmed policy with a co-insurer; an insurer with no share in its project."""
    with engine.connect() as conn:
        row = conn.execute(text("""
            SELECT po.id AS policy, po.project_id AS project, po.lead_insurer_id AS lead,
                   s.insurer_id AS co, po.tis_id AS tis
            FROM policy po JOIN policy_share s ON s.policy_id = po.id AND NOT s.is_lead
            WHERE po.status = 'confirmed' AND po.tis_id IS NOT NULL ORDER BY po.id LIMIT 1""")
                           ).one()
        stranger = conn.execute(text("""
            SELECT id FROM organisation o WHERE kind = 'insurer' AND NOT EXISTS (
              SELECT 1 FROM policy po JOIN policy_share s ON s.policy_id = po.id
              WHERE po.project_id = :p AND s.insurer_id = o.id) ORDER BY id LIMIT 1"""),
                                {"p": row.project}).scalar_one()
    return {**row._mapping, "stranger": stranger}


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


def page_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def step_form(page: str, step: str) -> str:
    """The form of ``step`` on a page, by the HTML contract."""
    found = re.search(rf'<form class="step" data-step="{step}" method="post" '
                      rf'enctype="multipart/form-data" action="([^"]+)">(.*?)</form>', page, re.S)
    assert found, f"no form for {step}"
    return found[0]


def post_step(client, url: str, step: str, fields: dict, files: dict | None = None):
    """Take ``step`` through its form on the page at ``url``: the redirect's target page."""
    page = page_of(client, url)
    form = step_form(page, step)
    action = re.search(r'action="([^"]+)"', form)[1]
    data = {"csrf_token": csrf(form), **fields}
    for kind, (name, content) in (files or {}).items():
        assert f'name="doc_{kind}"' in form
        data[f"doc_{kind}"] = (io.BytesIO(content), name)
    done = client.post(action, data=data, content_type="multipart/form-data")
    assert done.status_code == 303, done.get_data(as_text=True)
    return done.location, page_of(client, done.location)


CLAIM_STEPS = [("survey", {"on": TODAY, "is_complex": "1"}), ("accept", {"on": TODAY}),
               ("agree", {"on": TODAY}), ("settle", {"on": TODAY, "paid_amount_yuan": "12000"}),
               ("close", {})]


def test_an_insurer_files_and_walks_a_claim_through_the_forms(app, engine, parties):
    client = sign_in(app.test_client(), engine, "insurer", parties["lead"])
    new = page_of(client, f"/work/claim/new?policy_id={parties['policy']}")
    form = step_form(new, "file")
    assert 'action="/work/claim/new/file"' in form and '<button type="submit">报案</button>' in form
    assert '<select name="section" required>' in form
    assert '<input type="checkbox" name="is_emergency" value="1">' in form
    url, page = post_step(client, f"/work/claim/new?policy_id={parties['policy']}", "file", {
        "policy_id": str(parties["policy"]), "unit_no": "3-1201", "section": "structure",
        "cause": "卫生间楼板开裂<script>", "reporter_name": "张三",
        "reporter_phone": "13800000000"})
    claim = int(url.rsplit("/", 1)[1])
    assert "已办理“报案”：新建 → 已报案。" in page and "&lt;script&gt;" in page
    assert "<script>" not in page.split("<main>")[1].split("</main>")[0]
    form = step_form(page, "survey")
    assert f'action="/work/claim/{claim}/survey"' in form
    assert f'<input type="date" name="on" value="{TODAY}"' in form
    assert '<button type="submit">查勘</button>' in form
    for step, fields in CLAIM_STEPS:
        _, page = post_step(client, url, step, fields)
    assert 'data-state="closed"' in page and "已结案" in page
    history = page.split('id="history"')[1]
    assert [m for m in re.findall(r'<tr data-step="(\w+)"', history)] == [
        "file", "survey", "accept", "agree", "settle", "close"]
    assert "情形复杂（30日核定）：是" in history and "赔付金额（元）：12000.0" in history
    assert re.findall(r'data-step="(\w+)" method', page) == [  # a closed claim's own steps
        "open_dispute", "record_appraisal", "record_subrogation"]
    listed = client.get(f"/api/work/claim/{claim}").get_json()
    assert listed["state"] == "closed" and listed["history"][1]["on_date"] == TODAY
    assert {a["step"] for a in listed["allowed"]} == {"open_dispute", "record_appraisal",
                                                      "record_subrogation"}


@pytest.fixture(scope="module")
def reported_claim(app, engine, parties) -> int:
    client = sign_in(app.test_client(), engine, "insurer", parties["lead"])
    url, _ = post_step(client, f"/work/claim/new?policy_id={parties['policy']}", "file", {
        "policy_id": str(parties["policy"]), "unit_no": "1-101", "section": "structure",
        "cause": "外墙渗水", "reporter_name": "李四", "reporter_phone": "13900000000"})
    return int(url.rsplit("/", 1)[1])


def test_a_refused_step_says_where_the_claim_is(app, engine, parties, reported_claim):
    client = sign_in(app.test_client(), engine, "insurer", parties["lead"])
    page = page_of(client, f"/work/claim/{reported_claim}")
    refused = client.post(f"/work/claim/{reported_claim}/close",
                          data={"csrf_token": csrf(page)})
    assert refused.status_code == 303
    shown = page_of(client, refused.location)
    assert "理赔案件当前为“已报案”，不能“结案”；可以：" in shown and "查勘" in shown
    api = client.post(f"/api/work/claim/{reported_claim}/close", json={},
                      headers={"X-CSRFToken": csrf(page)})
    assert api.status_code == 400 and "当前为“已报案”" in api.get_json()["error"]


def test_other_insurers_get_404_or_a_refusal(app, engine, parties, reported_claim):
    stranger = sign_in(app.test_client(), engine, "insurer", parties["stranger"])
    assert stranger.get(f"/work/claim/{reported_claim}").status_code == 404
    token = csrf(page_of(stranger, "/tasks"))
    assert stranger.post(f"/work/claim/{reported_claim}/survey",
                         data={"csrf_token": token}).status_code == 404
    assert stranger.post(f"/api/work/claim/{reported_claim}/survey", json={},
                         headers={"X-CSRFToken": token}).status_code == 404
    co = sign_in(app.test_client(), engine, "insurer", parties["co"])
    page = page_of(co, f"/work/claim/{reported_claim}")
    assert 'class="step"' not in page and "当前没有可办理的步骤" in page
    refused = co.post(f"/api/work/claim/{reported_claim}/survey", json={"on": TODAY},
                      headers={"X-CSRFToken": csrf(page)})
    assert refused.status_code == 400 and "首席承保公司" in refused.get_json()["error"]


def test_the_regulator_confirms_a_submitted_policy_through_the_api(app, engine, parties):
    with engine.begin() as conn:
        policy = conn.execute(text("SELECT id FROM policy WHERE status = 'confirmed' "
                                   "AND id <> :p ORDER BY id DESC LIMIT 1"),
                              {"p": parties["policy"]}).scalar_one()
        conn.execute(text("UPDATE policy SET status = 'submitted' WHERE id = :id"), {"id": policy})
    client = sign_in(app.test_client(), engine, "regulator")
    before = client.get(f"/api/work/policy/{policy}").get_json()
    assert before["state"] == "submitted" and {a["step"] for a in before["allowed"]} == {
        "confirm", "return"}
    tasks = page_of(client, "/tasks")
    assert f'href="/work/policy/{policy}"' in tasks
    token = csrf(tasks)
    assert client.post(f"/api/work/policy/{policy}/confirm", json={}).status_code == 400
    done = client.post(f"/api/work/policy/{policy}/confirm", json={},
                       headers={"X-CSRFToken": token})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["from"] == "submitted" and done.get_json()["to"] == "confirmed"
    after = client.get(f"/api/work/policy/{policy}").get_json()
    assert after["state"] == "confirmed" and after["history"][-1]["actor"].startswith("t-reg")


def test_a_tis_submits_a_plan_with_its_documents_and_the_insurer_approves_it(app, engine,
                                                                            parties):
    with engine.begin() as conn:  # the demo made one; this project starts afresh
        conn.execute(text("DELETE FROM risk_management WHERE project_id = :p"),
                     {"p": parties["project"]})
    tis = sign_in(app.test_client(), engine, "tis", parties["tis"])
    new = f"/work/risk_management/new?project_id={parties['project']}"
    page = page_of(tis, new)
    missing = tis.post("/work/risk_management/new/submit_plan", data={
        "csrf_token": csrf(page), "project_id": str(parties["project"]), "summary": "要点"})
    assert "须上传" in page_of(tis, missing.location)
    briefing = "风险交底".encode() * 100
    url, page = post_step(tis, new, "submit_plan", {
        "project_id": str(parties["project"]), "summary": "深基坑、高支模"}, {
        "risk_briefing": ("交底.pdf", briefing), "inspection_plan": ("plan.pdf", b"%PDF-1.4 plan")})
    assert "风险检查计划待审核" in page and "交底.pdf" in page and "风险检查工作计划" in page
    assert hashlib.sha256(briefing).hexdigest() in page
    link = re.search(r'href="(/work/documents/\d+)">下载</a>', page)[1]
    got = tis.get(link)
    assert got.status_code == 200 and got.data == briefing
    assert "attachment" in got.headers["Content-Disposition"]
    assert 'class="step"' not in page  # the insurer's turn
    insurer = sign_in(app.test_client(), engine, "insurer", parties["lead"])
    review = page_of(insurer, "/tasks")
    assert f'href="{url}"' in review and "审核风险交底及检查计划" in review
    _, page = post_step(insurer, url, "approve_plan", {})
    assert 'data-state="inspecting"' in page and "审核通过计划" in page
    stranger = sign_in(app.test_client(), engine, "insurer", parties["stranger"])
    assert stranger.get(link).status_code == 404


def test_the_api_describes_the_four_lifecycles(app, engine):
    client = sign_in(app.test_client(), engine, "regulator")
    machines = {m["name"]: m for m in client.get("/api/lifecycles").get_json()["lifecycles"]}
    assert set(machines) == {"policy", "risk_management", "risk_event", "claim"}
    survey = next(s for s in machines["claim"]["steps"] if s["name"] == "survey")
    assert survey["sources"] == ["reported"] and survey["target"] == "surveyed"
    assert survey["roles"] == ["insurer"] and survey["deadlines"]["stops"] == ["survey"]
    plan = next(s for s in machines["risk_management"]["steps"] if s["name"] == "submit_plan")
    assert [d["kind"] for d in plan["documents"]] == ["risk_briefing", "inspection_plan"]


def test_the_public_is_sent_to_sign_in(app):
    public = app.test_client()
    for url in ("/work/claim/1", "/tasks", "/work/claim/new", "/work/documents/1"):
        response = public.get(url)
        assert response.status_code == 302 and response.location.startswith("/login"), url
    for url in ("/api/work/claim/1", "/api/lifecycles", "/api/tasks"):
        assert public.get(url).status_code == 401, url
    refused = public.post("/api/work/claim/1/close", json={})
    assert refused.status_code == 401 and set(refused.get_json()) == {"error"}
