"""What operators' tools ask of the service: liveness and readiness in JSON, Prometheus metrics
that its parser reads, and an access log of JSON lines tied to each answer by a request id."""

from __future__ import annotations

import json
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_uploads import api_upload, token_for

from conftest import sign_in
from geo import store
from webmap import create_app

WUHUA = "530102"
NOWHERE = "postgresql://riskmap@/riskmap?host=/nonexistent-socket-dir&port=5999"


def _app(engine, **config):
    return create_app({"TESTING": True, "DATABASE_URL": engine.url.render_as_string(
        hide_password=False), **config})


def test_liveness_is_json_even_when_the_store_is_down():
    client = create_app({"TESTING": True, "DATABASE_URL": NOWHERE}).test_client()
    live = client.get("/healthz")
    assert live.status_code == 200 and live.is_json
    assert live.get_json() == {"status": "ok", "data_version": None}
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.is_json
    assert ready.get_json()["database"] == "unreachable"
    assert ready.get_json()["status"] == "not ready"


def test_readiness_needs_the_schema_this_code_was_written_for(make_database, app):
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200
    head = store.head_revision()
    assert ready.get_json() == {"status": "ready", "database": "ok", "schema": head,
                                "schema_expected": head}
    behind = make_database()
    store.downgrade(behind, "0006")
    answer = _app(behind).test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["schema"] == "0006" and answer.get_json()["status"] == "not ready"


def _families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def _value(families: dict, name: str, sample: str, **labels) -> float:
    for s in families[name].samples:
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return 0.0


def _wait_for_report(client, started) -> None:
    status_url = started.get_json()["status_url"]
    deadline = time.monotonic() + 60
    while client.get(status_url).get_json()["job"]["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_metrics_parse_and_count_requests_jobs_and_connections(app, kunming):
    client = sign_in(app.test_client(), kunming, "regulator")
    before = _families(client.get("/metrics").get_data(as_text=True))
    for _ in range(3):
        assert client.get("/api/layers").status_code == 200
    page = client.get("/statistics").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    started = client.post(f"/reports/district/{WUHUA}?format=csv", headers={"X-CSRFToken": token})
    _wait_for_report(client, started)
    refused = api_upload(app, token_for(kunming, "regulator"), "organisations",
                         "名称\n甲公司\n".encode(), "org.csv", dry_run="1")
    assert refused.status_code == 422  # the job ran and refused the file, naming the column

    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    after = _families(response.get_data(as_text=True))
    counted = "riskmap_http_requests"
    labels = {"endpoint": "api.layer_catalogue", "method": "GET", "status": "200"}
    assert _value(after, counted, counted + "_total", **labels) - _value(
        before, counted, counted + "_total", **labels) == 3
    latency = "riskmap_http_request_duration_seconds"
    assert _value(after, latency, latency + "_count", endpoint="api.layer_catalogue") >= 3
    assert _value(after, latency, latency + "_bucket", endpoint="api.layer_catalogue",
                  le="+Inf") >= 3
    reports = "riskmap_report_jobs"
    assert _value(after, reports, reports + "_total", outcome="done") - _value(
        before, reports, reports + "_total", outcome="done") == 1
    submitted = "riskmap_import_jobs_submitted"
    assert _value(after, submitted, submitted + "_total", kind="organisations") - _value(
        before, submitted, submitted + "_total", kind="organisations") == 1
    # the queue in Redis, as every job worker left it
    assert _value(after, "riskmap_import_jobs", "riskmap_import_jobs", state="finished") >= 1
    assert _value(after, "riskmap_import_jobs", "riskmap_import_jobs", state="queued") == 0
    assert _value(after, "riskmap_db_pool_size", "riskmap_db_pool_size", engine="web") >= 1
    assert "riskmap_db_pool_connections" in after


def test_metrics_are_for_this_machine_or_the_token_holder(app, kunming):
    client = app.test_client()
    assert client.get("/metrics").status_code == 200  # a scraper on this machine
    # through a proxy anyone could be asking
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 401
    remote = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert remote.status_code == 401 and "RISKMAP_METRICS_TOKEN" in remote.get_json()["error"]
    guarded = _app(kunming, METRICS_TOKEN="s3cret-metrics").test_client()
    assert guarded.get("/metrics").status_code == 401
    assert guarded.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.7"}, headers={
        "Authorization": "Bearer s3cret-metrics"}).status_code == 200


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("proxies", [0, 1])
def test_every_answer_is_a_json_log_line_with_its_request_id(kunming, tmp_path, proxies):
    log = tmp_path / "access.log"
    client = sign_in(_app(kunming, ACCESS_LOG=str(log), PROXIES=proxies).test_client(),
                     kunming, "regulator")
    sent = {"X-Request-ID": "proxy-id-42"}
    answers = [client.get("/api/layers", headers=sent),
               client.get("/claims/follow?number=C1&secret=not-to-be-logged"),
               client.get("/no/such/page")]
    lines = _lines(log)
    assert len(lines) == 3
    for answer, line in zip(answers, lines, strict=True):
        assert answer.headers["X-Request-ID"] == line["request_id"]
        assert line["status"] == answer.status_code and line["method"] == "GET"
        assert line["time"].endswith("+08:00") and line["ms"] >= 0
    # only a trusted proxy may name a request
    assert (lines[0]["request_id"] == "proxy-id-42") is bool(proxies)
    assert lines[0]["endpoint"] == "api.layer_catalogue" and lines[0]["user"] == "t-regulator"
    assert lines[1]["path"] == "/claims/follow" and "secret" not in json.dumps(lines[1])
    assert lines[2]["status"] == 404 and lines[2]["endpoint"] is None
    assert len({line["request_id"] for line in lines}) == 3
