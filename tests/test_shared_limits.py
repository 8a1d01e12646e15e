"""Limits and sessions hold across processes: the service on gunicorn with two workers,
started here as an operator would, sharing one Redis."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from served import Browser, free_port, gunicorn, service_env, start_gunicorn

from conftest import TEST_PASSWORD, account

SECRET = "a3f1c9e07d5b2a8f6c4e1d0b9a7f5e3c"


@pytest.fixture(scope="module")
def env(kunming, redis_for_tests) -> dict:
    return service_env({"REDIS_URL": redis_for_tests, "SECRET_KEY": SECRET,
                        "REDIS_PREFIX": f"limits-{uuid.uuid4().hex[:8]}",
                        "LOGIN_RATE_LIMIT": "5 per minute"},
                       kunming.url.render_as_string(hide_password=False))


def test_the_login_limit_is_global_across_two_gunicorn_workers(env, kunming):
    user = account(kunming, "planner")
    with gunicorn(env, workers=2) as (url, process):
        def attempt(i: int) -> int:
            browser = Browser()  # its CSRF token from one worker, its POST to any other
            return browser.sign_in(url, user, f"wrong {i}").status
        codes = []
        # concurrent and in rounds, so that both workers take some even when the machine is
        # busy and the second worker boots late (a refused attempt is logged as well)
        with ThreadPoolExecutor(4) as pool:
            for first in range(0, 48, 12):
                codes += pool.map(attempt, range(first, first + 12))
                time.sleep(0.5)
        process.terminate()
        log = process.communicate(timeout=20)[0]
    assert sorted(codes) == [401] * 5 + [429] * 43, codes  # 5 per minute, not 5 per worker
    pids = {line.split()[0] for line in log.splitlines() if line.endswith(" /login")}
    assert len(pids) == 2, log  # both workers answered, counting in one place


def test_a_session_made_by_one_worker_is_honoured_and_ended_by_the_other(env, kunming):
    user = account(kunming, "regulator")
    quiet = {**env, "RISKMAP_REDIS_PREFIX": env["RISKMAP_REDIS_PREFIX"] + "-s",
             "RISKMAP_LOGIN_RATE_LIMIT": "100 per minute"}
    with gunicorn(quiet, workers=2) as (url, _):
        browser = Browser()
        assert browser.sign_in(url, user, TEST_PASSWORD).status == 302
        assert all(browser.request(url + "/api/layers").status == 200 for _ in range(8))
        token = browser.csrf(url + "/districts")
        assert browser.request(url + "/logout", {"csrf_token": token}).status == 302
        assert {browser.request(url + "/api/layers").status for _ in range(6)} == {401}


def test_gunicorn_will_not_serve_with_the_old_compose_key(env):
    process = start_gunicorn({**env, "RISKMAP_SECRET_KEY": "change-me-to-a-long-random-value"},
                             free_port())
    try:
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode != 0
    assert "refusing to start" in err and "well-known" in err
