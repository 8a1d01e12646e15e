"""The private cluster: created, started and stopped by the project, never as root."""

from __future__ import annotations

import os
import pwd
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from geo import cluster, store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def scratch_cluster():
    # Inside the project, not pytest's tmp_path: the server user must be able to reach it.
    made = cluster.Cluster(root=ROOT / ".riskmap" / f"scratch-{uuid.uuid4().hex[:8]}",
                           unsafe_fast=True)
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


def test_a_checkout_the_server_user_cannot_reach_gets_a_cluster_folder_of_its_own(tmp_path):
    closed = tmp_path / "home"
    closed.mkdir(mode=0o700)
    wanted = closed / "project" / ".riskmap"
    chosen = cluster.reachable_root(wanted, "postgres")
    if os.geteuid() == 0:  # root runs the server as postgres, who cannot enter a 700 folder
        assert str(chosen).startswith("/var/lib/riskmap/")
        assert cluster.reachable_root(ROOT / ".riskmap", "postgres") == ROOT / ".riskmap"
    else:
        assert chosen == wanted
