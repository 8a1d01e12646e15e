"""The staff pages: public-layer approval through forms, and the audit log for admins."""

from __future__ import annotations

import re

import pytest
from importing import demo_store
from sqlalchemy import text

from conftest import TEST_PASSWORD, account
from webmap import create_app
from webmap.cli import main


@pytest.fixture(scope="module")
def site(make_database):
    engine = demo_store(make_database, projects=300)
    app = create_app({"TESTING": True, "LOGIN_RATE_LIMIT": "100 per minute",
                      "DATABASE_URL": engine.url.render_as_string(hide_password=False)})
    return app, engine


def signed_in(site, role: str, organisation_id: int | None = None):
    app, engine = site
    client = app.test_client()
    username = account(engine, role, organisation_id)
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": username, "password": TEST_PASSWORD,
                                           "csrf_token": csrf(page)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]


def test_a_regulator_drafts_previews_submits_and_approves_through_the_pages(site):
    client = signed_in(site, "regulator")
    page = client.get("/admin/publications").get_data(as_text=True)
    response = client.post("/admin/publications", data={
        "layer": "premium_total", "period": "", "stage": "", "title": "各区保费<b>",
        "csrf_token": csrf(page)})
    assert response.status_code == 302
    detail_url = response.location
    detail = client.get(detail_url).get_data(as_text=True)
    assert "各区保费&lt;b&gt;" in detail and "各区保费<b>" not in detail  # escaped
    assert 'data-status="draft"' in detail and 'id="preview"' in detail
    pub_id = int(detail_url.rsplit("/", 1)[1])
    for step in ("submitted", "approved"):
        token = csrf(client.get(detail_url).get_data(as_text=True))
        done = client.post(f"/admin/publications/{pub_id}/{step}", data={"csrf_token": token})
        assert done.status_code == 303
    detail = client.get(detail_url).get_data(as_text=True)
    assert 'data-status="approved"' in detail and 'id="frozen"' in detail
    steps = re.findall(r"<tr><td>(草稿|待审核|已批准)</td><td>(t-regulator)</td>", detail)
    assert [s for s, _ in steps] == ["草稿", "待审核", "已批准"]
    public = site[0].test_client()
    assert pub_id in [i["id"] for i in public.get("/api/public/layers").get_json()["layers"]]


def test_a_step_without_a_token_or_out_of_order_is_refused_with_a_message(site):
    client = signed_in(site, "regulator")
    page = client.get("/admin/publications").get_data(as_text=True)
    made = client.post("/admin/publications", data={"layer": "projects", "csrf_token": csrf(page)})
    pub_id = int(made.location.rsplit("/", 1)[1])
    no_token = client.post(f"/admin/publications/{pub_id}/submitted")
    assert no_token.status_code == 400 and "表单已过期" in no_token.get_data(as_text=True)
    token = csrf(client.get(made.location).get_data(as_text=True))
    response = client.post(f"/admin/publications/{pub_id}/approved", data={"csrf_token": token},
                           follow_redirects=True)
    assert "草稿 (draft): it may go to submitted, withdrawn" in response.get_data(as_text=True)


def test_tenants_and_the_public_cannot_reach_the_staff_pages(site):
    _, engine = site
    with engine.connect() as conn:
        insurer = conn.execute(text("SELECT id FROM organisation WHERE kind = 'insurer' "
                                    "ORDER BY id LIMIT 1")).scalar_one()
    insurer_client = signed_in(site, "insurer", insurer)
    assert insurer_client.get("/admin/publications").status_code == 403
    assert "无权访问" in insurer_client.get("/admin/audit").get_data(as_text=True)
    regulator = signed_in(site, "regulator")
    assert regulator.get("/admin/audit").status_code == 403  # admins only
    anonymous = site[0].test_client().get("/admin/publications")
    assert anonymous.status_code == 302 and "/login" in anonymous.location


def test_the_admin_reads_who_signed_in_and_who_failed(site):
    app, _ = site
    stranger = app.test_client()
    page = stranger.get("/login").get_data(as_text=True)
    stranger.post("/login", data={"username": "nobody<script>", "password": "wrong-password",
                                  "csrf_token": csrf(page)})
    admin = signed_in(site, "admin")
    page = admin.get("/admin/audit?action=login.failed").get_data(as_text=True)
    assert "登录失败" in page and "nobody&lt;script&gt;" in page and "<script>" not in page
    assert 'data-action="login"' not in page  # the filter holds
    everything = admin.get("/admin/audit").get_data(as_text=True)
    assert 'data-action="login"' in everything and "t-admin" in everything
    bad = admin.get("/admin/audit?since=yesterday")
    assert bad.status_code == 400 and "起始日期有误" in bad.get_data(as_text=True)


def test_the_demo_approves_public_layers_so_the_public_map_has_something(make_database):
    engine = demo_store(make_database)
    app = create_app({"TESTING": True,
                      "DATABASE_URL": engine.url.render_as_string(hide_password=False)})
    result = app.test_cli_runner().invoke(main, ["demo", "--projects", "200"])
    assert result.exit_code == 0, result.output
    assert "各区承保项目数（累计）" in result.output and "demo-regulator" in result.output
    layers = app.test_client().get("/api/public/layers").get_json()["layers"]
    assert [item["title"] for item in layers] == [
        "各区风险事件数（累计）", "各区保费（累计）", "各区承保项目数（累计）"]
