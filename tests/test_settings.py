"""Settings as an operator meets them: any postgresql:// URL works, a bad value stops the
command or the server with one line naming the setting, and the version is one flag away."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from test_deploy import SYSTEM_PATH

from conftest import sign_in
from webmap import cli, create_app, settings

BIN = Path(sys.executable).parent


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_plain_postgresql_url_works(kunming, scheme):
    """SQLAlchemy 2.1 maps postgresql:// to psycopg 3, which is not installed: the store maps
    it to psycopg2, the driver it has."""
    url = kunming.url.set(drivername=scheme).render_as_string(hide_password=False)
    assert url.startswith(f"{scheme}://")
    app = create_app({"TESTING": True, "DATABASE_URL": url})
    client = sign_in(app.test_client(), kunming, "regulator")
    assert client.get("/api/layers").status_code == 200
    assert client.get("/readyz").get_json()["status"] == "ready"
    status = subprocess.run([BIN / "riskmap", "db", "status"], capture_output=True, text=True,
                            env={"PATH": SYSTEM_PATH, "DATABASE_URL": url}, check=False)
    assert status.returncode == 0, status.stderr
    assert "schema revision: " in status.stdout and "psycopg2" in status.stdout


BAD = [
    ("RISKMAP_DB_PORT", "abc", "应为整数"),
    ("RISKMAP_PORT", "70000", "1–65535"),
    ("RISKMAP_BASEMAP", "osm", "auto、outline、tianditu、tianditu_img、xyz、none"),
    ("RISKMAP_CITY", "5301", "GB/T 2260"),
    ("RISKMAP_UPLOAD_MAX_MB", "0", "不小于 1"),
    ("RISKMAP_PUBLIC_DOMINANCE", "2", "不大于 1"),
    ("RISKMAP_LOGIN_RATE_LIMIT", "often", "5 per minute"),
    ("RISKMAP_CORS_ORIGINS", "gis.example.gov.cn", "https://主机"),
    ("RISKMAP_PROXIES", "-1", "不小于 0"),
    ("RISKMAP_DB_UNSAFE_FAST", "maybe", "yes/no"),
    ("RISKMAP_ASSETS_DIR", "/nonexistent", "npm ci"),
    ("DATABASE_URL", "mysql://u:secret@db/riskmap", "PostgreSQL"),
    ("RISKMAP_WEB_DATABASE_URL", "not a url", "PostgreSQL"),
    ("RISKMAP_WORKERS", "0", "不小于 1"),
    ("RISKMAP_REPLICA_URLS", "postgresql://r1/riskmap, mysql://u:secret@r2/riskmap",
     "PostgreSQL"),
    ("RISKMAP_REPLICA_MAX_LAG_SECONDS", "-1", "不小于 0"),
    ("RISKMAP_REPORT_QUEUE", "celery", "threads 或 rq"),
]


@pytest.mark.parametrize("variable, value, hint", BAD, ids=[b[0] for b in BAD])
def test_a_bad_setting_is_one_line_naming_it(monkeypatch, capsys, variable, value, hint):
    monkeypatch.setenv(variable, value)
    monkeypatch.setattr(sys, "argv", ["riskmap", "db", "status"])
    with pytest.raises(SystemExit) as ended:
        cli.run()
    assert ended.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"{variable}=" in err and hint in err
    assert "secret" not in err  # a URL's password is never printed


def test_a_bad_setting_given_to_the_app_is_refused_too():
    with pytest.raises(settings.SettingError, match="RISKMAP_REPORT_WORKERS=0"):
        create_app({"REPORT_WORKERS": 0})


def test_a_bad_setting_stops_the_real_command_without_a_traceback():
    ran = subprocess.run([BIN / "riskmap", "load", "districts", "--city", "530100"],
                         capture_output=True, text=True, check=False,
                         env={"PATH": SYSTEM_PATH, "RISKMAP_DB_PORT": "abc"})
    assert ran.returncode == 2 and ran.stdout == ""
    assert ran.stderr.strip() == "错误 / error: 设置 RISKMAP_DB_PORT='abc' 有误：应为整数 — not " \
                                 "an integer"


def test_riskmap_tells_its_version():
    ran = subprocess.run([BIN / "riskmap", "--version"], capture_output=True, text=True,
                         check=True)
    assert ran.stdout.strip() == f"riskmap {version('idi-riskmap')}"
