"""Read replicas: a primary and a streaming standby (pg_basebackup from the private cluster's
binaries). Maps and statistics are read from the standby, an owner reads the claim just filed
from the primary, a standby too far behind or stopped leaves the pool without an error.

The proof that an answer came from the standby: its replay is paused, then the primary
renames a district; only the standby still knows the old name.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from pathlib import Path

import pytest
from browsing import chromium_page, serving
from browsing import sign_in as browse_sign_in
from importing import demo_store
from sqlalchemy import text

from conftest import account, sign_in
from geo import cluster, standby, store
from webmap import create_app, settings
from webmap.db import private_cluster

ROOT = Path(__file__).resolve().parents[1]
WUHUA = "530102"
RENAMED = "副本验证区"


@pytest.fixture(scope="module")
def primary(make_database):
    """A store of its own (its district is renamed here) with the demo's 40 projects."""
    return demo_store(make_database, projects=40)


@pytest.fixture(scope="module")
def replica(primary):
    """A streaming standby of the private cluster the tests use: (cluster, superuser URL of
    the store's copy, the web role's URL of it)."""
    config = {**settings.defaults(), **settings.from_environment()}
    source = private_cluster(config)
    root = cluster.reachable_root(ROOT / ".riskmap" / f"standby-{uuid.uuid4().hex[:8]}",
                                  source.os_user)
    made = cluster.Cluster(root=root, port=source.port + 1, os_user=source.os_user,
                           unsafe_fast=True)
    try:
        url = store.engine_url(standby.make_standby(source, made)).set(
            database=primary.url.database)
        standby.wait_streaming(url.render_as_string(hide_password=False))
        web = url.set(username="riskmap_web").render_as_string(hide_password=False)
        yield made, url.render_as_string(hide_password=False), web
    finally:
        cluster.destroy(made)


def _app(primary, web_url: str, **config):
    return create_app({"TESTING": True, "REPLICA_URLS": web_url, "REPLICA_CHECK_SECONDS": 0,
                       "DATABASE_URL": primary.url.render_as_string(hide_password=False),
                       "CLAIM_RATE_LIMIT": "1000 per hour", **config})


def _superuser(url: str, sql: str, **params):
    engine = store.make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            result = conn.execute(text(sql), params)
            return result.all() if result.returns_rows else []
    finally:
        engine.dispose()


def _wait(predicate, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "not within time"
        time.sleep(0.2)


def _rename_while_replay_paused(primary, replica_url: str, name: str) -> None:
    """Pause the standby's replay, then rename Wuhua on the primary; wait until the standby
    has received (not applied) the change. What came before (the account just signed in)
    is replayed first, as a standby in service would have it."""
    _caught_up(primary, replica_url)
    _superuser(replica_url, "SELECT pg_wal_replay_pause()")
    with primary.begin() as conn:
        conn.execute(text("UPDATE district SET name = :n WHERE code = :c"),
                     {"n": name, "c": WUHUA})
        lsn = conn.execute(text("SELECT pg_current_wal_insert_lsn()::text")).scalar_one()
    _wait(lambda: _superuser(replica_url, "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), "
                             "CAST(:lsn AS pg_lsn)) >= 0", lsn=lsn)[0][0])


def _resume(primary, replica_url: str) -> None:
    _superuser(replica_url, "SELECT pg_wal_replay_resume()")
    _caught_up(primary, replica_url)


def _caught_up(primary, replica_url: str) -> None:
    with primary.connect() as conn:
        lsn = conn.execute(text("SELECT pg_current_wal_insert_lsn()::text")).scalar_one()
    _wait(lambda: _superuser(replica_url, "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), "
                             "CAST(:lsn AS pg_lsn)) >= 0", lsn=lsn)[0][0])


def _district_names(client) -> tuple[set[str], set[str], dict]:
    """Wuhua's name as the map's district layer and the statistics API give it."""
    layer = client.get("/api/layers/premium_total/districts")
    assert layer.status_code == 200, layer.get_data(as_text=True)
    on_map = {f["properties"]["name"] for f in layer.get_json()["features"]
              if f["properties"]["code"] == WUHUA}
    stats = client.get("/api/statistics")
    assert stats.status_code == 200
    in_stats = set(re.findall(r"五华区|" + RENAMED, stats.get_data(as_text=True)))
    return on_map, in_stats, dict(layer.headers)


def test_maps_and_statistics_are_read_from_the_standby(primary, replica):
    _, replica_url, web_url = replica
    client = sign_in(_app(primary, web_url, REPLICA_MAX_LAG_SECONDS=3600).test_client(),
                     primary, "regulator")
    try:
        _rename_while_replay_paused(primary, replica_url, RENAMED)
        on_map, in_stats, headers = _district_names(client)
        # the primary says otherwise: only the paused standby can have answered
        assert on_map == {"五华区"} and in_stats == {"五华区"}
        assert headers["X-Read-From"] == "replica" and "X-Data-As-Of" in headers
        page = client.get("/statistics").get_data(as_text=True)
        assert 'id="data-as-of"' in page and "只读副本" in page and "北京时间" in page
        # the OGC API reads there too
        ogc = client.get("/collections/districts/items?limit=20",
                         headers={"Accept": "application/geo+json"})
        assert ogc.status_code == 200 and ogc.headers["X-Read-From"] == "replica"
        assert RENAMED not in ogc.get_data(as_text=True)
        assert "五华区" in ogc.get_data(as_text=True)
        # the connection the standby served is the web role's: row security as on the primary
        seen = _superuser(replica_url, "SELECT DISTINCT usename FROM pg_stat_activity "
                          "WHERE application_name LIKE 'riskmap-replica-%'")
        assert seen == [("riskmap_web",)]
        _resume(primary, replica_url)
        assert _district_names(client)[:2] == ({RENAMED}, {RENAMED})
    finally:
        _resume(primary, replica_url)
        with primary.begin() as conn:
            conn.execute(text("UPDATE district SET name = '五华区' WHERE code = :c"),
                         {"c": WUHUA})


def _covered_ref(primary) -> str:
    with primary.connect() as conn:
        return conn.execute(text("""
            SELECT p.public_ref FROM project p JOIN policy po ON po.project_id = p.id
            JOIN coverage_section cs ON cs.policy_id = po.id AND cs.section = 'structure'
            CROSS JOIN data_version v
            WHERE po.status IN ('submitted', 'confirmed')
              AND v.as_of BETWEEN cs.starts_on AND cs.ends_on
              AND NOT EXISTS (SELECT 1 FROM coverage_section d WHERE d.policy_id = po.id
                              AND d.section = 'decoration')
            ORDER BY p.id LIMIT 1""")).scalar_one()


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


def test_a_claim_filed_is_visible_to_its_owner_at_once(primary, replica):
    _, replica_url, web_url = replica
    owner = _app(primary, web_url, REPLICA_MAX_LAG_SECONDS=3600).test_client()
    ref = _covered_ref(primary)
    _superuser(replica_url, "SELECT pg_wal_replay_pause()")
    try:
        form = owner.get(f"/claims/new/{ref}")
        assert form.headers.get("X-Read-From") == "replica"
        filed = owner.post(f"/claims/new/{ref}", data={
            "csrf_token": _csrf(form.get_data(as_text=True)), "unit_no": "3栋2单元1101",
            "section": "structure", "cause": "客厅承重墙出现斜向裂缝",
            "reporter_name": "张先生", "reporter_phone": "13800000000", "is_emergency": "on"})
        page = filed.get_data(as_text=True)
        assert filed.status_code == 200, page
        number = re.search(r'id="claim-no">([^<]+)<', page)[1]
        secret = re.search(r'id="claim-secret">([^<]+)<', page)[1]
        # the standby has not replayed it: whoever reads there does not see it yet
        assert _superuser(replica_url, "SELECT count(*) FROM claim WHERE claim_no = :n",
                          n=number) == [(0,)]
        # the owner does, at once: after a write the client reads from the primary
        follow = owner.get("/claims/follow")
        assert "X-Read-From" not in follow.headers
        found = owner.post("/claims/follow", data={
            "csrf_token": _csrf(follow.get_data(as_text=True)), "claim_no": number,
            "secret": secret})
        assert found.status_code == 200 and number in found.get_data(as_text=True)
        # another visitor, who wrote nothing, is still served by the standby
        assert _app(primary, web_url).test_client().get(
            f"/claims/new/{ref}").headers.get("X-Read-From") == "replica"
    finally:
        _resume(primary, replica_url)


def test_a_standby_too_far_behind_leaves_the_read_pool(primary, replica):
    _, replica_url, web_url = replica
    client = sign_in(_app(primary, web_url, REPLICA_MAX_LAG_SECONDS=1).test_client(),
                     primary, "regulator")
    try:
        _rename_while_replay_paused(primary, replica_url, RENAMED)
        time.sleep(1.5)
        on_map, in_stats, headers = _district_names(client)
        assert on_map == {RENAMED} and in_stats == {RENAMED}  # the primary's answer
        assert "X-Read-From" not in headers
        assert 'id="data-as-of"' not in client.get("/statistics").get_data(as_text=True)
        _resume(primary, replica_url)
        # back in the pool once it has replayed what the primary holds; the suite's other
        # worker writing to the same server meanwhile may keep it a moment longer
        _wait(lambda: _district_names(client)[2].get("X-Read-From") == "replica")
    finally:
        _resume(primary, replica_url)
        with primary.begin() as conn:
            conn.execute(text("UPDATE district SET name = '五华区' WHERE code = :c"),
                         {"c": WUHUA})


def _follow(replica_url: str, conninfo: str) -> None:
    """Point the standby at its primary (``conninfo``), or at none ('')."""
    statement = _superuser(replica_url, "SELECT format('ALTER SYSTEM SET primary_conninfo = "
                           "%L', CAST(:c AS text))", c=conninfo)[0][0]
    _superuser(replica_url, statement)
    _superuser(replica_url, "SELECT pg_reload_conf()")


def test_a_standby_cut_off_from_its_primary_leaves_the_pool_once_the_primary_moves_on(
        primary, replica):
    """Cut off, the standby has replayed all it received and cannot tell it is behind; the
    primary's WAL position tells."""
    _, replica_url, web_url = replica
    client = sign_in(_app(primary, web_url, REPLICA_MAX_LAG_SECONDS=1).test_client(),
                     primary, "regulator")
    conninfo = _superuser(replica_url, "SHOW primary_conninfo")[0][0]
    assert conninfo
    try:
        _follow(replica_url, "")
        _wait(lambda: _superuser(replica_url, "SELECT count(*) FROM pg_stat_wal_receiver")
              == [(0,)])
        with primary.begin() as conn:
            conn.execute(text("UPDATE district SET name = :n WHERE code = :c"),
                         {"n": RENAMED, "c": WUHUA})
        time.sleep(1.5)
        on_map, in_stats, headers = _district_names(client)
        assert on_map == {RENAMED} and in_stats == {RENAMED} and "X-Read-From" not in headers
    finally:
        _follow(replica_url, conninfo)
        _resume(primary, replica_url)
        with primary.begin() as conn:
            conn.execute(text("UPDATE district SET name = '五华区' WHERE code = :c"),
                         {"c": WUHUA})
    _resume(primary, replica_url)  # following again, it catches up and rejoins the pool
    assert _district_names(client)[2].get("X-Read-From") == "replica"


def test_with_the_standby_stopped_reads_fall_back_to_the_primary(primary, replica):
    made, replica_url, web_url = replica
    client = sign_in(_app(primary, web_url).test_client(), primary, "regulator")
    assert _district_names(client)[2].get("X-Read-From") == "replica"
    [shown] = client.get("/readyz").get_json()["replicas"]
    assert shown["in_pool"] is True and shown["lag_seconds"] < 30 and "@" not in shown["host"]
    cluster.down(made)
    try:
        for _ in range(3):  # the first finds its pooled connections dead, the next skip it
            on_map, in_stats, headers = _district_names(client)
            assert on_map == {"五华区"} and "X-Read-From" not in headers
        assert client.get("/statistics").status_code == 200
        assert client.get(f"/districts/{WUHUA}").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.get_json()["status"] == "ready"
        assert ready.get_json()["replicas"][0]["in_pool"] is False
        metrics = client.get("/metrics").get_data(as_text=True)
        assert 'riskmap_replica_in_read_pool{replica="replica0"} 0.0' in metrics
        assert re.search(r'riskmap_read_transactions_total\{server="replica"\} [1-9]', metrics)
    finally:
        cluster.up(made)


def test_chromium_shows_when_a_replicas_page_data_is_from_in_beijing_time(primary, replica):
    _, _, web_url = replica
    with serving(primary, REPLICA_URLS=web_url, REPLICA_CHECK_SECONDS=0) as server, \
            chromium_page() as (page, problems):
        browse_sign_in(page, server, account(primary, "regulator"))
        page.goto(server + "/statistics")
        note = page.locator("#data-as-of")
        assert note.is_visible()
        shown = note.inner_text()
        assert "本页数据由只读副本提供" in shown and "北京时间" in shown
        stamp = re.search(r"截至 (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", shown)[1]
        as_of = dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
        beijing = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)
        assert abs((beijing - as_of).total_seconds()) < 120  # caught up: as of now, Beijing
        assert not problems, problems
