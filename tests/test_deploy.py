"""The production deployment, end to end without Docker: docker-compose.yml is valid, and its
app's own command, run against a PostgreSQL configured as the postgis image is (TCP, password
authentication for the owner and the web role), migrates, loads the demo and serves it with
gunicorn (2 workers, webmap/gunicorn_conf.py) to a user who signs in."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import jsonschema
import psycopg2
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from geo import cluster

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"  # runuser lives in sbin
SECRETS = {"RISKMAP_DB_PASSWORD": "owner-Pw-8c1f", "RISKMAP_WEB_DB_PASSWORD": "web-Pw-52ae"}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's ${NAME:-default} and $$, as `docker compose` reads the file."""
    value = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: environ.get(m[1]) or m[2], value)
    return value.replace("$$", "$")


def test_the_compose_file_is_valid_and_serves_through_the_gunicorn_config():
    spec = json.loads((ROOT / "tests" / "compose" / "compose_spec.json").read_text())
    jsonschema.Draft201909Validator(spec).validate(compose())
    app = compose()["services"]["app"]
    assert "gunicorn -c python:webmap.gunicorn_conf 'webmap:create_app()'" in app["command"][2]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'CMD ["gunicorn", "-c", "python:webmap.gunicorn_conf", "webmap:create_app()"]' \
        in dockerfile
    assert "--require-hashes" in dockerfile and "requirements.lock" in dockerfile
    # both roles log in with a password: nothing relies on trust authentication
    for key in ("DATABASE_URL", "RISKMAP_WEB_DATABASE_URL"):
        user, password = re.match(r"postgresql://(\w+):([^@]+)@", app["environment"][key]).groups()
        assert password and user in ("riskmap", "riskmap_web")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgis_like_image():
    """A PostgreSQL on 127.0.0.1 that asks every role for its password (scram-sha-256), with
    the owner and database the postgis image makes from POSTGRES_USER/PASSWORD/DB."""
    db = compose()["services"]["db"]["environment"]
    root = Path(tempfile.mkdtemp(prefix="riskmap-compose-"))
    made = cluster.Cluster(root=root, port=_free_port())
    cluster._prepare_dirs(made)  # owned by the server user when we are root
    password_file = root / "password"
    password_file.write_text(interpolate(db["POSTGRES_PASSWORD"], SECRETS))
    if os.geteuid() == 0:
        os.chown(password_file, root.stat().st_uid, root.stat().st_gid)
    bindir = cluster.pg_bindir()
    for argv in (
        [bindir / "initdb", "-D", made.data_dir, "-U", db["POSTGRES_USER"],
         "--auth=scram-sha-256", f"--pwfile={password_file}", "--encoding=UTF8",
         "--locale=C.UTF-8"],
        [bindir / "pg_ctl", "start", "-w", "-D", made.data_dir, "-l", made.log_file, "-o",
         f"-k {made.socket_dir} -p {made.port} -c listen_addresses=127.0.0.1 -c fsync=off"],
    ):
        ran = cluster._run(made, [str(a) for a in argv])
        assert ran.returncode == 0, ran.stderr
    owner = psycopg2.connect(host="127.0.0.1", port=made.port, dbname="postgres",
                             user=db["POSTGRES_USER"], password=password_file.read_text())
    owner.autocommit = True
    owner.cursor().execute(f'CREATE DATABASE "{db["POSTGRES_DB"]}"')
    owner.close()
    yield made
    cluster.destroy(made)


def _read_lines(stream, into: list[str]) -> None:
    for line in stream:
        into.append(line)


@pytest.fixture(scope="module")
def compose_app(postgis_like_image, tmp_path_factory, redis_for_tests):
    """The app service's command, with its environment, against the database above; yields
    the base URL and what it printed (stdout, stderr)."""
    app = compose()["services"]["app"]
    port = _free_port()
    environ = {key: interpolate(str(value), SECRETS).replace(
        "@db:5432/", f"@127.0.0.1:{postgis_like_image.port}/")
        for key, value in app["environment"].items()}
    environ["RISKMAP_REDIS_URL"] = redis_for_tests  # the suite's Redis stands in for compose's
    environ["RISKMAP_REDIS_PREFIX"] = os.environ["RISKMAP_REDIS_PREFIX"]
    home = tmp_path_factory.mktemp("home")
    environ.update({"PATH": f"{BIN}:{SYSTEM_PATH}", "HOME": str(home), "RISKMAP_PORT": str(port),
                    "RISKMAP_HOST": "127.0.0.1", "RISKMAP_WORKERS": "2",
                    "RISKMAP_REPORT_DIR": str(home / "reports")})
    command = interpolate(app["command"][2], {})
    process = subprocess.Popen(["sh", "-c", command], env=environ, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True, cwd=home)
    out: list[str] = []
    err: list[str] = []
    for stream, into in ((process.stdout, out), (process.stderr, err)):
        threading.Thread(target=_read_lines, args=(stream, into), daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 400
        while not _ready(base):
            assert process.poll() is None, "".join(out[-20:] + err[-30:])
            assert time.monotonic() < deadline, "not ready in time:\n" + "".join(err[-30:])
            time.sleep(1)
        yield base, out, err
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/readyz", timeout=5) as answer:
            return answer.status == 200
    except (OSError, urllib.error.HTTPError):
        return False


def signed_in_browser(base: str, username: str, password: str):
    """An HTTP client with cookies, signed in through the login form as a person would."""
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = browser.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)[1]
    signed = browser.open(base + "/login", urllib.parse.urlencode({
        "csrf_token": token, "username": username, "password": password}).encode())
    assert signed.url == base + "/"
    return browser


def test_the_compose_command_serves_signed_in_pages_with_two_gunicorn_workers(
        compose_app, postgis_like_image):
    base, out, err = compose_app
    printed = "".join(out)
    regulator = re.search(r"^\s+demo-regulator\s+(\S+)\s+regulator", printed, re.M)
    assert regulator, printed[-2000:]
    browser = signed_in_browser(base, "demo-regulator", regulator[1])
    # several requests: the workers share the session (one secret key) and the web role's
    # password-authenticated connections
    for _ in range(3):
        for url, expected in (("/statistics", "统计分析"), ("/districts", "五华区"),
                              ("/api/layers", "premium_total"), ("/", "风险地图")):
            page = browser.open(base + url)
            assert page.status == 200 and expected in page.read().decode(), url
    # the workers' figures add up on /metrics, whichever worker answers it
    metrics = urllib.request.urlopen(base + "/metrics").read().decode()
    served = sum(sample.value for family in text_string_to_metric_families(metrics)
                 for sample in family.samples if sample.name == "riskmap_http_requests_total"
                 and sample.labels["endpoint"] == "statistics.statistics_page")
    assert served == 3
    logs = [json.loads(line) for line in err if line.startswith("{")]
    booted = {line["message"] for line in logs if "Booting worker" in line.get("message", "")}
    assert len(booted) == 2, booted  # JSON lines from gunicorn, one per worker
    access = [json.loads(line) for line in out if line.startswith('{"time"')]
    assert any(a["path"] == "/statistics" and a["user"] == "demo-regulator" for a in access)
    # the database refuses the web role without its password: the service used it
    with pytest.raises(psycopg2.OperationalError, match="password"):
        psycopg2.connect(host="127.0.0.1", port=postgis_like_image.port, dbname="riskmap",
                         user="riskmap_web", password="wrong")


def test_gunicorn_stops_at_a_bad_setting_with_one_line():
    ran = subprocess.run(
        shlex.split("gunicorn -c python:webmap.gunicorn_conf webmap:create_app()"),
        env={"PATH": f"{BIN}:{SYSTEM_PATH}", "RISKMAP_WORKERS": "none"},
        capture_output=True, text=True, timeout=60, check=False)
    assert ran.returncode != 0
    assert ran.stderr.strip().splitlines()[-1] == (
        "错误 / error: 设置 RISKMAP_WORKERS='none' 有误：应为整数 — not an integer")
    assert "Traceback" not in ran.stderr
