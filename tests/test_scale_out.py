"""Stateless web processes: two services on gunicorn (as on two hosts) and a separate job
worker, sharing only Redis, the database and the report folder. A report asked for through
one is made by the worker and fetched through the other; a rate limit counts across both."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import redis
import yaml
from importing import demo_store
from jobs import listening, stop, wait_for
from rq import Queue
from served import Browser, get, gunicorn, nginx, service_env
from sqlalchemy import text

from conftest import TEST_PASSWORD, account
from geo.tenancy import Tenant
from layers import disclosure, publication
from layers.filters import Filters

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
    return listening(process, queue, seconds=180)


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


@pytest.fixture(scope="module")
def published(make_database):
    """A store of its own with the demo's 40 projects and one layer approved for the public:
    (the store, the publication's id)."""
    store = demo_store(make_database, projects=40)
    name = account(store, "regulator")
    with store.begin() as conn:
        user_id = conn.execute(text("SELECT id FROM app_user WHERE username = :u"),
                               {"u": name}).scalar_one()
        regulator = Tenant("regulator", username=name, user_id=user_id)
        pub = publication.draft(conn, regulator, "premium_total", Filters())
        publication.move(conn, regulator, pub, "submitted")
        publication.move(conn, regulator, pub, "approved", city="530100",
                         rules=disclosure.Rules(min_projects=3))
    return store, pub


def test_nginx_keeps_the_public_map_and_never_a_signed_in_answer(env, published):
    """The announcement's crowd: the public layer and its tiles reach the service once; a
    signed-in answer always reaches it (and is never handed to anyone else)."""
    store, pub = published
    own = {**env, "DATABASE_URL": store.url.render_as_string(hide_password=False)}
    public = [f"/api/public/layers/{pub}", f"/tiles/public/{pub}.json",
              f"/tiles/public/{pub}/10/804/438.mvt"]
    with gunicorn(own, workers=1) as (url, process):
        with nginx([int(url.rsplit(":", 1)[1])]) as port:
            proxy = f"http://127.0.0.1:{port}"
            crowd = [[get(proxy + path) for _ in range(5)] for path in public]
            browser = Browser()
            assert browser.sign_in(proxy, account(store, "regulator"), TEST_PASSWORD).status == 302
            signed_in = [browser.request(proxy + "/api/layers") for _ in range(3)]
            outsider = get(proxy + "/api/layers")
        process.terminate()
        log = process.communicate(timeout=20)[0]
    for answers in crowd:
        assert {a.status for a in answers} == {200}
        assert [a.headers["X-Cache-Status"] for a in answers] == ["MISS"] + ["HIT"] * 4
        assert len({a.body for a in answers}) == 1
        assert "public" in answers[0].headers["Cache-Control"]
    reached = [line.split()[2] for line in log.splitlines() if len(line.split()) == 3]
    for path in public:
        assert reached.count(path) == 1, (path, reached)  # the other four: nginx's copy
    assert {a.status for a in signed_in} == {200} and reached.count("/api/layers") == 4
    assert "private" in signed_in[0].headers["Cache-Control"]
    assert outsider.status == 401  # the signed-in answer was not kept for the public


def test_the_compose_scale_out_profile_has_every_part_wired_together():
    """docker compose --env-file deploy/scale-out.env up: primary, streaming replica, Redis, two
    web processes, a job worker and nginx in front of both web processes."""
    root = Path(__file__).resolve().parents[1]
    services = yaml.safe_load((root / "docker-compose.yml").read_text(encoding="utf-8"))[
        "services"]
    profiled = {name for name, s in services.items() if "scale-out" in s.get("profiles", [])}
    assert profiled == {"replica", "web2", "nginx"}
    assert {name for name, s in services.items() if not s.get("profiles")} == {
        "db", "redis", "app", "worker"}
    replica = " ".join(services["replica"]["command"])
    assert "pg_basebackup -h db" in replica and " -R " in replica and "-X stream" in replica
    assert services["web2"]["environment"] == services["app"]["environment"] == services[
        "worker"]["environment"]  # the same settings everywhere: any process answers anything
    assert services["app"]["environment"]["RISKMAP_REPORT_DIR"].startswith("/var/lib/riskmap")
    env = (root / "deploy" / "scale-out.env").read_text(encoding="utf-8")
    assert "COMPOSE_PROFILES=scale-out" in env and "RISKMAP_REPORT_QUEUE=rq" in env
    assert re.search(r"RISKMAP_REPLICA_URLS=postgresql://riskmap_web:.*@replica:5432/", env)
    nginx_conf = (root / "deploy" / "nginx" / "riskmap.conf").read_text(encoding="utf-8")
    assert "server app:8000;" in nginx_conf and "server web2:8000;" in nginx_conf
    assert "./deploy/nginx/riskmap.conf:/etc/nginx/conf.d/default.conf:ro" in services[
        "nginx"]["volumes"]
