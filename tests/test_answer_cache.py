"""Answers kept by data version (webmap/caching.py): the second reader of the same data,
tenant and URL gets the first one's answer from the shared store; a write moves the version,
so every figure it affects moves at once; another tenant never gets someone else's answer."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from loaders import demo, demo_load, districts
from webmap import keystore

LAYER = "/api/layers/grade_mix/districts"


@pytest.fixture(scope="module")
def small_store(make_database):
    """A store of its own (these tests write): Kunming with a small demo."""
    engine = make_database()
    with engine.begin() as conn:
        districts.load_districts(conn, districts.district_records(city="530100"))
        demo_load.run_demo(conn, demo.DemoOptions(city="530100", projects=60))
    return engine


def _answers(app) -> list[bytes]:
    with app.app_context():
        store = keystore.client(app)
        return sorted(store.scan_iter(match=keystore.key("answer:*", app)))


def _values(response) -> dict[str, float | None]:
    return {f["properties"]["code"]: f["properties"]["value"]
            for f in response.get_json()["features"]}


def test_the_second_reader_gets_the_first_readers_answer(small_store, client_for):
    first, second = client_for(small_store), client_for(small_store)
    answer = first.get(LAYER)
    assert answer.status_code == 200
    kept = _answers(first.application)
    assert len(kept) == 1
    # the store's copy is what the next regulator is sent (shown by changing that copy)
    with first.application.app_context():
        store = keystore.client(first.application)
        store.hset(kept[0], "body", answer.data.replace(b'"FeatureCollection"', b'"Kept"'))
    second_answer = second.get(LAYER)
    assert second_answer.get_json()["type"] == "Kept"
    assert second_answer.headers["ETag"] == answer.headers["ETag"]


def test_a_write_moves_every_figure_it_affects_at_once(small_store, client_for):
    client = client_for(small_store)
    before = _values(client.get(LAYER))
    statistics = client.get("/api/statistics").headers["ETag"]
    with small_store.begin() as conn:
        project, code = conn.execute(text("""
            SELECT p.id, p.district_code FROM project p
            JOIN policy po ON po.project_id = p.id
            JOIN LATERAL (SELECT grade FROM project_grade g WHERE g.project_id = p.id
                          ORDER BY g.id DESC LIMIT 1) g ON g.grade IN ('A', 'B')
            ORDER BY p.id LIMIT 1""")).one()
        conn.execute(text("INSERT INTO project_grade (project_id, grade, score, inputs) "
                          "VALUES (:p, 'D', 0, '{}')"), {"p": project})
    after = _values(client.get(LAYER))
    assert after[code.strip()] > (before[code.strip()] or 0)
    assert {k: v for k, v in after.items() if k != code.strip()} == {
        k: v for k, v in before.items() if k != code.strip()}
    # the statistics are answered anew too (same URL, new version)
    assert client.get("/api/statistics").headers["ETag"] != statistics


def test_another_tenant_never_gets_the_regulators_answer(small_store, client_for):
    with small_store.connect() as conn:
        insurer = conn.execute(text("SELECT insurer_id FROM policy_share GROUP BY 1 "
                                    "ORDER BY count(*) LIMIT 1")).scalar_one()
    regulator = client_for(small_store)
    insurer_client = client_for(small_store, "insurer", insurer)
    city = regulator.get("/api/heat/risk_events").get_json()
    own = insurer_client.get("/api/heat/risk_events").get_json()
    assert sum(c[3] for c in own) < sum(c[3] for c in city)


def test_no_cache_when_switched_off(small_store, client_for, monkeypatch):
    monkeypatch.setenv("RISKMAP_RESPONSE_CACHE_SECONDS", "0")
    client = client_for(small_store)
    assert client.get(LAYER).status_code == 200
    assert _answers(client.application) == []


def _counting(monkeypatch, module, name: str) -> list[int]:
    """Count the calls of module.name (still calling it)."""
    calls, real = [], getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_the_statistics_are_computed_once_per_data_version_page_or_api(
        small_store, client_for, monkeypatch):
    """Two regulators open the statistics page and a third asks the JSON: the figures are
    computed once; a write moves the version and they are computed again; an insurer's are
    its own, never the regulator's."""
    from webmap.work import statistics as statistics_views

    computed = _counting(monkeypatch, statistics_views, "sections_of")
    first, second = client_for(small_store), client_for(small_store)
    page = first.get("/statistics?period=2024")
    assert page.status_code == 200 and "承保统计" in page.get_data(as_text=True)
    assert "承保统计" in second.get("/statistics?period=2024").get_data(as_text=True)
    assert second.get("/api/statistics?period=2024").status_code == 200
    assert len(computed) == 1
    with small_store.begin() as conn:
        conn.execute(text("UPDATE policy SET premium_yuan = premium_yuan + 1 "
                          "WHERE id = (SELECT min(id) FROM policy)"))
    assert first.get("/statistics?period=2024").status_code == 200
    assert len(computed) == 2
    with small_store.connect() as conn:
        insurer = conn.execute(text("SELECT min(insurer_id) FROM policy_share")).scalar_one()
    own = client_for(small_store, "insurer", insurer).get("/api/statistics?period=2024")
    assert len(computed) == 3
    city = second.get("/api/statistics?period=2024").get_json()
    assert own.get_json()["sections"] != city["sections"]


def test_the_portfolio_page_and_its_json_share_one_computation(
        small_store, client_for, monkeypatch):
    from layers import portfolio

    computed = _counting(monkeypatch, portfolio, "portfolio")
    first, second = client_for(small_store), client_for(small_store)
    assert first.get("/portfolio?radius=300").status_code == 200
    shown = second.get("/api/portfolio?radius=300").get_json()
    assert len(computed) == 1
    assert shown["choice"]["radius_m"] == 300 and shown["listed"]["projects"] > 0
    # the exports hold every cell and project: computed whole, not from the trimmed copy
    assert second.get("/portfolio/export.csv?radius=300").status_code == 200
    assert len(computed) == 2


def test_after_riskmap_warm_the_first_regulator_computes_nothing(
        small_store, client_for, monkeypatch):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from layers import portfolio
    from webmap.cli import main
    from webmap.work import statistics as statistics_views

    with small_store.begin() as conn:  # data no one has read yet
        conn.execute(text("UPDATE policy SET premium_yuan = premium_yuan + 1 "
                          "WHERE id = (SELECT max(id) FROM policy)"))
    regulator = client_for(small_store)
    app = regulator.application
    warmed = CliRunner().invoke(main, ["warm", "--role", "regulator"],
                                obj=ScriptInfo(create_app=lambda: app))
    assert warmed.exit_code == 0, warmed.output
    assert [line.split()[:2] for line in warmed.output.splitlines()] == [
        ["statistics", "regulator"], ["portfolio", "regulator"]]
    statistics = _counting(monkeypatch, statistics_views, "sections_of")
    market = _counting(monkeypatch, portfolio, "portfolio")
    assert regulator.get("/statistics").status_code == 200
    assert regulator.get("/portfolio").status_code == 200
    assert regulator.get("/api/statistics").status_code == 200
    assert statistics == [] and market == []


def test_a_job_worker_keeps_the_regulators_first_look_warm(small_store, client_for, monkeypatch):
    """A write makes the statistics and portfolio cold; the worker's keep-warm round computes
    them before the first regulator asks, and queues the next round in WARM_EVERY_SECONDS."""
    import time

    from rq import SimpleWorker
    from rq.registry import ScheduledJobRegistry

    from layers import portfolio
    from webmap import importjobs, keystore, warming
    from webmap.work import statistics as statistics_views

    with small_store.begin() as conn:  # data no one has read yet
        conn.execute(text("UPDATE policy SET premium_yuan = premium_yuan + 2 "
                          "WHERE id = (SELECT min(id) FROM policy)"))
    regulator = client_for(small_store)
    app = regulator.application
    assert app.config["WARM_EVERY_SECONDS"] == 60
    keystore.client(app).delete(keystore.key("warm:next", app))
    assert warming.schedule(app, now=True)
    assert not warming.schedule(app, now=True)  # workers started together make one chain
    importjobs.use_app(app)
    SimpleWorker([warming.queue(app)], connection=keystore.client(app)).work(
        burst=True, logging_level="WARNING")
    statistics = _counting(monkeypatch, statistics_views, "sections_of")
    market = _counting(monkeypatch, portfolio, "portfolio")
    assert regulator.get("/statistics").status_code == 200
    assert regulator.get("/portfolio").status_code == 200
    assert statistics == [] and market == []
    scheduled = ScheduledJobRegistry(queue=warming.queue(app))
    (next_round,) = scheduled.get_job_ids()
    due = scheduled.get_scheduled_time(next_round).timestamp()
    assert 50 < due - time.time() <= 60
    scheduled.remove(next_round, delete_job=True)


def _asked_together(clients, path: str) -> list:
    import threading

    answers = [None] * len(clients)

    def ask(i: int) -> None:
        try:
            answers[i] = clients[i].get(path)
        except Exception as failed:  # noqa: BLE001 -- a test client re-raises the server's
            answers[i] = failed

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def _cold_statistics(store, monkeypatch, bump: int, seconds: float, failing: int = 0) -> list:
    """Make the statistics cold (a write no one has read) and their computation take
    ``seconds``, the first ``failing`` of them failing at the end: the computations started."""
    import time

    from webmap.work import statistics as statistics_views

    with store.begin() as conn:
        conn.execute(text("UPDATE policy SET premium_yuan = premium_yuan + :b "
                          "WHERE id = (SELECT min(id) FROM policy)"), {"b": bump})
    calls, real = [], statistics_views.sections_of

    def slow(*args, **kwargs):
        calls.append(1)
        time.sleep(seconds)
        if len(calls) <= failing:
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(statistics_views, "sections_of", slow)
    return calls


def test_regulators_opening_cold_statistics_together_wait_for_one_computation(
        small_store, client_for, monkeypatch):
    """Four regulators open the statistics at the same moment after a write: the figures
    are computed once (the others wait for that computation instead of each re-reading the
    programme) and all four get the same figures."""
    # long enough for every reader to arrive while it runs
    calls = _cold_statistics(small_store, monkeypatch, 3, 0.6)
    answers = _asked_together([client_for(small_store) for _ in range(4)], "/api/statistics")
    assert [a.status_code for a in answers] == [200] * 4
    assert len(calls) == 1
    assert all(a.get_json() == answers[0].get_json() for a in answers)


def test_a_failed_computation_does_not_keep_the_others_waiting(
        small_store, client_for, monkeypatch):
    """The reader computing the statistics fails: the one waiting for it computes them
    itself at once, rather than waiting out the request's time."""
    import time

    calls = _cold_statistics(small_store, monkeypatch, 4, 0.6, failing=1)
    started = time.monotonic()
    answers = _asked_together([client_for(small_store) for _ in range(2)], "/api/statistics")
    failed = [a for a in answers if isinstance(a, RuntimeError)]
    assert len(failed) == 1 and [a.status_code for a in answers if a not in failed] == [200]
    assert len(calls) == 2 and time.monotonic() - started < 30


def test_a_computation_longer_than_its_lock_keeps_it(small_store, client_for, monkeypatch):
    """The portfolio's widest circles take minutes at a city's scale: the reader computing
    keeps renewing its lock, so the one waiting never starts a second computation."""
    from webmap import caching

    monkeypatch.setattr(caching, "LOCK_SECONDS", 0.3)  # renewed every 0.1 s
    calls = _cold_statistics(small_store, monkeypatch, 5, 1.2)  # four lock lifetimes
    answers = _asked_together([client_for(small_store) for _ in range(2)], "/api/statistics")
    assert [a.status_code for a in answers] == [200, 200]
    assert len(calls) == 1


def test_trying_another_cell_size_does_not_recompute_the_circles(
        small_store, client_for, monkeypatch):
    """The worst circles do not change with the grid's cell size: a regulator trying cell
    sizes waits for the cells again, not for the circles (the slowest part at a city's
    scale), and sees the same circles."""
    from layers import exposure, portfolio

    market = _counting(monkeypatch, portfolio, "portfolio")
    circles = _counting(monkeypatch, exposure, "circles")
    regulator = client_for(small_store)
    coarse = regulator.get("/api/portfolio?radius=250&cell=2000").get_json()
    fine = regulator.get("/api/portfolio?radius=250&cell=500").get_json()
    assert len(market) == 2 and len(circles) == 1
    assert fine["circles"] == coarse["circles"] and fine["circles"]
    assert fine["choice"]["cell_m"] == 500 and fine["cells"] != coarse["cells"]
    # the export holds every cell and project, and the same circles
    assert regulator.get("/portfolio/export.csv?radius=250&cell=1000").status_code == 200
    assert len(circles) == 1
    regulator.get("/api/portfolio?radius=300&cell=500")
    assert len(circles) == 2  # another radius: other circles
