"""A streaming standby of a private cluster: PostgreSQL's own replication, for read replicas.

`make_standby` copies a running primary with pg_basebackup (the same server binaries as the
private cluster), writes the connection back to it (``-R``: standby.signal and
primary_conninfo) and starts the copy read-only on a port of its own. The standby then
follows the primary's WAL as it streams; it holds the same roles, tables and row-security
policies, so the web role reads there exactly what it may read on the primary.
On separate machines an operator does the same with `pg_basebackup -h primary -R` (README).
"""

from __future__ import annotations

import shutil
import time

from sqlalchemy import text

from geo import store
from geo.cluster import Cluster, ClusterError, _prepare_dirs, _run, is_initialised, pg_bindir, up


def make_standby(primary: Cluster, standby: Cluster) -> str:
    """Copy the running ``primary`` into ``standby`` (once) and start it as a streaming
    standby; return the URL of its database."""
    if not is_initialised(standby):
        _prepare_dirs(standby)
        result = _run(standby, [
            str(pg_bindir() / "pg_basebackup"), "-h", str(primary.socket_dir),
            "-p", str(primary.port), "-U", "riskmap", "-D", str(standby.data_dir),
            "-R", "-X", "stream", "-c", "fast", *(["--no-sync"] if standby.unsafe_fast else [])])
        if result.returncode != 0:
            shutil.rmtree(standby.data_dir, ignore_errors=True)
            raise ClusterError(f"pg_basebackup failed:\n{result.stderr.strip()}")
    return up(standby)


def wait_streaming(url: str, seconds: float = 60) -> None:
    """Wait until the standby at ``url`` receives WAL from its primary."""
    engine = store.make_engine(url)
    deadline = time.monotonic() + seconds
    try:
        while True:
            with engine.connect() as conn:
                status = conn.execute(text(
                    "SELECT status FROM pg_stat_wal_receiver")).scalar()
            if status == "streaming":
                return
            if time.monotonic() > deadline:
                raise ClusterError(f"the standby does not stream (WAL receiver: {status})")
            time.sleep(0.2)
    finally:
        engine.dispose()
