"""The private cluster: created, started and stopped by the project, never as root."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from geo import cluster, store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def scratch_cluster():
    # Where the project's own cluster goes: inside the checkout, or, where the server user
    # cannot enter the checkout (root's clone under /root), the folder it falls back to.
    wanted = ROOT / ".riskmap" / f"scratch-{uuid.uuid4().hex[:8]}"
    made = cluster.Cluster(root=cluster.reachable_root(wanted, "postgres"), unsafe_fast=True)
    yield made
    cluster.destroy(made)
    shutil.rmtree(made.root, ignore_errors=True)


def test_up_status_down(scratch_cluster):
    url = cluster.up(scratch_cluster)
    assert cluster.is_running(scratch_cluster)
    engine = store.make_engine(url)
    with engine.connect() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        assert conn.execute(text("SELECT postgis_lib_version()")).scalar_one().startswith("3.")
        # no TCP: the cluster cannot collide with a system PostgreSQL on 5432
        assert conn.execute(text("SHOW listen_addresses")).scalar_one() == ""
    engine.dispose()
    owner = pwd.getpwuid(os.stat(scratch_cluster.data_dir).st_uid).pw_name
    assert owner == (scratch_cluster.os_user if os.geteuid() == 0 else pwd.getpwuid(
        os.geteuid()).pw_name)
    assert cluster.up(scratch_cluster) == url  # a second `up` is harmless
    assert cluster.down(scratch_cluster) is True
    assert not cluster.is_running(scratch_cluster)
    assert cluster.down(scratch_cluster) is False


def test_a_long_checkout_path_moves_the_socket_to_tmp():
    deep = cluster.Cluster(root=Path("/srv/" + "x" * 120))
    assert str(deep.socket_dir).startswith("/tmp/riskmap-")


def test_a_checkout_the_server_user_cannot_reach_gets_a_cluster_of_its_own(tmp_path):
    closed = tmp_path / "home"
    closed.mkdir(mode=0o700)
    wanted = closed / "project" / ".riskmap"
    chosen = cluster.reachable_root(wanted, "postgres")
    if os.geteuid() != 0:  # we run the server ourselves: our own folders are ours
        assert chosen == wanted
        return
    # root runs the server as postgres, who cannot enter a 700 folder: the cluster moves out,
    # and it really runs there
    assert str(chosen).startswith("/var/lib/riskmap/")
    moved = cluster.Cluster(root=chosen, unsafe_fast=True)
    try:
        engine = store.make_engine(cluster.up(moved))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar_one() == cluster.SUPERUSER
        engine.dispose()
        assert pwd.getpwuid(os.stat(moved.data_dir).st_uid).pw_name == "postgres"
    finally:
        cluster.destroy(moved)
    # a folder the server user can enter is used as it is
    opened = Path(tempfile.mkdtemp(prefix="riskmap-open-"))
    try:
        opened.chmod(0o755)
        assert cluster.reachable_root(opened / ".riskmap", "postgres") == opened / ".riskmap"
    finally:
        shutil.rmtree(opened)
