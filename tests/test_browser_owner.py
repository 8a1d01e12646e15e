"""The owner's channel in real headless Chromium: an owner, not signed in, finds their building,
reads who insures it and its cover, and downloads the 《工程质量潜在缺陷保险告知书》, whose
Chinese text pdftotext reads back."""

from __future__ import annotations

import subprocess

import pytest
from browsing import chromium_page, screenshot, serving
from importing import demo_store
from sqlalchemy import text


@pytest.fixture(scope="module")
def owner_store(make_database):
    """The demo and a building whose cover has started, with its lead insurer and hotline."""
    engine = demo_store(make_database, projects=40)
    with engine.connect() as conn:
        building = conn.execute(text("""
            SELECT p.id, p.public_ref AS ref, p.name, p.community, o.name AS lead,
                   o.claim_hotline AS hotline
            FROM project p JOIN policy po ON po.project_id = p.id
            JOIN organisation o ON o.id = po.lead_insurer_id
            WHERE po.status IN ('submitted', 'confirmed') AND p.completion_date IS NOT NULL
            ORDER BY p.id LIMIT 1""")).one()
    return engine, building


def test_an_owner_finds_their_building_and_downloads_the_notice(owner_store, tmp_path):
    engine, building = owner_store
    with serving(engine) as server, chromium_page() as (page, problems):
        page.goto(server + "/owner", wait_until="networkidle")
        page.fill("#q", building.community)
        page.click("#find-building button[type='submit']")
        page.wait_for_selector(f"#buildings tr[data-building='{building.ref}']")
        page.click(f"#buildings tr[data-building='{building.ref}'] a")
        page.wait_for_selector("#sections")
        assert page.inner_text("#building-name") == building.name
        assert building.lead in page.inner_text("#insurers")
        assert building.hotline in page.inner_text("#insurers")
        tel = page.locator("#insurers a.tel").first  # one tap dials it on a phone
        assert tel.get_attribute("href") == "tel:" + "".join(
            c for c in building.hotline if c.isdigit() or c == "+")
        assert page.locator("#sections tbody tr[data-section='structure'] td.starts") \
            .inner_text()[:2] == "20"
        assert "2 日内派员现场查勘" in page.inner_text("#insurer-deadlines")
        screenshot(page, "owner.png")
        with page.expect_download() as info:
            page.click("#notice-pdf")
        path = tmp_path / "notice.pdf"
        info.value.save_as(path)
        assert problems == []
    words = "".join(subprocess.run(["pdftotext", str(path), "-"], check=True,
                                   capture_output=True, text=True).stdout.split())
    for expected in ("工程质量潜在缺陷保险告知书", building.name, building.lead, "保险理赔流程",
                     "业主变更通知义务", "两书一证"):
        assert expected in words, expected


# every label and cell a phone user reads is at least this wide: two characters and a bit
NARROWEST_PX = 30
READ_ON_A_PHONE = ("#insurers th", "#insurers td", "#sections td", "#cover td",
                   "#claim-form label")


def _phone_problems(page) -> list[str]:
    """What a 390 px phone user could not read: the page wider than the screen, or a label or
    cell squeezed so narrow that its words stack a character per line."""
    return page.evaluate("""([selectors, narrowest]) => {
        const out = [];
        if (document.documentElement.scrollWidth > window.innerWidth + 1)
            out.push(`page ${document.documentElement.scrollWidth}px wide`);
        for (const s of selectors) for (const el of document.querySelectorAll(s)) {
            const w = el.getBoundingClientRect().width;
            if (el.offsetParent !== null && el.innerText.trim() && w < narrowest)
                out.push(`${s} "${el.innerText.trim().slice(0, 12)}" ${Math.round(w)}px`);
        }
        return out;
    }""", [list(READ_ON_A_PHONE), NARROWEST_PX])


def test_an_owner_reads_the_building_and_the_claim_form_on_a_phone(owner_store):
    engine, building = owner_store
    with serving(engine) as server, chromium_page() as (page, problems):
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{server}/owner/{building.ref}", wait_until="networkidle")
        assert _phone_problems(page) == []
        assert page.locator("#insurers a.tel").first.is_visible()
        screenshot(page, "owner-390.png")
        page.click("#report-claim")
        page.wait_for_selector("#claim-form")
        assert _phone_problems(page) == []
        # the cover table reads as one card per section, each value named
        assert page.eval_on_selector("#cover tbody td", "td => getComputedStyle(td, '::before')"
                                     ".content") == '"责任范围："'
        assert page.eval_on_selector("#cover thead", "h => getComputedStyle(h).display") == "none"
        screenshot(page, "claim-form-390.png")
        assert problems == []
