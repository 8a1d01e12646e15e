"""The service behind gunicorn, started by a test as an operator would run it, and plain HTTP
requests to it (each on a connection of its own)."""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def service_env(settings: dict, database_url: str | None = None) -> dict:
    """The environment of a service process: RISKMAP_<NAME> for each of ``settings``."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update({f"RISKMAP_{name}": str(value) for name, value in settings.items()})
    return env


def start_gunicorn(env: dict, port: int, workers: int = 2) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers",
         str(workers), "--access-logfile", "-", "--access-logformat", "%(p)s %(s)s %(U)s",
         "webmap:create_app()"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@contextmanager
def gunicorn(env: dict, workers: int = 2) -> Iterator[tuple[str, subprocess.Popen]]:
    """The service on gunicorn with ``workers`` processes; yields its URL and the process
    (whose stdout is the access log: worker pid, status, path)."""
    port = free_port()
    process = start_gunicorn(env, port, workers)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a busy machine imports the app slowly
        while get(url + "/login").status != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()  # else reading its stderr would wait for it forever
                raise AssertionError(f"gunicorn did not start: {process.communicate()[1]}")
            time.sleep(0.2)
        yield url, process
    finally:
        process.terminate()
        process.wait(20)


@dataclass
class Answer:
    status: int
    body: str
    headers: dict


class Browser:
    """Cookies kept across requests, each request on a new connection (any worker)."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def request(self, url: str, data: dict | None = None, headers: dict | None = None,
                timeout: float = 30) -> Answer:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(url, data=body, headers=headers or {})
        try:
            with self.opener.open(req, timeout=timeout) as response:
                return Answer(response.status, response.read().decode("utf-8", "replace"),
                              dict(response.headers))
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read().decode("utf-8", "replace"),
                          dict(error.headers))
        except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
            return Answer(0, str(error), {})

    def csrf(self, url: str) -> str:
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                         self.request(url).body)[1]

    def sign_in(self, base: str, username: str, password: str) -> Answer:
        token = self.csrf(base + "/login")
        return self.request(base + "/login", {"csrf_token": token, "username": username,
                                              "password": password})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def get(url: str, **kwargs) -> Answer:
    return Browser().request(url, **kwargs)


def nginx_conf(folder: Path, port: int, backends: list[int], cache: bool) -> str:
    """The deployment's proxy (deploy/nginx/riskmap.conf) as a private, unprivileged copy."""
    servers = "".join(f"    server 127.0.0.1:{p};\n" for p in backends)
    site = (ROOT / "deploy" / "nginx" / "riskmap.conf").read_text(encoding="utf-8")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    site = site.replace("/var/cache/nginx/riskmap", str(folder / "cache"))
    if not cache:
        site = site.replace("proxy_cache riskmap;", "proxy_cache off;")
    upstream = site.split("upstream riskmap {", 1)[1].split("}", 1)[0]
    site = site.replace(upstream, "\n" + servers + "    keepalive 32;\n")
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    return (f"{user}worker_processes 1;\ndaemon off;\npid {folder}/nginx.pid;\n"
            f"error_log {folder}/error.log warn;\nevents {{ worker_connections 1024; }}\n"
            f"http {{\n  access_log off;\n  client_body_temp_path {folder}/body;\n"
            f"  proxy_temp_path {folder}/proxy;\n  fastcgi_temp_path {folder}/fcgi;\n"
            f"  uwsgi_temp_path {folder}/uwsgi;\n  scgi_temp_path {folder}/scgi;\n"
            f"{site}\n}}\n")


@contextlib.contextmanager
def nginx(backends: list[int], cache: bool = True) -> Iterator[int]:
    """Debian's nginx with the deployment's configuration, run privately from a temporary
    folder on a free port in front of ``backends`` (ports of 127.0.0.1); yields its port."""
    folder = Path(tempfile.mkdtemp(prefix="riskmap-nginx-"))
    folder.chmod(0o755)  # its worker (nobody, when we are root) writes the cache here
    port = free_port()
    (folder / "nginx.conf").write_text(nginx_conf(folder, port, backends, cache))
    process = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while get(f"http://127.0.0.1:{port}/healthz").status != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"nginx did not start: {process.stderr.read()}")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(20)
        shutil.rmtree(folder, ignore_errors=True)
