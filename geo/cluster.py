"""A private PostgreSQL + PostGIS cluster for development, tests and small installs.

Used only when no DATABASE_URL is configured. The cluster lives in a git-ignored
folder of the project and listens on a Unix socket in that folder only (no TCP),
so it never collides with a system PostgreSQL on port 5432. PostgreSQL refuses
to run as root, so when we are root the server runs as an unprivileged system
user (``postgres`` by default, created by Debian's package).
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import os
import pwd
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "riskmap"
DATABASE = "riskmap"
# Only the name of the socket file depends on the port; no TCP port is opened.
DEFAULT_PORT = 54329
_SOCKET_PATH_MAX = 100


class ClusterError(RuntimeError):
    """The private cluster cannot be created or started; the message says why."""


@dataclass(frozen=True)
class Cluster:
    """Where a private cluster lives and who runs it."""

    root: Path
    port: int = DEFAULT_PORT
    os_user: str = "postgres"
    # Tests and demos trade crash safety for speed; never set for real data.
    unsafe_fast: bool = False

    @property
    def data_dir(self) -> Path:
        return self.root / "pgdata"

    @property
    def socket_dir(self) -> Path:
        path = self.root / "run"
        if len(str(path)) + len(f"/.s.PGSQL.{self.port}") <= _SOCKET_PATH_MAX:
            return path
        # Unix socket paths are limited to ~107 bytes; deep checkouts fall back to /tmp.
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:10]
        return Path("/tmp") / f"riskmap-{digest}"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = DATABASE) -> str:
        """SQLAlchemy URL of a database in this cluster.

        >>> Cluster(Path("/srv/riskmap/.riskmap")).url()
        'postgresql+psycopg2://riskmap@/riskmap?host=/srv/riskmap/.riskmap/run&port=54329'
        """
        return (
            f"postgresql+psycopg2://{SUPERUSER}@/{database}"
            f"?host={self.socket_dir}&port={self.port}"
        )


def reachable_root(root: Path, os_user: str) -> Path:
    """``root``, or when root runs the server as ``os_user`` and that user cannot reach it (a
    checkout under /root, mode 700), a folder of its own under /var/lib/riskmap instead."""
    if not _running_as_root() or _user_can_reach(root, os_user):
        return root
    digest = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:10]
    return Path("/var/lib/riskmap") / digest


def _user_can_reach(path: Path, os_user: str) -> bool:
    existing = path
    while not existing.exists():
        existing = existing.parent
    result = subprocess.run(["runuser", "-u", os_user, "--", "test", "-x", str(existing)],
                            capture_output=True, check=False)
    return result.returncode == 0


def pg_bindir() -> Path:
    """The newest system PostgreSQL whose PostGIS extension is installed."""
    candidates = []
    for bindir in glob.glob("/usr/lib/postgresql/*/bin"):
        version = Path(bindir).parent.name
        if Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists():
            candidates.append((float(version), Path(bindir)))
    if not candidates:
        raise ClusterError(
            "未找到带 PostGIS 的 PostgreSQL。No system PostgreSQL with PostGIS found under "
            "/usr/lib/postgresql: install it with `apt-get install postgresql "
            "postgresql-<version>-postgis-3` (the README's first command does this)."
        )
    return max(candidates)[1]


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _as_server_user(cluster: Cluster, argv: list[str]) -> list[str]:
    if not _running_as_root():
        return argv
    try:
        pwd.getpwnam(cluster.os_user)
    except KeyError as exc:
        raise ClusterError(
            f"system user {cluster.os_user!r} does not exist; PostgreSQL will not run as root. "
            "Install Debian's postgresql package (it creates 'postgres') or set "
            "RISKMAP_DB_OS_USER to another unprivileged user."
        ) from exc
    return ["runuser", "-u", cluster.os_user, "--", *argv]


def _run(cluster: Cluster, argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        _as_server_user(cluster, argv), capture_output=True, text=True, check=False
    )


def _prepare_dirs(cluster: Cluster) -> None:
    for path in (cluster.root, cluster.socket_dir):
        path.mkdir(parents=True, exist_ok=True)
    if _running_as_root():
        user = pwd.getpwnam(cluster.os_user)
        for path in (cluster.root, cluster.socket_dir):
            os.chown(path, user.pw_uid, user.pw_gid)
        check = _run(cluster, ["test", "-w", str(cluster.root)])
        if check.returncode != 0:
            raise ClusterError(
                f"user {cluster.os_user!r} cannot reach {cluster.root}: a parent folder is "
                "closed to it (mode 700?). Clone the project somewhere it can traverse, or "
                "set RISKMAP_DB_DIR to such a folder."
            )


def is_initialised(cluster: Cluster) -> bool:
    return (cluster.data_dir / "PG_VERSION").exists()


def is_running(cluster: Cluster) -> bool:
    if not is_initialised(cluster):
        return False
    result = _run(cluster, [str(pg_bindir() / "pg_ctl"), "status", "-D", str(cluster.data_dir)])
    return result.returncode == 0


def _initdb(cluster: Cluster) -> None:
    result = _run(cluster, [
        str(pg_bindir() / "initdb"), "-D", str(cluster.data_dir), "-U", SUPERUSER,
        "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8",
    ])
    if result.returncode != 0:
        raise ClusterError(f"initdb failed:\n{result.stderr.strip()}")


def _start(cluster: Cluster) -> None:
    options = f"-k {cluster.socket_dir} -p {cluster.port} -c listen_addresses=''"
    if cluster.unsafe_fast:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    result = _run(cluster, [
        str(pg_bindir() / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(cluster.data_dir),
        "-l", str(cluster.log_file), "-o", options,
    ])
    if result.returncode != 0:
        log_tail = ""
        if cluster.log_file.exists():
            log_tail = "\n".join(cluster.log_file.read_text(errors="replace").splitlines()[-15:])
        raise ClusterError(f"pg_ctl start failed:\n{result.stderr.strip()}\n{log_tail}")


def _ensure_database(cluster: Cluster, database: str) -> None:
    psql = [str(pg_bindir() / "psql"), "-h", str(cluster.socket_dir), "-p", str(cluster.port),
            "-U", SUPERUSER, "-d", "postgres", "-tAc"]
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", database):
        raise ClusterError(f"database name {database!r}: use lower-case letters, digits and _")
    # psql -c takes no bind parameters; the name was checked above
    exists = _run(cluster, [*psql, f"SELECT 1 FROM pg_database WHERE datname = '{database}'"])  # noqa: S608
    if exists.stdout.strip() != "1":
        created = _run(cluster, [*psql, f'CREATE DATABASE "{database}"'])
        if created.returncode != 0:
            raise ClusterError(f"cannot create database {database}: {created.stderr.strip()}")


def up(cluster: Cluster, database: str = DATABASE) -> str:
    """Create (first time) and start the cluster; return the URL of its database."""
    _prepare_dirs(cluster)
    with one_at_a_time(cluster.root / "starting.lock"):
        if not is_initialised(cluster):
            _initdb(cluster)
        if not is_running(cluster):
            _start(cluster)
            _wait_for_socket(cluster)
        _ensure_database(cluster, database)
    return cluster.url(database)


@contextlib.contextmanager
def one_at_a_time(lock: Path) -> Iterator[None]:
    """Processes that start the same private service at once (the test suite's workers, a
    server's) take turns: the first initialises and starts it, the next finds it running."""
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _wait_for_socket(cluster: Cluster, seconds: float = 30) -> None:
    socket = cluster.socket_dir / f".s.PGSQL.{cluster.port}"
    deadline = time.monotonic() + seconds
    while not socket.exists():
        if time.monotonic() > deadline:
            raise ClusterError(f"PostgreSQL started but its socket {socket} did not appear")
        time.sleep(0.1)


def down(cluster: Cluster) -> bool:
    """Stop the cluster; return whether it was running."""
    if not is_running(cluster):
        return False
    result = _run(cluster, [str(pg_bindir() / "pg_ctl"), "stop", "-w", "-m", "fast",
                            "-D", str(cluster.data_dir)])
    if result.returncode != 0:
        raise ClusterError(f"pg_ctl stop failed: {result.stderr.strip()}")
    return True


def destroy(cluster: Cluster) -> None:
    """Stop the cluster and delete its files (all data in it is lost)."""
    down(cluster)
    shutil.rmtree(cluster.root, ignore_errors=True)
