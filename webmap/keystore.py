"""The shared store of the service: Redis, for sessions, rate limits and import jobs.

State that every web worker must see alike lives here, never in a process's memory, so that
gunicorn's workers (and hosts) are interchangeable. REDIS_URL names a Redis to use; without it
a private instance runs in the checkout's private-data folder (DB_DIR), the way the private
PostgreSQL cluster does: Debian's redis-server, on a Unix socket only (no TCP port), as the
unprivileged user REDIS_OS_USER when we are root, with its snapshot beside the socket.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from flask import Flask, current_app

from geo.cluster import one_at_a_time, reachable_root

_SOCKET_PATH_MAX = 100
_CLIENT = "riskmap.redis"


class KeystoreError(RuntimeError):
    """The private Redis cannot be started; the message says why."""


@dataclass(frozen=True)
class PrivateRedis:
    """Where a private Redis lives and who runs it."""

    root: Path  # the private-data folder; Redis keeps its files in root/redis
    os_user: str = "redis"

    @property
    def folder(self) -> Path:
        return self.root / "redis"

    @property
    def socket(self) -> Path:
        path = self.folder / "redis.sock"
        if len(str(path)) <= _SOCKET_PATH_MAX:
            return path
        # Unix socket paths are limited to ~107 bytes; deep checkouts fall back to /tmp
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:10]
        return Path("/tmp") / f"riskmap-redis-{digest}.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}?db=0"

    def config_text(self) -> str:
        # port 0: no TCP at all; the socket is the owner's only (root passes regardless)
        return "\n".join([
            "port 0", f"unixsocket {self.socket}", "unixsocketperm 700",
            f"dir {self.folder}", "dbfilename dump.rdb", "save 300 1 60 1000",
            "appendonly no", "daemonize yes", f"pidfile {self.folder / 'redis.pid'}",
            f"logfile {self.folder / 'redis.log'}", "protected-mode yes", ""])


def private_redis(config) -> PrivateRedis:
    user = config["REDIS_OS_USER"]
    return PrivateRedis(reachable_root(Path(config["DB_DIR"]), user), user)


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _server_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if found is None:
        raise KeystoreError(
            "未找到 redis-server。redis-server not found: install Debian's package with "
            "`apt-get install redis-server` (the README's commands do this) or set "
            "RISKMAP_REDIS_URL to a Redis of your own.")
    return found


def _as_server_user(server: PrivateRedis, argv: list[str]) -> list[str]:
    if not _running_as_root():
        return argv
    try:
        pwd.getpwnam(server.os_user)
    except KeyError as exc:
        raise KeystoreError(
            f"system user {server.os_user!r} does not exist; the private Redis does not run as "
            "root. Install Debian's redis-server package (it creates 'redis') or set "
            "RISKMAP_REDIS_OS_USER to another unprivileged user.") from exc
    return ["runuser", "-u", server.os_user, "--", *argv]


def _prepare(server: PrivateRedis) -> Path:
    server.folder.mkdir(parents=True, exist_ok=True)
    if _running_as_root():
        user = pwd.getpwnam(server.os_user)
        os.chown(server.folder, user.pw_uid, user.pw_gid)
    os.chmod(server.folder, 0o700)
    conf = server.folder / "redis.conf"
    conf.write_text(server.config_text(), encoding="ascii")
    return conf


def is_running(server: PrivateRedis) -> bool:
    if not server.socket.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(server.socket), socket_timeout=2).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def up(server: PrivateRedis, wait_seconds: float = 20) -> str:
    """Start the private Redis unless it runs; return its URL."""
    if is_running(server):
        return server.url
    server.folder.parent.mkdir(parents=True, exist_ok=True)
    with one_at_a_time(server.folder.parent / ".redis-starting.lock"):
        return _start(server, wait_seconds)


def _start(server: PrivateRedis, wait_seconds: float) -> str:
    if is_running(server):
        return server.url
    conf = _prepare(server)
    result = subprocess.run(_as_server_user(server, [_server_binary(), str(conf)]),
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise KeystoreError(f"redis-server failed to start: {result.stderr.strip()}")
    deadline = time.monotonic() + wait_seconds
    while not is_running(server):
        if time.monotonic() > deadline:
            log = server.folder / "redis.log"
            tail = log.read_text(errors="replace").splitlines()[-5:] if log.exists() else []
            raise KeystoreError("redis-server started but does not answer on "
                                f"{server.socket}:\n" + "\n".join(tail))
        time.sleep(0.05)
    return server.url


def down(server: PrivateRedis) -> bool:
    """Stop the private Redis (it saves its snapshot first); return whether it was running."""
    if not is_running(server):
        return False
    try:
        redis.Redis(unix_socket_path=str(server.socket)).shutdown(save=True)
    except redis.ConnectionError:
        pass  # it closes the connection as it goes
    return True


def redis_url(config) -> str:
    """REDIS_URL, or the private instance's (started if it is not running)."""
    return config.get("REDIS_URL") or up(private_redis(config))


def limits_uri(url: str) -> str:
    """The same Redis in the `limits` library's spelling (flask-limiter's storage URI).

    >>> limits_uri("unix:///srv/x/redis.sock?db=0"), limits_uri("redis://h:6379/1")
    ('redis+unix:///srv/x/redis.sock?db=0', 'redis://h:6379/1')
    """
    return "redis+" + url if url.startswith("unix://") else url


def client(app: Flask | None = None) -> redis.Redis:
    """The app's Redis client (one connection pool per app and process)."""
    app = app or current_app
    found = app.extensions.get(_CLIENT)
    if found is None:
        found = app.extensions[_CLIENT] = redis.Redis.from_url(
            app.config["REDIS_URL"], socket_timeout=5, socket_connect_timeout=5,
            health_check_interval=30)
    return found


def key(name: str, app: Flask | None = None) -> str:
    """A key of this service in the shared Redis: REDIS_PREFIX keeps services apart."""
    return f"{(app or current_app).config['REDIS_PREFIX']}:{name}"


def settings_url(config) -> str | None:
    """The Redis the settings name (None: the private instance)."""
    return config.get("CONFIGURED_REDIS_URL", config.get("REDIS_URL"))


def init_app(app: Flask) -> None:
    # resolved once, so that every part (sessions, limits, jobs) and the job workers agree
    app.config["CONFIGURED_REDIS_URL"] = app.config.get("REDIS_URL")
    app.config["REDIS_URL"] = redis_url(app.config)
