"""A claim's whole life in real headless Chromium: an owner files it without an account and
follows it with the number and secret; the lead insurer surveys, decides, settles and closes
it on its workflow page; the regulator then finds it in the statistics and on the map."""

from __future__ import annotations

import pytest
from browsing import chromium_page, screenshot, serving, sign_in
from importing import demo_store
from sqlalchemy import text

from conftest import account

# The insurer's steps, in order, with what each form is given (dates left empty: the data's day)
INSURER_STEPS = (("survey", {}), ("accept", {}), ("agree", {}),
                 ("settle", {"paid_amount_yuan": "18600"}), ("close", {}))


@pytest.fixture(scope="module")
def claim_store(make_database):
    """The demo, a building whose structure cover runs today, its lead insurer's account and
    the regulator's."""
    engine = demo_store(make_database, projects=60)
    with engine.connect() as conn:
        building = conn.execute(text("""
            SELECT p.id, p.public_ref AS ref, p.name, p.community, p.district_code,
                   po.lead_insurer_id
            FROM project p JOIN policy po ON po.project_id = p.id
            JOIN coverage_section cs ON cs.policy_id = po.id AND cs.section = 'structure'
            CROSS JOIN data_version v
            WHERE po.status IN ('submitted', 'confirmed')
              AND v.as_of BETWEEN cs.starts_on AND cs.ends_on
            ORDER BY p.id LIMIT 1""")).one()
    account(engine, "regulator")
    account(engine, "insurer", building.lead_insurer_id)
    return engine, building


@pytest.fixture(scope="module")
def server(claim_store):
    engine, _ = claim_store
    with serving(engine) as url:
        yield url


def _regulator_sees(server: str, district: str) -> dict:
    """The claims the regulator counts: the statistics' figure, the heat cells' claims and the
    building's district on the claims layer."""
    with chromium_page() as (page, problems):
        sign_in(page, server, "t-regulator")
        page.wait_for_selector(".riskmap-legend .legend-row")  # the map's own requests done
        page.goto(server + "/statistics", wait_until="networkidle")
        # the figure sits in a folded section: its text, not its rendering
        figure = page.text_content("[data-indicator='claims'] .figure-value")
        heat = page.evaluate("fetch('/api/heat/claims').then(r => r.json())")
        layer = page.evaluate("fetch('/api/layers/claims/districts').then(r => r.json())")
        assert problems == []
    value = next(f["properties"]["value"] for f in layer["features"]
                 if f["properties"]["code"] == district)
    return {"statistics": int(figure.split()[0].replace(",", "")),
            "heat": sum(cell[3] for cell in heat), "district": value or 0}


def _file_as_owner(page, server: str, building) -> tuple[str, str]:
    page.goto(server + "/claims/new", wait_until="networkidle")
    page.fill("#find-building input[name='q']", building.community)
    page.click("#find-building button[type='submit']")
    page.wait_for_selector(f"#buildings tr[data-building='{building.ref}']")
    page.click(f"#buildings tr[data-building='{building.ref}'] a")
    page.wait_for_selector("#cover")
    assert "地基基础和主体结构工程" in page.inner_text("#cover")
    page.fill("#unit_no", "5栋1单元902")
    page.select_option("#section", "structure")
    page.fill("#cause", "卧室外墙与楼板交接处出现贯通裂缝，雨天渗水")
    page.fill("#reporter_name", "李女士")
    page.fill("#reporter_phone", "13900000000")
    page.check("#is_emergency")
    page.click("#claim-form button[type='submit']")
    page.wait_for_selector("#claim-filed")
    assert "保险期间内" in page.inner_text("#claim-rule")
    screenshot(page, "claim_filed.png")
    return page.inner_text("#claim-no").strip(), page.inner_text("#claim-secret").strip()


def _follow(page, server: str, number: str, secret: str) -> str:
    page.goto(server + "/claims/follow", wait_until="networkidle")
    page.fill("#claim_no", number)
    page.fill("#secret", secret)
    page.click("#follow-form button[type='submit']")
    page.wait_for_selector("#claim-status")
    return page.inner_text("#claim-status").strip()


def _insurer_walks(page, server: str, claim_id: int) -> None:
    """Each step is a form ``form.step[data-step=…]`` on the claim's workflow page."""
    page.goto(f"{server}/work/claim/{claim_id}", wait_until="networkidle")
    for step, fields in INSURER_STEPS:
        form = page.locator(f"form.step[data-step='{step}']")
        form.wait_for()
        for name, value in fields.items():
            form.locator(f"[name='{name}']").fill(value)
        if step == "survey":
            screenshot(page, "claim_insurer.png")
        with page.expect_navigation(wait_until="networkidle"):
            form.locator("button[type='submit'], input[type='submit']").first.click()
    assert page.locator("form.step[data-step='close']").count() == 0  # closed: nothing left


def test_an_owner_files_and_follows_a_claim_the_insurer_closes_it_the_regulator_sees_it(
        server, claim_store):
    engine, building = claim_store
    before = _regulator_sees(server, building.district_code)
    with chromium_page() as (page, problems):
        number, secret = _file_as_owner(page, server, building)
        assert _follow(page, server, number, secret) == "已报案"
        assert page.locator("#claim-deadlines tr[data-deadline='查勘']").count() == 1
        screenshot(page, "claim_followed.png")
        assert secret not in page.content()
        assert problems == []
    with engine.connect() as conn:
        claim_id = conn.execute(text("SELECT id FROM claim WHERE claim_no = :n"),
                                {"n": number}).scalar_one()
    with chromium_page() as (page, problems):
        sign_in(page, server, f"t-insurer-{building.lead_insurer_id}")
        _insurer_walks(page, server, claim_id)
        assert problems == []
    with chromium_page() as (page, problems):
        assert _follow(page, server, number, secret) == "已结案"
        assert "按时完成" in page.inner_text("#claim-deadlines")
        assert problems == []
    after = _regulator_sees(server, building.district_code)
    assert after == {key: value + 1 for key, value in before.items()}
