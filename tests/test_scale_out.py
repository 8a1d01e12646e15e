"""Stateless web processes: two services on gunicorn (as on two hosts) and a separate job
worker, sharing only Redis, the database and the report folder. A report asked for through
one is made by the worker and fetched through the other; a rate limit counts across both."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
import redis
from jobs import stop, wait_for
from rq import Queue, Worker
from served import Browser, gunicorn, service_env

from conftest import TEST_PASSWORD, account

SECRET = "5be0c1d2e3f4a5b6c7d8e9f0a1b2c3d4"
WUHUA = "530102"


@pytest.fixture(scope="module")
def env(kunming, redis_for_tests, tmp_path_factory) -> dict:
    return service_env({"REDIS_URL": redis_for_tests, "SECRET_KEY": SECRET,
                        "REDIS_PREFIX": f"scale-{uuid.uuid4().hex[:8]}",
                        "REPORT_QUEUE": "rq",
                        "REPORT_DIR": str(tmp_path_factory.mktemp("shared-reports")),
                        "LOGIN_RATE_LIMIT": "5 per minute"},
                       kunming.url.render_as_string(hide_password=False))


@contextmanager
def two_services(env: dict) -> Iterator[tuple[str, str]]:
    """Two web services (one gunicorn worker each, on ports of their own, as on two hosts):
    their URLs."""
    with ExitStack() as stack:
        first = stack.enter_context(gunicorn(env, workers=1))[0]
        second = stack.enter_context(gunicorn(env, workers=1))[0]
        yield first, second


def _start_worker(env: dict) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "webmap", "worker"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    connection = redis.Redis.from_url(env["RISKMAP_REDIS_URL"])
    queue = Queue(f"{env['RISKMAP_REDIS_PREFIX']}:reports", connection=connection)
    deadline = time.monotonic() + 60
    while Worker.count(queue=queue) == 0:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the job worker did not start: {process.stderr.read()}")
        time.sleep(0.1)
    return process


def test_a_report_asked_through_one_is_made_by_the_worker_and_fetched_through_the_other(
        env, kunming):
    with two_services(env) as (first, second):
        _report_across(env, first, second, kunming)


def _report_across(env: dict, first: str, second: str, kunming) -> None:
    browser = Browser()  # one session cookie, honoured by both services (kept in Redis)
    assert browser.sign_in(first, account(kunming, "regulator"), TEST_PASSWORD).status == 302
    token = browser.csrf(f"{first}/districts/{WUHUA}")
    started = browser.request(f"{first}/reports/district/{WUHUA}?format=csv&period=2024", {},
                              headers={"X-CSRFToken": token})
    assert started.status == 202, started.body
    job = json.loads(started.body)
    status_url, file_url = job["status_url"], job["file_url"]
    time.sleep(1.5)  # no job worker yet: neither web process makes it
    waiting = json.loads(browser.request(second + status_url).body)["job"]
    assert waiting["state"] == "queued" and waiting["state_zh"] == "排队中"
    worker = _start_worker(env)
    try:
        done = wait_for(lambda: (lambda j: j if j["state"] in ("done", "failed") else None)(
            json.loads(browser.request(second + status_url).body)["job"]), seconds=120)
    finally:
        stop(worker)
    assert done["state"] == "done", done
    answer = browser.request(second + file_url)
    assert answer.status == 200 and answer.body.lstrip("\ufeff").startswith("报建号")
    assert "filename*=UTF-8''" in answer.headers["Content-Disposition"]
    # the first service sends the same file; another account gets nothing from either
    assert browser.request(first + file_url).body == answer.body
    other = Browser()
    assert other.sign_in(second, account(kunming, "planner"), TEST_PASSWORD).status == 302
    assert other.request(first + status_url).status == 404


def test_a_rate_limit_counts_across_both_services(env, kunming):
    user = account(kunming, "planner")
    own = {**env, "RISKMAP_REDIS_PREFIX": env["RISKMAP_REDIS_PREFIX"] + "-limits"}
    with two_services(own) as (first, second):
        codes = [Browser().sign_in((first, second)[i % 2], user, f"wrong {i}").status
                 for i in range(10)]
    # 5 per minute in all, not 5 per service: each service refused some
    assert codes == [401] * 5 + [429] * 5, codes
