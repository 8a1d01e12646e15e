"""Uploads: insurers and TIS send import files by page (CSRF) or API (token); a file that
touches anyone else's policy or project is refused as a whole; every import is audited."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import importing
import pytest
from importing import demo_store
from jobs import finished_api, finished_page
from sqlalchemy import text

from conftest import account, sign_in
from loaders.imports.claims import COLUMNS as CLAIM_COLUMNS
from loaders.imports.policies import COLUMNS as POLICY_COLUMNS
from loaders.imports.risk_events import COLUMNS as EVENT_COLUMNS
from webmap import accounts, create_app

POLICY_HEADERS = [c.template_header for c in POLICY_COLUMNS]
EVENT_HEADERS = [c.template_header for c in EVENT_COLUMNS]
CLAIM_HEADERS = [c.template_header for c in CLAIM_COLUMNS]


@pytest.fixture(scope="module")
def store(make_database):
    """A demo store of its own: these tests write, and the shared one must stay as it is."""
    return demo_store(make_database, projects=20)


@pytest.fixture(scope="module")
def app(store):
    return create_app({"TESTING": True,
                       "DATABASE_URL": store.url.render_as_string(hide_password=False)})


@pytest.fixture(scope="module")
def facts(store) -> dict:
    """An insurer and a TIS of the demo, with what is theirs and what is someone else's."""
    def one(sql: str, **params):
        return conn.execute(text(sql), params).one()

    with store.connect() as conn:
        insurer = one("""SELECT o.id, o.name FROM policy_share s JOIN organisation o
            ON o.id = s.insurer_id GROUP BY o.id ORDER BY count(*) DESC, o.id LIMIT 1""")
        foreign = one("""SELECT p.policy_no, o.name AS lead FROM policy p
            JOIN organisation o ON o.id = p.lead_insurer_id WHERE NOT EXISTS (SELECT 1 FROM
            policy_share s WHERE s.policy_id = p.id AND s.insurer_id = :org)
            ORDER BY p.id LIMIT 1""", org=insurer.id)
        own_policy = one("""SELECT p.policy_no FROM policy p WHERE p.lead_insurer_id = :org
            ORDER BY p.id LIMIT 1""", org=insurer.id)
        # a project the insurer may insure: no other insurer leads a live policy on it
        project = one("SELECT permit_no, construction_cost_yuan AS cost FROM project "
                      "WHERE riskmap_may_insure(:org, id) ORDER BY id LIMIT 1", org=insurer.id)
        tis = one("""SELECT o.id, o.name FROM policy p JOIN organisation o
            ON o.id = p.tis_id GROUP BY o.id ORDER BY count(*) DESC, o.id LIMIT 1""")
        own_site = one("""SELECT pr.permit_no FROM project pr JOIN policy p
            ON p.project_id = pr.id WHERE p.tis_id = :org ORDER BY pr.id LIMIT 1""", org=tis.id)
        other_site = one("""SELECT permit_no FROM project pr WHERE NOT EXISTS
            (SELECT 1 FROM policy p WHERE p.project_id = pr.id AND p.tis_id = :org)
            ORDER BY id LIMIT 1""", org=tis.id)
        other_tis = one("SELECT name FROM organisation WHERE kind = 'tis' AND id <> :org "
                        "ORDER BY id LIMIT 1", org=tis.id)
    return {"insurer": insurer, "foreign": foreign, "own_policy": own_policy.policy_no,
            "project": project, "tis": tis,
            "own_site": own_site.permit_no, "other_site": other_site.permit_no,
            "other_tis": other_tis.name}


def policy_row(facts, number: str, **changes) -> dict:
    cost = facts["project"].cost
    row = {"保单号": number, "报建号": facts["project"].permit_no,
           "主承保公司": facts["insurer"].name, "保费（万元）": f"{cost * 15 / 1000 / 10_000:.2f}",
           "费率（%）": "1.5%", "保险金额（万元）": f"{cost / 10_000:.2f}",
           "签单日期": "2024-03-01"}
    return {**row, **changes}


def event_row(permit_no: str, number: str, **changes) -> dict:
    row = {"风险事件编号": number, "报建号": permit_no, "风险类别": "防水", "风险等级": "较重",
           "整改状态": "待整改", "问题描述": "卫生间防水层局部破损", "发现日期": "2024-05-10"}
    return {**row, **changes}


def claim_row(policy_no: str, number: str) -> dict:
    return {"案件号": number, "保单号": policy_no, "房号": "3栋2单元1502", "报案人": "张女士",
            "保险责任": "地基基础和主体结构工程", "报案日期": "2025-03-02"}


def csv_bytes(tmp_path: Path, headers: list[str], rows: list[dict]) -> bytes:
    return importing.write_csv(tmp_path / "upload.csv", headers, rows).read_bytes()


def token_for(store, role: str, organisation_id: int | None = None) -> dict:
    with store.begin() as conn:
        token = accounts.issue_token(conn, account(store, role, organisation_id), "test system",
                                     actor="test")
    return {"Authorization": f"Bearer {token}"}


def api_upload(app, headers: dict, kind: str, content: bytes, name: str = "upload.csv",
               **fields):
    """The import's final answer: the upload's 202 followed through its job."""
    queued = app.test_client().post(f"/api/imports/{kind}", headers=headers,
                                    data={"file": (io.BytesIO(content), name), **fields},
                                    content_type="multipart/form-data")
    return finished_api(app, queued, headers)


def page_upload(client, kind: str, content: bytes, name: str, **fields):
    page = client.get("/imports")
    assert page.status_code == 200, page.get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                     page.get_data(as_text=True))[1]
    queued = client.post("/imports", data={"csrf_token": csrf, "kind": kind,
                                           "file": (io.BytesIO(content), name), **fields},
                         content_type="multipart/form-data")
    return finished_page(client, queued)


SNAPSHOT = text("""SELECT
    (SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM claim t),
    (SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM policy t),
    (SELECT md5(string_agg(t::text, ',' ORDER BY t.policy_id, t.insurer_id)) FROM policy_share t),
    (SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM risk_event t),
    (SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM inspection t),
    (SELECT count(*) FROM import_log)""")


def snapshot(store) -> tuple:
    with store.connect() as conn:
        return tuple(conn.execute(SNAPSHOT).one())


def lead_of(store, policy_no: str) -> str | None:
    with store.connect() as conn:
        return conn.execute(text("""SELECT o.name FROM policy p JOIN organisation o
            ON o.id = p.lead_insurer_id WHERE p.policy_no = :p"""), {"p": policy_no}).scalar()


def audit_lines(store, target: str) -> list[dict]:
    with store.connect() as conn:
        rows = conn.execute(text("SELECT actor, detail FROM audit_log WHERE action = 'import' "
                                 "AND target = :t ORDER BY id"), {"t": target}).all()
    return [{"actor": r.actor, **r.detail} for r in rows]


def test_an_insurer_uploads_policies_on_the_page(app, store, facts, tmp_path):
    client = sign_in(app.test_client(), store, "insurer", facts["insurer"].id)
    content = csv_bytes(tmp_path, POLICY_HEADERS, [policy_row(facts, "UP-PAGE-1")])
    response = page_upload(client, "policies", content, "保单 2024.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "已导入" in page and "保单 2024.csv" in page
    assert lead_of(store, "UP-PAGE-1") == facts["insurer"].name
    [line] = audit_lines(store, "保单 2024.csv")
    assert line["actor"] == account(store, "insurer", facts["insurer"].id)
    assert (line["kind"], line["rows"], line["inserted"], line["result"], line["via"]) == (
        "policies", 1, 1, "imported", "web")


def test_a_form_without_its_csrf_token_imports_nothing(app, store, facts, tmp_path):
    client = sign_in(app.test_client(), store, "insurer", facts["insurer"].id)
    content = csv_bytes(tmp_path, POLICY_HEADERS, [policy_row(facts, "UP-NOCSRF")])
    response = client.post("/imports", data={"kind": "policies",
                                             "file": (io.BytesIO(content), "p.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and lead_of(store, "UP-NOCSRF") is None


def test_an_insurer_uploads_policies_with_a_token(app, store, facts, tmp_path):
    headers = token_for(store, "insurer", facts["insurer"].id)
    content = csv_bytes(tmp_path, POLICY_HEADERS, [policy_row(facts, "UP-API-1")])
    checked = api_upload(app, headers, "policies", content, dry_run="1")
    assert checked.status_code == 200 and checked.json["dry_run"]
    assert not checked.json["imported"] and lead_of(store, "UP-API-1") is None
    response = api_upload(app, headers, "policies", content, "policies-api.csv")
    assert response.status_code == 200, response.json
    assert response.json["imported"] and response.json["counts"]["inserted"] == 1
    assert response.json["file"] == "policies-api.csv" and response.json["errors"] == []
    assert lead_of(store, "UP-API-1") == facts["insurer"].name
    assert [line["via"] for line in audit_lines(store, "policies-api.csv")] == ["api"]


@pytest.mark.parametrize("trespass", ["takes over a stored policy", "names another lead"])
def test_a_policy_of_another_insurer_refuses_the_whole_file(app, store, facts, tmp_path,
                                                            trespass):
    foreign = facts["foreign"]
    bad = (policy_row(facts, foreign.policy_no) if trespass.startswith("takes")
           else policy_row(facts, "UP-OTHER", 主承保公司=foreign.lead))
    rows = [policy_row(facts, "UP-MINE"), bad]
    content = csv_bytes(tmp_path, POLICY_HEADERS, rows)
    before = snapshot(store)
    response = api_upload(app, token_for(store, "insurer", facts["insurer"].id), "policies",
                          content, "混合保单.csv")
    assert response.status_code == 422, response.json
    [problem] = response.json["errors"]
    column, words = (("保单号", "已被其他公司的保单使用") if trespass.startswith("takes")
                     else ("主承保公司", "主承保公司须为本公司"))
    assert (problem["file"], problem["row"], problem["column"]) == ("混合保单.csv", 3, column)
    assert problem["value"] == bad[column] and words in problem["message"]
    assert not response.json["imported"] and snapshot(store) == before
    assert lead_of(store, foreign.policy_no) == foreign.lead
    assert audit_lines(store, "混合保单.csv")[-1]["result"] == "refused"


def test_the_page_shows_the_refusal_with_every_value_escaped(app, store, facts, tmp_path):
    client = sign_in(app.test_client(), store, "insurer", facts["insurer"].id)
    rows = [policy_row(facts, "UP-XSS", 报建号="<script>alert(1)</script>")]
    response = page_upload(client, "policies", csv_bytes(tmp_path, POLICY_HEADERS, rows),
                           "<img src=x onerror=alert(2)>.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "未导入任何数据" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "<img" not in page and "&lt;img src=x onerror=alert(2)&gt;.csv" in page


def test_an_insurer_files_claims_on_its_own_policies_only(app, store, facts, tmp_path):
    headers = token_for(store, "insurer", facts["insurer"].id)
    own = csv_bytes(tmp_path, CLAIM_HEADERS, [claim_row(facts["own_policy"], "UP-CL-1")])
    response = api_upload(app, headers, "claims", own)
    assert response.status_code == 200, response.json
    assert response.json["counts"]["inserted"] == 1
    before = snapshot(store)
    rows = [claim_row(facts["own_policy"], "UP-CL-2"),
            claim_row(facts["foreign"].policy_no, "UP-CL-3")]
    refused = api_upload(app, headers, "claims", csv_bytes(tmp_path, CLAIM_HEADERS, rows))
    assert refused.status_code == 422 and snapshot(store) == before
    [problem] = refused.json["errors"]
    assert (problem["row"], problem["column"], problem["value"]) == (
        3, "保单号", facts["foreign"].policy_no)


def test_a_tis_uploads_events_of_its_own_projects_only(app, store, facts, tmp_path):
    headers = token_for(store, "tis", facts["tis"].id)
    own = csv_bytes(tmp_path, EVENT_HEADERS, [event_row(facts["own_site"], "UP-RE-1")])
    response = api_upload(app, headers, "risk-events", own)
    assert response.status_code == 200 and response.json["counts"]["inserted"] == 1
    before = snapshot(store)
    rows = [event_row(facts["own_site"], "UP-RE-2"), event_row(facts["other_site"], "UP-RE-3")]
    refused = api_upload(app, headers, "risk-events", csv_bytes(tmp_path, EVENT_HEADERS, rows))
    assert refused.status_code == 422 and snapshot(store) == before
    [problem] = refused.json["errors"]
    assert (problem["row"], problem["column"], problem["value"]) == (3, "报建号",
                                                                      facts["other_site"])
    # a project outside the TIS's reach gets the answer of one that does not exist
    assert "库中无此报建号的项目" in problem["message"]


def test_a_tis_cannot_file_events_under_another_tis(app, store, facts, tmp_path):
    row = event_row(facts["own_site"], "UP-RE-4", 风险管理机构=facts["other_tis"],
                    检查阶段="主体结构施工")
    before = snapshot(store)
    response = api_upload(app, token_for(store, "tis", facts["tis"].id), "risk-events",
                          csv_bytes(tmp_path, EVENT_HEADERS, [row]))
    assert response.status_code == 422 and snapshot(store) == before
    assert response.json["errors"][0]["value"] == facts["other_tis"]


def test_a_tis_may_not_upload_policies_nor_an_insurer_projects(app, store, facts, tmp_path):
    content = csv_bytes(tmp_path, POLICY_HEADERS, [policy_row(facts, "UP-TIS")])
    response = api_upload(app, token_for(store, "tis", facts["tis"].id), "policies", content)
    assert response.status_code == 403 and "只能上传" in response.json["error"]
    response = api_upload(app, token_for(store, "insurer", facts["insurer"].id), "projects",
                          content)
    assert response.status_code == 403 and lead_of(store, "UP-TIS") is None


@pytest.mark.parametrize("role", ["developer", "planner"])
def test_roles_without_uploads_get_a_clear_403(app, store, role):
    organisation = None
    if role == "developer":
        with store.connect() as conn:
            organisation = conn.execute(text("SELECT min(id) FROM organisation "
                                             "WHERE kind = 'developer'")).scalar_one()
    page = sign_in(app.test_client(), store, role, organisation).get("/imports")
    assert page.status_code == 403 and "无权上传数据" in page.get_data(as_text=True)
    api = api_upload(app, token_for(store, role, organisation), "policies", b"x")
    assert api.status_code == 403 and "may not upload" in api.json["error"]


def test_the_api_refuses_a_session_cookie(app, store, facts, tmp_path):
    client = sign_in(app.test_client(), store, "regulator")
    content = csv_bytes(tmp_path, POLICY_HEADERS, [policy_row(facts, "UP-COOKIE")])
    response = client.post("/api/imports/policies",
                           data={"file": (io.BytesIO(content), "p.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 401 and "API 令牌" in response.json["error"]
    assert lead_of(store, "UP-COOKIE") is None


def test_bad_requests_say_what_is_wrong(app, store):
    headers = token_for(store, "regulator")
    assert app.test_client().post("/api/imports/policies", headers=headers).status_code == 400
    assert api_upload(app, headers, "no-such-kind", b"x").status_code == 404
    bad_crs = api_upload(app, headers, "projects", b"x", crs="EPSG:nonsense")
    assert bad_crs.status_code == 400 and "CRS" in bad_crs.json["error"]
    unreadable = api_upload(app, headers, "projects", b"x", "old.xls")
    assert unreadable.status_code == 422 and ".xlsx" in unreadable.json["errors"][0]["message"]
    assert unreadable.json["errors"][0]["file"] == "old.xls"


def test_an_oversized_upload_gets_413(store):
    small = create_app({"TESTING": True, "UPLOAD_MAX_MB": 1,
                        "DATABASE_URL": store.url.render_as_string(hide_password=False)})
    big = b"x" * (1024 * 1024 + 1)
    response = api_upload(small, token_for(store, "regulator"), "projects", big)
    assert response.status_code == 413 and "1 MB" in response.json["error"]
    client = sign_in(small.test_client(), store, "regulator")
    page = client.post("/imports", data={"kind": "projects", "file": (io.BytesIO(big), "b.csv")},
                       content_type="multipart/form-data")
    assert page.status_code == 413 and "1 MB 的上限" in page.get_data(as_text=True)


def test_a_command_line_import_is_audited_too(store, facts, tmp_path):
    path = importing.write_csv(tmp_path / "命令行.csv", POLICY_HEADERS,
                               [policy_row(facts, "UP-CLI")])
    assert importing.run_import(store, "policies", path).written
    [line] = audit_lines(store, "命令行.csv")
    assert line["actor"] == "test" and line["result"] == "imported"
    assert json.dumps(line, ensure_ascii=False).count("UP-CLI") == 0  # counts, not contents


def _zipped_shapefile(tmp_path: Path, with_prj: bool) -> bytes:
    import zipfile

    import geopandas as gpd
    from shapely.geometry import Point

    folder = tmp_path / "shp"
    folder.mkdir(exist_ok=True)
    frame = gpd.GeoDataFrame({"报建号": ["SHP-1"], "项目名称": ["无坐标系项目"]},
                             geometry=[Point(102.70, 25.04)], crs="EPSG:4326")
    frame.to_file(folder / "项目.shp", encoding="GBK")  # 10-byte field names: GBK fits
    if not with_prj:
        (folder / "项目.prj").unlink()
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        for part in folder.iterdir():
            archive.write(part, part.name)
    return packed.getvalue()


def test_a_shapefile_without_prj_is_refused_unless_its_crs_is_stated(app, store, tmp_path):
    headers = token_for(store, "regulator")
    content = _zipped_shapefile(tmp_path, with_prj=False)
    refused = api_upload(app, headers, "projects", content, "项目.zip", dry_run="1")
    assert refused.status_code == 422
    [problem] = refused.json["errors"]
    assert ".prj" in problem["message"] and "坐标系" in problem["message"]
    stated = api_upload(app, headers, "projects", content, "项目.zip", dry_run="1", crs="wgs84")
    assert all(".prj" not in p["message"] for p in stated.json["errors"])


def test_messages_never_show_where_the_server_keeps_files(app, store, tmp_path):
    import zipfile

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("坏文件.shp", b"this is no shapefile at all" * 10)
        archive.writestr("坏文件.dbf", b"nor is this a table")
    answer = api_upload(app, token_for(store, "regulator"), "projects", packed.getvalue(),
                        "坏文件.zip")
    assert answer.status_code == 422
    message = answer.json["errors"][0]["message"]
    assert "坏文件" in message
    assert app.config["UPLOAD_DIR"] not in message and "/tmp" not in message
    assert "riskmap-unzip" not in message and not re.search(r"/[a-z]+/", message)
