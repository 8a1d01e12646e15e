"""The owner's channel (issue 9): find my building, read who insures it, each section's period,
the hotline and the insurer's deadlines, download the 告知书 as a PDF (its text read back with
pdftotext); a building without live cover is not found; every name is escaped. And the other
insurance of a project on its (internal) page."""

from __future__ import annotations

import subprocess

import pytest
from importing import demo_store
from sqlalchemy import text

from webmap import create_app

XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def store(make_database):
    """A store of its own (a test renames a building) with the demo's 60 projects."""
    return demo_store(make_database, projects=60)


@pytest.fixture(scope="module")
def app(store):
    return create_app({"DATABASE_URL": store.url.render_as_string(hide_password=False),
                       "TESTING": True, "OWNER_RATE_LIMIT": "1000 per hour"})


@pytest.fixture()
def web(app):
    return app.test_client()


def _one(store, sql: str):
    with store.connect() as conn:
        return conn.execute(text(sql)).one()


def _all(store, sql: str, **params):
    with store.connect() as conn:
        return conn.execute(text(sql), params).all()


@pytest.fixture(scope="module")
def building(store):
    """An insured, co-insured building whose cover has started: id, name, community, lead."""
    return _one(store, """
        SELECT p.id, p.public_ref AS ref, p.name, p.community, o.name AS lead,
               o.claim_hotline AS hotline
        FROM project p JOIN policy po ON po.project_id = p.id
        JOIN organisation o ON o.id = po.lead_insurer_id
        WHERE po.status IN ('submitted', 'confirmed') AND p.completion_date IS NOT NULL
          AND (SELECT count(*) FROM policy_share s WHERE s.policy_id = po.id) > 1
        ORDER BY p.id LIMIT 1""")


def _sections(store, project_id: int):
    return _all(store, """
        SELECT k.name_zh, cs.starts_on, cs.ends_on FROM coverage_section cs
        JOIN coverage_section_kind k ON k.code = cs.section
        JOIN policy po ON po.id = cs.policy_id
        WHERE po.project_id = :p AND po.status IN ('submitted', 'confirmed')""", p=project_id)


def test_an_owner_finds_their_building(web, building):
    page = web.get("/owner", query_string={"q": building.community}).get_data(as_text=True)
    assert 'id="buildings"' in page and building.name in page
    assert f"/owner/{building.ref}" in page and f'/owner/{building.id}"' not in page
    none = web.get("/owner", query_string={"q": "没有这个小区"}).get_data(as_text=True)
    assert 'id="no-buildings"' in none


def test_the_page_shows_insurers_sections_dates_hotline_and_deadlines(web, store, building):
    response = web.get(f"/owner/{building.ref}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    co = _all(store, """SELECT o.name FROM policy po JOIN policy_share s ON s.policy_id = po.id
        JOIN organisation o ON o.id = s.insurer_id WHERE po.project_id = :p AND NOT s.is_lead""",
              p=building.id)
    assert building.lead in page and co and all(name in page for (name,) in co)
    assert building.hotline and building.hotline in page
    for label, starts, ends in _sections(store, building.id):
        assert label in page and str(starts) in page and str(ends) in page
    for words in ("2 日内派员现场查勘", "7 日内作出核定", "30 日内作出核定",
                  "达成赔偿协议之日起 7 日内", "3 日内发出不予赔偿通知书", "业主变更通知义务"):
        assert words in page
    assert f"/claims/new/{building.ref}" in page and f"/owner/{building.ref}/notice.pdf" in page


def test_a_building_whose_cover_has_not_started_says_so(web, store):
    site = _one(store, """SELECT p.public_ref AS ref FROM project p
        JOIN policy po ON po.project_id = p.id
        WHERE po.status IN ('submitted', 'confirmed') AND p.completion_date IS NULL
        ORDER BY p.id LIMIT 1""")
    page = web.get(f"/owner/{site.ref}").get_data(as_text=True)
    assert "尚未起算" in page and "项目尚未竣工验收" in page


def _pdftext(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "notice.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def test_the_notice_pdf_holds_what_the_plan_asks(web, store, building, tmp_path):
    response = web.get(f"/owner/{building.ref}/notice.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF") and "attachment" in response.headers[
        "Content-Disposition"]
    flat = "".join(_pdftext(response.data, tmp_path).split())
    for words in ("工程质量潜在缺陷保险告知书", building.name, building.lead, building.hotline,
                  "保险范围", "保险期间", "保险责任开始时间", "保险理赔流程",
                  "负责保险理赔工作的部门及其联系方式", "业主变更通知义务", "两书一证",
                  "商品住宅质量保证书"):
        assert "".join(words.split()) in flat, words
    for label, starts, ends in _sections(store, building.id):
        assert label in flat and str(starts) in flat and str(ends) in flat


def test_a_building_without_live_cover_is_not_found(web, store):
    bare = _one(store, """SELECT p.public_ref AS ref FROM project p
        WHERE NOT EXISTS (SELECT 1 FROM policy po
        WHERE po.project_id = p.id AND po.status IN ('submitted', 'confirmed'))
        ORDER BY p.id LIMIT 1""")
    for path in (f"/owner/{bare.ref}", f"/owner/{bare.ref}/notice.pdf", "/owner/999999",
                 "/owner/1", "/owner/" + "0" * 32):
        assert web.get(path).status_code == 404, path


def test_names_are_escaped(web, store, building, tmp_path):
    with store.begin() as conn:
        old = conn.execute(text("UPDATE project SET community = :x WHERE id = :p "
                                "RETURNING (SELECT community FROM project WHERE id = :p)"),
                           {"x": XSS, "p": building.id}).scalar_one()
    try:
        page = web.get(f"/owner/{building.ref}").get_data(as_text=True)
        found = web.get("/owner", query_string={"q": "<script>"}).get_data(as_text=True)
        pdf = web.get(f"/owner/{building.ref}/notice.pdf").data
        assert XSS not in page and "&lt;script&gt;" in page
        assert XSS not in found and "&lt;script&gt;" in found
        assert "<script>alert(1)</script>" in _pdftext(pdf, tmp_path)  # printed as text
    finally:
        with store.begin() as conn:
            conn.execute(text("UPDATE project SET community = :x WHERE id = :p"),
                         {"x": old, "p": building.id})


def test_the_project_page_lists_other_insurance(store, client_for):
    row = _one(store, """SELECT op.project_id, op.policy_no, o.name AS insurer,
        i.name AS insured FROM other_policy op JOIN organisation o ON o.id = op.insurer_id
        JOIN organisation i ON i.id = op.insured_id
        WHERE op.kind = 'liability_construction' ORDER BY op.id LIMIT 1""")
    page = client_for(store).get(f"/projects/{row.project_id}").get_data(as_text=True)
    assert 'id="other-policies"' in page and "施工单位工程质量责任保险" in page
    assert row.policy_no in page and row.insurer in page and row.insured in page
    kinds = {k for (k,) in _all(store, "SELECT DISTINCT kind FROM other_policy")}
    assert {"liability_survey", "liability_design", "liability_construction",
            "liability_supervision"} <= kinds


def _pages(pdf: bytes, tmp_path) -> list[str]:
    return _pdftext(pdf, tmp_path).split("\f")


def test_the_notice_gives_the_public_address_and_never_a_loopback_one(store, building,
                                                                      tmp_path):
    """Served on this machine with no PUBLIC_BASE_URL, the 告知书 sends the owner to the
    hotline; with one, it prints that address (under the app's prefix) for the claim form."""
    local = create_app({"DATABASE_URL": store.url.render_as_string(hide_password=False),
                        "TESTING": True, "OWNER_RATE_LIMIT": "1000 per hour"}).test_client()
    pdf = local.get(f"/owner/{building.ref}/notice.pdf", base_url="http://127.0.0.1:5000").data
    flat = "".join(_pdftext(pdf, tmp_path).split())
    assert "127.0.0.1" not in flat and "localhost" not in flat
    assert "报案请拨打上表理赔电话" in flat

    public = create_app({"DATABASE_URL": store.url.render_as_string(hide_password=False),
                         "TESTING": True, "OWNER_RATE_LIMIT": "1000 per hour",
                         "PUBLIC_BASE_URL": "https://idi.km.gov.cn/fxdt"}).test_client()
    pdf = public.get(f"/owner/{building.ref}/notice.pdf", base_url="http://127.0.0.1:5000").data
    flat = "".join(_pdftext(pdf, tmp_path).split())
    assert f"https://idi.km.gov.cn/fxdt/claims/new/{building.ref}" in flat


def test_the_notice_fills_its_first_page_and_names_the_district_once(web, store, building,
                                                                     tmp_path):
    district, address = _all(store, """SELECT d.name, p.address FROM project p
        JOIN district d ON d.code = p.district_code WHERE p.id = :p""", p=building.id)[0]
    pages = _pages(web.get(f"/owner/{building.ref}/notice.pdf").data, tmp_path)
    first = "".join(pages[0].split())
    # page 1 holds the heading block and the cover's first sections, not a title alone
    assert "工程质量潜在缺陷保险告知书" in first and "一、保险范围" in first
    assert "二、保险期间和保险责任开始时间" in first
    flat = "".join("".join(pages).split())
    assert address.startswith(district)  # the demo writes addresses that name the district
    assert district + address not in flat and address in flat


def test_a_loopback_public_base_url_stops_the_service_at_start():
    from webmap.settings import SettingError, validate

    with pytest.raises(SettingError, match="RISKMAP_PUBLIC_BASE_URL.*本机地址"):
        validate({"PUBLIC_BASE_URL": "http://localhost:5000"})
