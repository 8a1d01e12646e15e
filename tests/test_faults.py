"""A bad day: the database stops while requests run, the report or upload folder is
read-only or full. Every answer is a clear 503 in Chinese, nothing half-written stays, and
the service recovers by itself."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from jobs import wait_for
from rq import SimpleWorker
from served import Browser, gunicorn, service_env
from sqlalchemy import text

from conftest import TEST_PASSWORD, account, sign_in
from geo import cluster, store
from loaders import demo, demo_load, districts
from webmap import create_app, importjobs, keystore
from webmap.reports.queued import QueuedReports

SECRET = "5e0c2b9a7d1f3e8c6a4b2d0f9e7c5a3b"
SIGNED_IN = ("/", "/districts", "/statistics", "/api/layers",
             "/api/layers/premium_total/districts", "/api/statistics", "/imports")
PUBLIC = ("/api/public/layers", "/claims/new")


@pytest.fixture(scope="module")
def own_cluster(tmp_path_factory):
    """A private cluster of this test's own, so that stopping it stops no other test."""
    root = cluster.reachable_root(tmp_path_factory.mktemp("faults") / "cluster", "postgres")
    private = cluster.Cluster(root=root, port=55000 + os.getpid() % 1000, unsafe_fast=True)
    url = cluster.up(private)
    engine = store.make_engine(url)
    store.upgrade(engine)
    with engine.begin() as conn:
        districts.load_districts(conn, districts.district_records(city="530100"))
        demo_load.run_demo(conn, demo.DemoOptions(city="530100", projects=20))
    yield private, engine
    engine.dispose()
    cluster.destroy(private)


def _chinese_503(answer) -> bool:
    return answer.status == 503 and "数据库暂时不可用" in answer.body


def test_a_stopped_database_gives_chinese_503s_then_recovers_by_itself(own_cluster,
                                                                      redis_for_tests):
    private, engine = own_cluster
    user = account(engine, "regulator")
    env = service_env({"REDIS_URL": redis_for_tests, "SECRET_KEY": SECRET,
                       "REDIS_PREFIX": f"faults-{uuid.uuid4().hex[:8]}"},
                      engine.url.render_as_string(hide_password=False))
    with gunicorn(env, workers=2) as (url, _):
        staff, public = Browser(), Browser()
        assert staff.sign_in(url, user, TEST_PASSWORD).status == 302
        visits = [(staff, url + path) for path in SIGNED_IN] + [
            (public, url + path) for path in PUBLIC]
        assert [b.request(u).status for b, u in visits] == [200] * len(visits)
        during, stop = [], threading.Event()

        def keep_asking():
            while not stop.is_set():
                for browser, target in visits:
                    during.append(browser.request(target, timeout=10))
        asker = threading.Thread(target=keep_asking)
        asker.start()
        try:
            time.sleep(0.5)
            assert cluster.down(private)
            time.sleep(1)
            down = [(u, b.request(u)) for b, u in visits]
            # liveness stays up (the process answers); readiness says the store is away
            live, ready = public.request(url + "/healthz"), public.request(url + "/readyz")
        finally:
            stop.set()
            asker.join()
        assert all(_chinese_503(answer) for _, answer in down), [
            (u, a.status, a.body[:200]) for u, a in down if not _chinese_503(a)]
        assert all(a.headers.get("Retry-After") == "5" for _, a in down)
        assert live.status == 200 and json.loads(live.body)["data_version"] is None
        assert ready.status == 503 and json.loads(ready.body)["database"] == "unreachable"
        # while it stopped, an answer was the page or the clear 503, never a bare error
        assert {a.status for a in during} <= {200, 503}, {a.status for a in during}
        assert any(_chinese_503(a) for a in during)
        cluster.up(private)
        back = time.monotonic()
        for browser, target in visits:
            wait_for(lambda b=browser, t=target: b.request(t).status == 200, seconds=5)
        assert time.monotonic() - back < 5


@contextlib.contextmanager
def unusable_folder(where: Path, full: bool):
    """A folder that is read-only, or full after a few kB: a small tmpfs when we are root
    (root writes through any mode), else a folder without write permission."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        where.chmod(0o555)
        yield where
        where.chmod(0o755)
        return
    options = "size=32k" if full else "size=1m,ro"
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def _report_app(kunming, folder: Path):
    app = create_app({"TESTING": True, "REPORT_DIR": str(folder),
                      "DATABASE_URL": kunming.url.render_as_string(hide_password=False)})
    client = sign_in(app.test_client(), kunming, "regulator")
    page = client.get("/statistics").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return client, {"X-CSRFToken": token}


def test_a_read_only_report_folder_fails_at_once_and_clearly(kunming, tmp_path):
    with unusable_folder(tmp_path / "reports", full=False) as folder:
        client, headers = _report_app(kunming, folder)
        answer = client.post("/reports/district/530102?format=csv", headers=headers)
        assert answer.status_code == 503
        assert "报告文件夹不可写或已满" in answer.json["error"]
        assert list(folder.iterdir()) == []


def test_a_full_report_folder_fails_the_job_and_leaves_no_partial_file(kunming, tmp_path):
    with unusable_folder(tmp_path / "reports", full=True) as folder:
        client, headers = _report_app(kunming, folder)
        started = client.post("/reports/district/530102?format=pdf", headers=headers)
        if started.status_code == 202:  # the state fitted; the report itself cannot
            status_url = started.json["status_url"]
            job = wait_for(lambda: (lambda j: j if j.get("job", {}).get("state") in (
                "failed", "done") or j.get("error") else None)(
                client.get(status_url).json), seconds=120)
            assert "报告文件夹不可写或已满" in str(job)
        else:
            assert started.status_code == 503
        leftovers = [p.name for p in folder.iterdir() if not p.name.endswith(".json")]
        assert leftovers == []


def test_a_read_only_upload_folder_refuses_the_upload_clearly(kunming, tmp_path):
    with unusable_folder(tmp_path / "uploads", full=False) as folder:
        app = create_app({"TESTING": True, "UPLOAD_DIR": str(folder),
                          "DATABASE_URL": kunming.url.render_as_string(hide_password=False)})
        client = sign_in(app.test_client(), kunming, "regulator")
        page = client.get("/imports").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        answer = client.post("/imports", data={
            "csrf_token": token, "kind": "projects",
            "file": (io.BytesIO(b"a,b\n1,2\n"), "p.csv")}, content_type="multipart/form-data")
        assert answer.status_code == 503
        assert "上传文件夹不可写或已满" in answer.get_data(as_text=True)
        assert list(folder.iterdir()) == []
        with kunming.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1


def _queued_report_app(kunming, folder: Path):
    """The service with reports made by job workers (REPORT_QUEUE=rq), and a way to work the
    queued reports here, as `riskmap worker` would."""
    app = create_app({"TESTING": True, "REPORT_DIR": str(folder), "REPORT_QUEUE": "rq",
                      "DATABASE_URL": kunming.url.render_as_string(hide_password=False)})
    client = sign_in(app.test_client(), kunming, "regulator")
    page = client.get("/statistics").get_data(as_text=True)
    headers = {"X-CSRFToken": page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]}

    def work() -> None:
        importjobs.use_app(app)
        SimpleWorker([QueuedReports(app).queue()], connection=keystore.client(app)).work(
            burst=True, logging_level="ERROR")
    return client, headers, work


def test_a_queued_report_fails_as_clearly_on_a_read_only_or_full_shared_folder(kunming,
                                                                               tmp_path):
    with unusable_folder(tmp_path / "ro", full=False) as folder:
        client, headers, _ = _queued_report_app(kunming, folder)
        answer = client.post("/reports/district/530102?format=csv", headers=headers)
        assert answer.status_code == 503 and "报告文件夹不可写或已满" in answer.json["error"]
    with unusable_folder(tmp_path / "full", full=True) as folder:
        client, headers, work = _queued_report_app(kunming, folder)
        started = client.post("/reports/district/530102?format=pdf", headers=headers)
        assert started.status_code == 202
        assert client.get(started.json["status_url"]).json["job"]["state_zh"] == "排队中"
        work()
        job = client.get(started.json["status_url"]).json["job"]
        assert job["state"] == "failed" and "报告文件夹不可写或已满" in job["error"]
        assert client.get(started.json["file_url"]).status_code == 409
        assert [p.name for p in folder.iterdir()] == []  # no partial file


def test_a_queued_report_is_made_by_a_job_worker_for_its_owner_only(kunming, tmp_path):
    client, headers, work = _queued_report_app(kunming, tmp_path / "reports")
    started = client.post("/reports/periodic?format=xlsx&period=2024-Q2", headers=headers)
    assert started.status_code == 202
    other = sign_in(client.application.test_client(), kunming, "planner")
    work()
    job = client.get(started.json["status_url"]).json["job"]
    assert job["state"] == "done" and job["progress"] == 1 and job["state_zh"] == "已完成"
    answer = client.get(started.json["file_url"])
    assert answer.status_code == 200 and answer.data[:2] == b"PK"
    assert "filename*=UTF-8''" in answer.headers["Content-Disposition"]
    assert other.get(started.json["status_url"]).status_code == 404
    assert other.get(started.json["file_url"]).status_code == 404
