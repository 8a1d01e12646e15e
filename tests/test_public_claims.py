"""The owners' claim pages: find the building, read its cover, file a claim without an account
(refused, with the rule, outside the cover), and follow it with its number and secret."""

from __future__ import annotations

import re

import pytest
from importing import demo_store
from sqlalchemy import text

from geo.claims import secret_hash
from webmap import create_app

XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def store(make_database):
    """A store of its own (these tests write claims) with the demo's 60 projects."""
    return demo_store(make_database, projects=60)


def _app(store, **config):
    return create_app({"DATABASE_URL": store.url.render_as_string(hide_password=False),
                       "TESTING": True, "CLAIM_RATE_LIMIT": "1000 per hour",
                       "OWNER_RATE_LIMIT": "1000 per hour", **config})


@pytest.fixture(scope="module")
def app(store):
    return _app(store)


@pytest.fixture()
def web(app):
    return app.test_client()


def _one(store, sql: str):
    with store.connect() as conn:
        return conn.execute(text(sql)).one()


@pytest.fixture(scope="module")
def covered(store):
    """A building whose structure cover runs on the data's day: (id, ref, name, community)."""
    return _one(store, """
        SELECT p.id, p.public_ref AS ref, p.name, p.community FROM project p
        JOIN policy po ON po.project_id = p.id
        JOIN coverage_section cs ON cs.policy_id = po.id AND cs.section = 'structure'
        CROSS JOIN data_version v
        WHERE po.status IN ('submitted', 'confirmed')
          AND v.as_of BETWEEN cs.starts_on AND cs.ends_on
          AND NOT EXISTS (SELECT 1 FROM coverage_section d WHERE d.policy_id = po.id
                          AND d.section = 'decoration')
        ORDER BY p.id LIMIT 1""")


@pytest.fixture(scope="module")
def building_site(store):
    """An insured building not yet accepted on completion: its cover has not started."""
    return _one(store, """
        SELECT p.id, p.public_ref AS ref, p.name FROM project p
        JOIN policy po ON po.project_id = p.id
        JOIN coverage_section cs ON cs.policy_id = po.id AND cs.section = 'structure'
        WHERE po.status IN ('submitted', 'confirmed') AND cs.starts_on IS NULL
        ORDER BY p.id LIMIT 1""")


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


def claim_form(**overrides) -> dict:
    return {"unit_no": "3栋2单元1101", "section": "structure", "cause": "客厅承重墙出现斜向裂缝",
            "reporter_name": "张先生", "reporter_phone": "13800000000", "is_emergency": "on",
            **overrides}


def file_claim(web, ref: str, **overrides):
    # a building with nothing in cover shows no form: the session's token from another page
    page = web.get("/claims/follow").get_data(as_text=True)
    return web.post(f"/claims/new/{ref}",
                    data={**claim_form(**overrides), "csrf_token": csrf(page)})


def filed_pair(response) -> tuple[str, str]:
    page = response.get_data(as_text=True)
    return (re.search(r'id="claim-no">([^<]+)<', page)[1],
            re.search(r'id="claim-secret">([^<]+)<', page)[1])


def follow(web, number: str, secret: str):
    page = web.get("/claims/follow").get_data(as_text=True)
    return web.post("/claims/follow", data={"claim_no": number, "secret": secret,
                                             "csrf_token": csrf(page)})


def claim_count(store) -> int:
    return _one(store, "SELECT count(*) FROM claim")[0]


def test_an_owner_finds_the_building_by_community(web, covered):
    answer = web.get("/claims/new", query_string={"q": covered.community})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert covered.name in page and f"/claims/new/{covered.ref}" in page
    assert f'/claims/new/{covered.id}"' not in page
    assert "业主报案" in page  # the header's link, for everyone
    nothing = web.get("/claims/new", query_string={"q": "%"}).get_data(as_text=True)
    assert 'id="no-buildings"' in nothing  # a wildcard is a character, not "everything"


def test_the_cover_page_shows_sections_dates_hotline_and_deadlines(web, store, covered,
                                                                   building_site):
    page = web.get(f"/claims/new/{covered.ref}").get_data(as_text=True)
    with store.connect() as conn:
        hotline = conn.execute(text("""SELECT o.claim_hotline FROM policy po
            JOIN organisation o ON o.id = po.lead_insurer_id WHERE po.project_id = :p"""),
            {"p": covered.id}).scalar_one()
    assert "地基基础和主体结构工程" in page and "保温和防水工程" in page
    assert hotline in page and "可以报案" in page
    for words in ("二日内现场查勘", "七日内作出核定；情形复杂的三十日内", "七日内维修或赔偿",
                  "三日内发出通知书"):
        assert words in page
    assert 'name="csrf_token"' in page and 'name="reporter_phone"' in page
    site = web.get(f"/claims/new/{building_site.ref}").get_data(as_text=True)
    assert "尚未起算" in site and "尚未竣工验收" in site
    assert web.get("/claims/new/999999").status_code == 404


def test_a_claim_inside_the_cover_is_filed_with_number_and_secret(web, store, covered):
    answer = file_claim(web, covered.ref)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200, page
    assert answer.headers["Cache-Control"] == "no-store"
    number, secret = filed_pair(answer)
    assert re.fullmatch(r"CL\d{14}", number) and len(secret) >= 12
    assert "只显示这一次" in page and "保险期间内" in page
    with store.connect() as conn:
        claim = conn.execute(text("SELECT * FROM claim WHERE claim_no = :n"), {"n": number}).one()
        steps = conn.execute(text("SELECT step, to_state, actor FROM lifecycle_step "
                                  "WHERE lifecycle = 'claim' AND entity_id = :id"),
                             {"id": claim.id}).all()
        audit = conn.execute(text("SELECT actor, detail FROM audit_log WHERE action = "
                                  "'claim.file' AND target = :t"), {"t": f"claim:{claim.id}"}).all()
    assert claim.status == "reported" and claim.is_emergency and claim.unit_no == "3栋2单元1101"
    assert claim.secret_hash == secret_hash(secret) and secret not in claim.secret_hash
    assert [tuple(s) for s in steps] == [("file", "reported", "anonymous")]
    assert len(audit) == 1 and audit[0].detail["claim_no"] == number


def test_the_form_is_offered_only_for_sections_in_cover(web, covered, building_site):
    """A building whose cover has not started shows why and no form to fill in vain; a covered
    one offers only the sections a claim filed today is inside."""
    early = web.get(f"/claims/new/{building_site.ref}").get_data(as_text=True)
    assert 'id="no-cover"' in early and 'id="claim-form"' not in early
    assert "尚未竣工验收" in early and "建设单位负责维修" in early and 'href="tel:' in early
    page = web.get(f"/claims/new/{covered.ref}").get_data(as_text=True)
    offered = set(re.findall(r'<option value="([a-z_]+)"', page))
    rows = re.findall(r'<tr data-section="([a-z_]+)">.*?<td class="(covered|uncovered)"', page,
                      re.S)
    assert offered and offered == {code for code, state in rows if state == "covered"}
    assert "decoration" not in offered


def test_a_claim_outside_the_cover_is_refused_with_the_rule_and_files_nothing(
        web, store, covered, building_site):
    before = claim_count(store)
    early = file_claim(web, building_site.ref)
    page = early.get_data(as_text=True)
    assert early.status_code == 422
    assert 'id="refusal"' in page and "尚未竣工验收" in page and "理赔电话" in page
    assert 'id="claim-no"' not in page
    uncovered = file_claim(web, covered.ref, section="decoration")
    assert uncovered.status_code == 422
    assert "不含“建筑装饰装修工程”" in uncovered.get_data(as_text=True)
    missing = file_claim(web, covered.ref, reporter_phone="")
    assert missing.status_code == 422 and "联系电话" in missing.get_data(as_text=True)
    assert claim_count(store) == before


def test_an_owner_follows_the_claim_with_its_secret_only(web, covered):
    number, secret = filed_pair(file_claim(web, covered.ref))
    shown = follow(web, number, secret)
    page = shown.get_data(as_text=True)
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert re.search(r'id="claim-status">已报案<', page)
    assert 'data-deadline="查勘"' in page and 'data-deadline="核定"' in page
    assert 'data-step="file"' in page and "报案" in page and "理赔电话" in page
    assert secret not in page  # the secret is not written back
    for wrong in (follow(web, number, secret + "x"), follow(web, "CL00000000000000", secret),
                  follow(web, number, "")):
        text_ = wrong.get_data(as_text=True)
        assert wrong.status_code == 404 and 'id="follow-none"' in text_
        assert 'id="claim-status"' not in text_ and "已报案" not in text_


def test_forms_without_the_csrf_token_are_refused(web, store, covered):
    before = claim_count(store)
    refused = web.post(f"/claims/new/{covered.ref}", data=claim_form())
    assert refused.status_code == 400 and "表单已过期" in refused.get_data(as_text=True)
    assert web.post("/claims/follow", data={"claim_no": "x", "secret": "y"}).status_code == 400
    assert claim_count(store) == before


def test_what_an_owner_types_is_shown_as_text(web, covered):
    # refused for the missing phone, the form comes back holding what was typed
    echoed = file_claim(web, covered.ref, cause=XSS, unit_no=XSS,
                        reporter_phone="").get_data(as_text=True)
    assert XSS not in echoed and "&lt;script&gt;alert(1)&lt;/script&gt;" in echoed
    found = web.get("/claims/new", query_string={"q": XSS}).get_data(as_text=True)
    assert XSS not in found and "&lt;script&gt;" in found
    filed = file_claim(web, covered.ref, cause=XSS)
    assert filed.status_code == 200 and XSS not in filed.get_data(as_text=True)


def test_filing_and_wrong_secrets_are_rate_limited(store, covered):
    web = _app(store, CLAIM_RATE_LIMIT="2 per hour").test_client()
    number, secret = filed_pair(file_claim(web, covered.ref))
    assert file_claim(web, covered.ref).status_code == 200
    assert file_claim(web, covered.ref).status_code == 429
    for _ in range(3):  # the owner may look as often as needed
        assert follow(web, number, secret).status_code == 200
    assert [follow(web, number, "guess").status_code for _ in range(3)] == [404, 404, 429]
    assert "尝试过于频繁" in follow(web, number, secret).get_data(as_text=True)
    # the guesser's address is held back on that number only: the owner, from their own
    # address, still follows the claim, and the guesser's other numbers are counted apart
    owner = web.application.test_client()
    owner.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert follow(owner, number, secret).status_code == 200
    assert follow(web, "IDI-OTHER-1", "guess").status_code == 404
