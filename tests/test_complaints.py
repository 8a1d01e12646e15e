"""Complaints: anyone files one without an account (number and secret, the secret kept only
hashed) and follows it; the city's staff work the queue received → handling → answered →
closed, every other step refused with where the complaint is and what may be done; a party
reads only the complaints about itself; the statistics' counts match SQL of their own."""

from __future__ import annotations

import re

import pytest
from importing import demo_store
from sqlalchemy import text

from conftest import sign_in
from geo import complaints, store
from geo.lifecycle import LifecycleError
from geo.tenancy import Tenant, set_tenant
from layers.complaints import complaints_section
from layers.filters import Filters
from webmap import create_app

XSS = "<script>alert(1)</script>"
REGULATOR = Tenant("regulator", username="t-regulator")
CITY = "530100"


@pytest.fixture(scope="module")
def shop(make_database):
    """A store of its own (these tests write complaints), a building with its lead insurer,
    and another insurer."""
    engine = demo_store(make_database, projects=40)
    with engine.connect() as conn:
        building = conn.execute(text("""
            SELECT p.id, p.public_ref AS ref, p.name, p.district_code, o.id AS insurer_id,
                   o.name AS insurer
            FROM project p JOIN policy po ON po.project_id = p.id
            JOIN organisation o ON o.id = po.lead_insurer_id
            WHERE po.status IN ('submitted', 'confirmed') ORDER BY p.id LIMIT 1""")).one()
        other = conn.execute(text("SELECT id, name FROM organisation WHERE kind = 'insurer' "
                                  "AND id <> :i ORDER BY id LIMIT 1"),
                             {"i": building.insurer_id}).one()
    return engine, building, other


@pytest.fixture(scope="module")
def app(shop):
    engine, _, _ = shop
    return create_app({"DATABASE_URL": engine.url.render_as_string(hide_password=False),
                       "TESTING": True, "COMPLAINT_RATE_LIMIT": "1000 per hour"})


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


def form(**overrides) -> dict:
    return {"party_kind": "insurer", "party_name": "某保险公司", "project_id": "",
            "category": "理赔时效", "body": "报案十天无人查勘", "contact": "王先生 13700000000",
            **overrides}


def post_complaint(web, **overrides):
    page = web.get("/complaints/new").get_data(as_text=True)
    return web.post("/complaints/new", data={**form(**overrides), "csrf_token": csrf(page)})


def filed_pair(response) -> tuple[str, str]:
    page = response.get_data(as_text=True)
    return (re.search(r'id="complaint-no">([^<]+)<', page)[1],
            re.search(r'id="complaint-secret">([^<]+)<', page)[1])


def follow(web, number: str, secret: str):
    page = web.get("/complaints/follow").get_data(as_text=True)
    return web.post("/complaints/follow", data={"complaint_no": number, "secret": secret,
                                                 "csrf_token": csrf(page)})


def row_of(engine, number: str):
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM complaint WHERE complaint_no = :n"),
                            {"n": number}).one()


def file_direct(engine, **overrides) -> tuple[int, str]:
    with engine.begin() as conn:
        number, _ = complaints.file_complaint(conn, form(**overrides))
    return row_of(engine, number).id, number


def step(engine, complaint_id: int, name: str, tenant: Tenant = REGULATOR, **raw) -> str:
    with engine.begin() as conn:
        return complaints.step(conn, tenant, complaint_id, name, raw)


def test_the_public_files_a_complaint_and_gets_a_number_and_a_secret(app, shop):
    engine, building, _ = shop
    answer = post_complaint(app.test_client(), party_name=building.insurer,
                            project_ref=building.ref)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    number, secret = filed_pair(answer)
    row = row_of(engine, number)
    assert number.startswith("TS") and row.status == "received"
    assert row.party_id == building.insurer_id and row.district_code == building.district_code
    assert row.secret_hash == complaints.secret_hash(secret)
    assert secret not in " ".join(str(v) for v in row)  # only its hash is kept
    with engine.connect() as conn:
        audited = conn.execute(text("SELECT count(*) FROM audit_log WHERE action = "
                                    "'complaint.file' AND target = :t"),
                               {"t": f"complaint:{row.id}"}).scalar_one()
    assert audited == 1


def test_the_form_lists_buildings_and_refuses_what_is_missing(app, shop):
    engine, building, _ = shop
    web = app.test_client()
    page = web.get("/complaints/new", query_string={"q": building.name}).get_data(as_text=True)
    assert f'data-building="{building.ref}"' in page and "投诉" in page
    assert f'value="{building.id}"' not in page
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM complaint")).scalar_one()
    for bad in ({"body": ""}, {"party_kind": "bank"}, {"category": "随便"},
                {"project_ref": "abc"}, {"project_ref": "0" * 32}, {"contact": "x" * 201}):
        refused = post_complaint(web, **bad)
        assert refused.status_code == 422 and 'id="refusal"' in refused.get_data(as_text=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM complaint")).scalar_one() == before
    no_token = web.post("/complaints/new", data=form())
    assert no_token.status_code == 400


def test_follow_with_the_right_secret_only(app, shop):
    web = app.test_client()
    number, secret = filed_pair(post_complaint(web))
    shown = follow(web, number, secret)
    page = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "已受理" in page and "尚未答复" in page
    assert secret not in page
    wrong = follow(web, number, secret + "x")
    assert wrong.status_code == 404 and 'id="follow-none"' in wrong.get_data(as_text=True)
    assert follow(web, "TS0", secret).status_code == 404


def test_every_legal_step_and_the_answer_reaches_the_public(app, shop):
    engine, _, _ = shop
    web = app.test_client()
    number, secret = filed_pair(post_complaint(web))
    complaint_id = row_of(engine, number).id
    assert step(engine, complaint_id, "take") == "handling"
    assert step(engine, complaint_id, "answer", answer="已约谈保险公司，三日内查勘") == "answered"
    assert step(engine, complaint_id, "reopen", reason="投诉人不满意") == "handling"
    assert row_of(engine, number).answered_on is None
    assert step(engine, complaint_id, "answer", answer="已查勘并赔付") == "answered"
    assert step(engine, complaint_id, "close") == "closed"
    row = row_of(engine, number)
    assert row.answer == "已查勘并赔付" and row.answered_on and row.closed_on
    page = follow(web, number, secret).get_data(as_text=True)
    assert "已办结" in page and "已查勘并赔付" in page
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT action FROM audit_log WHERE target = :t ORDER BY id"),
                               {"t": f"complaint:{complaint_id}"}).scalars().all()
    assert actions == ["complaint.file", "complaint.take", "complaint.answer",
                       "complaint.reopen", "complaint.answer", "complaint.close"]


@pytest.mark.parametrize(("setup", "name", "raw", "words"), [
    ((), "close", {}, "投诉当前为“已受理”，不能“办结”；可以：受理办理。"),
    ((), "answer", {"answer": "好"}, "当前为“已受理”"),
    (("take",), "take", {}, "可以：答复。"),
    (("take",), "answer", {}, "请填写“答复意见”"),
    (("take", "answer"), "take", {}, "可以：重新办理、办结。"),
    (("take", "answer", "close"), "reopen", {"reason": "x"}, "可以：无。"),
    ((), "file", {}, "当前为“已受理”"),
    ((), "delete", {}, "没有“delete”这一步"),
])
def test_illegal_steps_are_refused_with_the_state_and_what_is_allowed(shop, setup, name, raw,
                                                                      words):
    engine, _, _ = shop
    complaint_id, number = file_direct(engine)
    for done in setup:
        step(engine, complaint_id, done, answer="答复")
    before = row_of(engine, number).status
    with pytest.raises(LifecycleError, match=re.escape(words)):
        step(engine, complaint_id, name, **raw)
    assert row_of(engine, number).status == before


def test_a_planner_may_read_the_queue_but_not_work_it(shop):
    engine, _, _ = shop
    complaint_id, _ = file_direct(engine)
    with pytest.raises(LifecycleError, match="须由住建局、admin办理"):
        step(engine, complaint_id, "take", Tenant("planner", username="t-planner"))


def test_the_regulator_works_the_queue_in_the_web(app, shop):
    engine, _, _ = shop
    complaint_id, number = file_direct(engine, body=XSS)
    web = sign_in(app.test_client(), engine, "regulator")
    queue = web.get("/complaints", query_string={"status": "received"})
    assert queue.status_code == 200 and number in queue.get_data(as_text=True)
    page = web.get(f"/complaints/{complaint_id}").get_data(as_text=True)
    assert XSS not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'data-step="take"' in page and 'data-step="close"' not in page
    token = csrf(page)
    refused = web.post(f"/complaints/{complaint_id}/close", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "不能“办结”；可以：受理办理" in refused.get_data(as_text=True)
    for name, data in (("take", {}), ("answer", {"answer": "已答复"}), ("close", {})):
        done = web.post(f"/complaints/{complaint_id}/{name}", data={**data, "csrf_token": token})
        assert done.status_code == 303
    assert row_of(engine, number).status == "closed"
    closed = web.get(f"/complaints/{complaint_id}").get_data(as_text=True)
    assert 'class="step"' not in closed and "已办结" in closed
    # the whole handling history, the public's filing first (row security lets the regulator
    # read it: before, it lived in the admins' audit log and this table was empty)
    history = re.findall(r'<tr data-step="(\w+)">', closed)
    assert history == ["file", "take", "answer", "close"]
    assert "投诉人" in closed and "t-regulator（住建局（监管））" in closed
    assert web.get("/complaints", query_string={"status": "nope"}).status_code == 400


def test_only_city_staff_work_the_queue(app, shop):
    engine, building, _ = shop
    complaint_id, _ = file_direct(engine)
    insurer = sign_in(app.test_client(), engine, "insurer", building.insurer_id)
    assert insurer.get("/complaints").status_code == 403
    assert insurer.get(f"/complaints/{complaint_id}").status_code == 403
    assert insurer.post(f"/complaints/{complaint_id}/take").status_code in (400, 403)
    public = app.test_client()
    assert public.get("/complaints").status_code in (302, 401)
    assert public.get(f"/complaints/{complaint_id}").status_code in (302, 401)
    planner = sign_in(app.test_client(), engine, "planner")
    assert planner.get("/complaints").status_code == 200
    assert row_of(engine, file_direct(engine)[1]).status == "received"


def test_a_party_sees_the_complaints_about_itself_only(app, shop):
    engine, building, other = shop
    _, mine = file_direct(engine, party_name=building.insurer, project_ref=building.ref)
    _, theirs = file_direct(engine, party_name=other.name)
    web_role = store.make_engine(engine.url.set(username="riskmap_web"))
    try:
        with web_role.begin() as conn:
            set_tenant(conn, Tenant("insurer", building.insurer_id))
            seen = conn.execute(text("SELECT complaint_no, party_id FROM complaint")).all()
            set_tenant(conn, Tenant("regulator"))
            everyone = conn.execute(text("SELECT count(*) FROM complaint")).scalar_one()
    finally:
        web_role.dispose()
    with engine.connect() as conn:
        expected = conn.execute(text("SELECT count(*) FILTER (WHERE party_id = :i), count(*) "
                                     "FROM complaint"), {"i": building.insurer_id}).one()
    assert {r.party_id for r in seen} == {building.insurer_id}
    assert len(seen) == expected[0] and everyone == expected[1]
    assert mine in {r.complaint_no for r in seen} and theirs not in {r.complaint_no for r in seen}
    insurer = sign_in(app.test_client(), engine, "insurer", building.insurer_id)
    page = insurer.get("/complaints/about-us").get_data(as_text=True)
    assert mine in page and theirs not in page and "data-step" not in page


def _independent(engine, city: str) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT c.*, d.name AS district_name FROM complaint c
            LEFT JOIN district d ON d.code = c.district_code
            WHERE c.district_code IS NULL OR d.city_code = :city"""), {"city": city}).all()
    def count(key):
        out: dict[str, float] = {}
        for r in rows:
            out[key(r)] = out.get(key(r), 0) + 1
        return out
    answered = [(r.answered_on - r.received_on).days for r in rows if r.answered_on]
    return {"received": len(rows), "open": sum(r.status in ("received", "handling") for r in rows),
            "closed": sum(r.status == "closed" for r in rows),
            "days": sum(answered) / len(answered) if answered else None,
            "district": count(lambda r: r.district_name or "未指明房屋"),
            "party": count(lambda r: r.party_name), "category": count(lambda r: r.category),
            "kind": count(lambda r: complaints.PARTY_KINDS[r.party_kind])}


def _chart(section: dict, chart_id: str) -> dict:
    chart = next(c for c in section["charts"] if c["id"] == chart_id)
    return dict(zip(chart["categories"], chart["series"][0]["values"], strict=True))


def test_statistics_counts_match_independent_sql(shop):
    engine, building, other = shop
    for category, party in (("维修质量", building.insurer), ("服务态度", other.name),
                            ("维修质量", other.name)):
        cid, _ = file_direct(engine, category=category, party_name=party,
                             project_ref=building.ref)
        step(engine, cid, "take")
        step(engine, cid, "answer", answer="已答复")
    with engine.connect() as conn:
        section = complaints_section(conn, CITY, Filters())
        district = complaints_section(conn, CITY, Filters(district=building.district_code))
    want = _independent(engine, CITY)
    figures = {f["id"]: f["value"] for f in section["indicators"]}
    assert section["id"] == "complaints" and section["title"] == "投诉情况"
    assert figures["complaints_received"] == want["received"]
    assert figures["complaints_open"] == want["open"]
    assert figures["complaints_closed"] == want["closed"]
    assert figures["complaints_days_to_answer"] == pytest.approx(want["days"])
    assert _chart(section, "complaints_by_district") == want["district"]
    assert _chart(section, "complaints_by_category") == want["category"]
    assert _chart(section, "complaints_by_party_kind") == want["kind"]
    top = _chart(section, "complaints_by_party")
    assert len(top) <= 10 and all(want["party"][name] == n for name, n in top.items())
    assert sorted(top.values(), reverse=True) == sorted(want["party"].values(), reverse=True)[:10]
    with engine.connect() as conn:
        in_district = conn.execute(text("SELECT count(*) FROM complaint WHERE district_code = :d"),
                                   {"d": building.district_code}).scalar_one()
    received = {f["id"]: f["value"] for f in district["indicators"]}["complaints_received"]
    assert received == in_district >= 3
    assert sum(_chart(district, "complaints_by_month").values()) == in_district
    assert len(_chart(district, "complaints_by_district")) == 1


def test_filing_and_wrong_secrets_are_rate_limited_by_their_own_setting(shop):
    engine, _, _ = shop
    web = create_app({"DATABASE_URL": engine.url.render_as_string(hide_password=False),
                      "TESTING": True, "COMPLAINT_RATE_LIMIT": "2 per hour",
                      "CLAIM_RATE_LIMIT": "1000 per hour"}).test_client()
    number, secret = filed_pair(post_complaint(web))
    assert post_complaint(web).status_code == 200
    assert post_complaint(web).status_code == 429  # a third complaint within the hour
    assert follow(web, number, secret).status_code == 200
    assert [follow(web, number, "guess").status_code for _ in range(3)] == [404, 404, 429]
