"""A complaint's whole life in real headless Chromium: a member of the public files it without
an account; the regulator takes it, answers it and closes it in the queue; the public follows
it with the number and secret and reads the answer."""

from __future__ import annotations

import pytest
from browsing import chromium_page, screenshot, serving, sign_in
from importing import demo_store
from sqlalchemy import text

from conftest import account

ANSWER = "经核查，保险公司已于三日内完成查勘并安排维修，已责令其改进理赔时效。"


@pytest.fixture(scope="module")
def complaint_store(make_database):
    """The demo, an insured building with its lead insurer, and the regulator's account."""
    engine = demo_store(make_database, projects=40)
    with engine.connect() as conn:
        building = conn.execute(text("""
            SELECT p.id, p.public_ref AS ref, p.name, o.name AS insurer FROM project p
            JOIN policy po ON po.project_id = p.id JOIN organisation o ON o.id = po.lead_insurer_id
            WHERE po.status IN ('submitted', 'confirmed') ORDER BY p.id LIMIT 1""")).one()
    account(engine, "regulator")
    return engine, building


@pytest.fixture(scope="module")
def server(complaint_store):
    engine, _ = complaint_store
    with serving(engine) as url:
        yield url


def _file(page, server: str, building) -> tuple[str, str]:
    page.goto(server + "/claims/new", wait_until="networkidle")
    page.click("#complaint-link")  # in every page's header
    page.wait_for_selector("#complaint-form")
    page.fill("#find-building input[name='q']", building.name)
    page.click("#find-building button[type='submit']")
    page.check(f"#buildings input[data-building='{building.ref}']")
    page.select_option("#party_kind", "insurer")
    page.fill("#party_name", building.insurer)
    page.select_option("#category", "理赔时效")
    page.fill("#body", "报案已十天，保险公司仍未上门查勘，屋顶持续渗水。")
    page.fill("#contact", "赵女士 13600000000")
    page.click("#complaint-form button[type='submit']")
    page.wait_for_selector("#complaint-filed")
    return page.inner_text("#complaint-no").strip(), page.inner_text("#complaint-secret").strip()


def _work(page, server: str, number: str) -> None:
    sign_in(page, server, "t-regulator")
    page.goto(server + "/claims/new", wait_until="networkidle")
    page.click("#complaint-queue-link")  # in every staff page's header
    row = page.locator(f"#complaints tr[data-complaint='{number}']")
    row.wait_for()
    assert row.get_attribute("data-status") == "received"
    screenshot(page, "complaint_queue.png")
    with page.expect_navigation(wait_until="networkidle"):
        row.locator("a").click()
    for name in ("take", "answer", "close"):
        form = page.locator(f"form.step[data-step='{name}']")
        form.wait_for()
        if name == "answer":
            form.locator("[name='answer']").fill(ANSWER)
        with page.expect_navigation(wait_until="networkidle"):
            form.locator("button[type='submit']").click()
    assert page.get_attribute("#complaint-status", "data-status") == "closed"
    assert page.locator("form.step").count() == 0


def _follow(page, server: str, number: str, secret: str) -> None:
    page.goto(server + "/complaints/follow", wait_until="networkidle")
    page.fill("#complaint_no", number)
    page.fill("#secret", secret)
    page.click("#follow-form button[type='submit']")
    page.wait_for_selector("#complaint-status")


def test_a_complaint_goes_through_the_regulators_queue(server, complaint_store):
    engine, building = complaint_store
    with chromium_page() as (page, problems):
        number, secret = _file(page, server, building)
        _follow(page, server, number, secret)
        assert page.inner_text("#complaint-status").strip() == "已受理"
        assert problems == []
    with chromium_page() as (page, problems):
        _work(page, server, number)
        assert problems == []
    with chromium_page() as (page, problems):
        _follow(page, server, number, secret)
        assert page.inner_text("#complaint-status").strip() == "已办结"
        assert page.inner_text("#complaint-answer").strip() == ANSWER
        screenshot(page, "complaint_answered.png")
        assert secret not in page.content()
        assert problems == []
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, answer, project_id FROM complaint "
                                "WHERE complaint_no = :n"), {"n": number}).one()
    assert tuple(row) == ("closed", ANSWER, building.id)
