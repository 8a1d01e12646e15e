"""Uploads an attacker or a careless office might send: a zip bomb, a million-row XLSX, a
footprint of 100,000 vertices. Each is refused or imported by a job worker in a process of
its own whose peak memory stays under JOB_RSS_BOUND_MB, while the web server keeps
answering /healthz in under half a second."""

from __future__ import annotations

import io
import random
import time
from pathlib import Path

import pytest
from bigfiles import polygon_geojson, write_xlsx, zip_bomb
from importing import demo_store
from jobs import start_worker, stop
from served import get, gunicorn, service_env
from sqlalchemy import text

from conftest import account
from webmap import accounts, create_app

# the stated bound of an import job's peak resident memory (README: uploads)
JOB_RSS_BOUND_MB = 800


@pytest.fixture(scope="module")
def store(make_database):
    return demo_store(make_database)


@pytest.fixture(scope="module")
def app(store, tmp_path_factory):
    return create_app({"TESTING": True, "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
                       "DATABASE_URL": store.url.render_as_string(hide_password=False)})


@pytest.fixture(scope="module")
def served(app, store):
    """The web server (gunicorn) and a job worker, both with the app's settings."""
    config = app.config
    env = service_env({"REDIS_URL": config["REDIS_URL"], "SECRET_KEY": config["SECRET_KEY"],
                       "REDIS_PREFIX": config["REDIS_PREFIX"]},
                      store.url.render_as_string(hide_password=False))
    worker = start_worker(app)
    try:
        with gunicorn(env, workers=1) as (url, _):
            yield url
    finally:
        stop(worker)


@pytest.fixture(scope="module")
def token(store) -> dict:
    with store.begin() as conn:
        secret = accounts.issue_token(conn, account(store, "regulator"), "limits", actor="t")
    return {"Authorization": f"Bearer {secret}"}


def upload_and_watch(app, served: str, token: dict, kind: str, path, name: str):
    """Upload through the API, then poll the job to its end while timing /healthz."""
    client = app.test_client()
    with path.open("rb") as content:
        queued = client.post(f"/api/imports/{kind}", headers=token,
                             data={"file": (content, name)}, content_type="multipart/form-data")
    assert queued.status_code == 202, queued.get_data(as_text=True)
    health, deadline = [], time.monotonic() + 300
    while time.monotonic() < deadline:
        started = time.monotonic()
        assert get(served + "/healthz").status == 200
        health.append(time.monotonic() - started)
        answer = client.get(queued.json["status_url"], headers=token)
        if answer.status_code != 202:
            return answer, health
        time.sleep(0.25)
    raise AssertionError("the import job did not end within 5 minutes")


def _checked(answer, health):
    job = answer.json["job"]
    assert job["peak_rss_mb"] is not None and job["peak_rss_mb"] < JOB_RSS_BOUND_MB, job
    assert max(health) < 0.5, f"/healthz took up to {max(health):.2f} s"
    print(f"{answer.json['file']}: {answer.status_code}, job peak RSS {job['peak_rss_mb']} MB, "
          f"/healthz at most {max(health) * 1000:.0f} ms over {len(health)} polls")
    return answer.json


def test_a_zip_bomb_is_refused_before_it_is_unpacked(app, served, token, tmp_path):
    bomb = zip_bomb(tmp_path / "项目.zip", gib=0.25)
    assert bomb.stat().st_size < 1024 * 1024  # under 1 MB that would unpack to 256 MB
    answer, health = upload_and_watch(app, served, token, "projects", bomb, "项目.zip")
    report = _checked(answer, health)
    assert answer.status_code == 422 and not report["imported"]
    [problem] = report["errors"]
    assert "压缩炸弹" in problem["message"] and problem["file"] == "项目.zip"
    # nothing unpacked and the upload itself gone
    assert list(Path(app.config["UPLOAD_DIR"]).iterdir()) == []


def test_a_zip_that_unpacks_beyond_the_limit_is_refused(app, served, token, tmp_path):
    bomb = zip_bomb(tmp_path / "big.zip", gib=0.6)
    answer, health = upload_and_watch(app, served, token, "projects", bomb, "big.zip")
    report = _checked(answer, health)
    assert answer.status_code == 422 and "超过 500 MB 的上限" in report["errors"][0]["message"]


def test_a_million_row_xlsx_is_refused_at_the_row_limit(app, served, token, tmp_path):
    rng = random.Random(7)
    rows = ([f"BIG-{i:07d}", f"项目{rng.randrange(10**9)}", "五华区",
             round(102.6 + rng.random() / 10, 6), round(25.0 + rng.random() / 10, 6)]
            for i in range(1_000_000))
    path = write_xlsx(tmp_path / "million.xlsx", ["报建号", "项目名称", "所在区县", "经度", "纬度"],
                      rows)
    answer, health = upload_and_watch(app, served, token, "projects", path, "百万行.xlsx")
    report = _checked(answer, health)
    assert answer.status_code == 422 and not report["imported"]
    message = report["errors"][0]["message"]
    assert "超过 100,000 行的上限" in message and "百万行.xlsx" in message
    assert app.config["UPLOAD_DIR"] not in message


def test_a_footprint_of_100k_vertices_is_handled(app, served, token, store, tmp_path):
    with store.connect() as conn:
        lon, lat = conn.execute(text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface("
                                     "boundary) p FROM district WHERE code = '530102') s")).one()
    properties = {"报建号": "POLY-100K", "项目名称": "多边形项目", "所在区县": "五华区",
                  "建设单位": "测试置业有限公司", "施工单位": "测试建设集团有限公司",
                  "建筑面积（㎡）": 50000, "户数（户）": 400, "建安造价（万元）": 20000,
                  "项目阶段": "主体结构施工", "开工日期": "2024-03-01"}
    path = polygon_geojson(tmp_path / "poly.geojson", properties, (lon, lat), 100_000)
    answer, health = upload_and_watch(app, served, token, "projects", path, "多边形.geojson")
    report = _checked(answer, health)
    assert answer.status_code in (200, 422), report
    if answer.status_code == 422:  # refused: then clearly, naming the row
        assert report["errors"][0]["row"] == 1
    else:  # the project stands at a point inside its footprint
        with store.connect() as conn:
            distance = conn.execute(text(
                "SELECT ST_Distance(location, ST_SetSRID(ST_MakePoint(:x, :y), 4326)) "
                "FROM project WHERE permit_no = 'POLY-100K'"), {"x": lon, "y": lat}).scalar()
        assert distance is not None and distance < 0.002


def test_the_page_shows_the_jobs_progress_and_then_its_report(app, served, store, tmp_path):
    from conftest import sign_in

    client = sign_in(app.test_client(), store, "regulator")
    page = client.get("/imports").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    queued = client.post("/imports", data={"csrf_token": csrf, "kind": "projects",
                                           "file": (io.BytesIO(b"x"), "old.xls")},
                         content_type="multipart/form-data")
    assert queued.status_code == 303
    first = client.get(queued.location)
    assert first.status_code in (200, 202, 422)
    if first.status_code == 202:
        assert 'id="job"' in first.get_data(as_text=True)
    deadline = time.monotonic() + 60
    while first.status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.2)
        first = client.get(queued.location)
    assert first.status_code == 422 and ".xlsx" in first.get_data(as_text=True)
    other = sign_in(app.test_client(), store, "admin")
    assert other.get(queued.location).status_code == 404  # another account's job
