"""Service evaluation in real headless Chromium: an owner follows a closed claim with its number
and secret and rates its handling; the regulator then finds the score on the 服务评价 page."""

from __future__ import annotations

import pytest
from browsing import chromium_page, screenshot, serving, sign_in
from importing import demo_store
from sqlalchemy import text

from conftest import account
from geo.claims import secret_hash

SECRET = "owner-secret-42"


@pytest.fixture(scope="module")
def rating_store(make_database):
    """The demo, one of its closed claims (repaired by a repairer) given an owner's secret,
    and the regulator's account."""
    engine = demo_store(make_database, projects=60)
    with engine.begin() as conn:
        # the owner's rating is the first: the demo's own ratings are cleared
        conn.execute(text("DELETE FROM service_rating"))
        claim = conn.execute(text("""
            SELECT c.id, c.claim_no, c.repairer_id,
                   COALESCE(o.short_name, o.name) AS repairer FROM claim c
            JOIN organisation o ON o.id = c.repairer_id
            WHERE c.status = 'closed' ORDER BY c.id LIMIT 1""")).one()
        conn.execute(text("UPDATE claim SET secret_hash = :h WHERE id = :id"),
                     {"h": secret_hash(SECRET), "id": claim.id})
    account(engine, "regulator")
    return engine, claim


@pytest.fixture(scope="module")
def server(rating_store):
    engine, _ = rating_store
    with serving(engine) as url:
        yield url


def test_an_owner_rates_a_closed_claim_and_the_service_page_shows_the_score(server,
                                                                            rating_store):
    engine, claim = rating_store
    with chromium_page() as (page, problems):
        page.goto(server + "/claims/follow", wait_until="networkidle")
        page.fill("#claim_no", claim.claim_no)
        page.fill("#secret", SECRET)
        page.click("#follow-form button[type='submit']")
        page.wait_for_selector("#rating-form")
        assert page.inner_text("#claim-status").strip() == "已结案"
        page.check("#rating-form input[name='score'][value='4']")
        page.fill("#rating-comment", "维修及时，师傅认真，裂缝已修补")
        page.fill("#rating-secret", SECRET)
        page.click("#rating-form button[type='submit']")
        page.wait_for_selector("#rating-result")
        assert "感谢您的评价" in page.inner_text("#rating-result")
        assert page.locator("#rating-form").count() == 0
        assert SECRET not in page.content()
        screenshot(page, "claim_rated.png")
        assert problems == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT score, comment FROM service_rating WHERE claim_id = :id"),
                            {"id": claim.id}).one() == (4, "维修及时，师傅认真，裂缝已修补")
    with chromium_page() as (page, problems):
        sign_in(page, server, "t-regulator")
        page.goto(server + "/districts", wait_until="networkidle")
        page.click("#service-link")
        page.wait_for_selector("#service-repairers")
        assert page.inner_text("[data-indicator='owner_ratings'] .figure-value").split()[0] == "1"
        assert page.inner_text("[data-indicator='owner_score'] .figure-value").split()[0] \
            == "4.00"
        row = page.locator(f"#service-repairers tr[data-repairer='{claim.repairer_id}']")
        assert row.inner_text().split("\t")[0] == claim.repairer
        assert row.inner_text().split("\t")[-2:] == ["1", "4.00"]  # one rating, its score
        screenshot(page, "service_page.png")
        assert problems == []
