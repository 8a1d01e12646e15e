"""Installed from a wheel, far from any checkout, the service serves the map with the web
assets the package ships, and keeps its own files in the user's data folder, not in
site-packages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from test_deploy import SYSTEM_PATH, _free_port, signed_in_browser

from conftest import TEST_PASSWORD, account
from webmap import assets

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv outside the checkout with the project's wheel; the dependencies are the
    locked ones this environment already has (by a path entry, not the editable install)."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", work / "dist", ROOT],
                   check=True, capture_output=True, cwd=work)
    wheel = next((work / "dist").glob("idi_riskmap-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    python = venv / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel],
                   check=True, capture_output=True)
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                                "['purelib'])"], check=True, capture_output=True,
                               text=True).stdout.strip())
    (site / "locked-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    home = work / "home"
    home.mkdir()
    return {"wheel": wheel, "venv": venv, "site": site, "home": home,
            "env": {"PATH": f"{venv / 'bin'}:{SYSTEM_PATH}", "HOME": str(home)}}


def test_the_wheel_ships_the_pages_assets_and_the_schema(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    for path in assets.files(Path("webmap/vendor")):
        assert str(path) in names
    assert "geo/migrations/versions/0007_ratings_complaints.py" in names
    assert "webmap/gunicorn_conf.py" in names and "layers/sql/publication_tile.sql" in names
    assert not any(n.startswith(("tests/", "node_modules/")) for n in names)


def _in_venv(installed, code: str) -> str:
    return subprocess.run([installed["venv"] / "bin" / "python", "-c", code], check=True,
                          capture_output=True, text=True, env=installed["env"],
                          cwd=installed["home"]).stdout


def test_installed_it_keeps_its_data_outside_site_packages(installed):
    found = json.loads(_in_venv(installed, "import json, webmap; from webmap import settings; "
                                           "print(json.dumps([webmap.__file__, "
                                           "settings.defaults()]))"))
    module, defaults = found
    assert module.startswith(str(installed["site"]))  # the wheel, not the checkout
    data = installed["home"] / ".local" / "share" / "idi-riskmap"
    assert defaults["DB_DIR"] == str(data)
    assert defaults["REPORT_DIR"] == str(data / "reports")
    assert defaults["UPLOAD_DIR"] == str(data / "uploads")
    assert defaults["SECRET_KEY_FILE"] == str(data / "secret_key")
    assert defaults["ASSETS_DIR"] == str(installed["site"] / "webmap" / "vendor")


def test_installed_it_serves_the_map_with_its_assets(installed, kunming, redis_for_tests):
    port = _free_port()
    env = {**installed["env"], "DATABASE_URL": kunming.url.render_as_string(
        hide_password=False), "RISKMAP_PORT": str(port), "RISKMAP_REDIS_URL": redis_for_tests,
           "RISKMAP_REDIS_PREFIX": os.environ["RISKMAP_REDIS_PREFIX"], "RISKMAP_JOB_WORKERS": "0"}
    server = subprocess.Popen([installed["venv"] / "bin" / "riskmap", "serve"], env=env,
                              cwd=installed["home"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline
                time.sleep(0.5)
        browser = signed_in_browser(base, account(kunming, "regulator"), TEST_PASSWORD)
        page = browser.open(base + "/").read().decode()
        assert "/vendor/leaflet/dist/leaflet.js" in page
        # the URL says /dist/ for every package, wherever the package keeps the file
        for package, names in assets.VENDOR_FILES.items():
            for name in names:
                path = ROOT / "node_modules" / package / assets.subfolder(package) / name
                url = f"{base}/vendor/{package}/dist/{name}"
                assert urllib.request.urlopen(url).read() == path.read_bytes(), url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_installed_without_its_assets_it_stops_at_start_with_one_line(installed, tmp_path):
    ran = subprocess.run([installed["venv"] / "bin" / "riskmap", "serve"], capture_output=True,
                         text=True, env={**installed["env"], "RISKMAP_ASSETS_DIR": str(tmp_path)},
                         cwd=installed["home"], timeout=60, check=False)
    assert ran.returncode == 2 and len(ran.stderr.strip().splitlines()) == 1
    assert "RISKMAP_ASSETS_DIR" in ran.stderr and "leaflet/dist/leaflet.js" in ran.stderr
    assert "Traceback" not in ran.stderr
