import os

# Alembic's env.py runs migrations when imported, so doctest collection must skip it.
collect_ignore_glob = ["geo/migrations/*", "bench/*", "build/*", ".venv/*"]
# a JSON line per request would bury a failing test's output; tests/test_ops.py logs its own
os.environ.setdefault("RISKMAP_ACCESS_LOG", "")


def pytest_sessionfinish(session, exitstatus):
    """A run that skips a test or executes none is a failure: CI must prove the store works."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    # with workers (pytest -n), the controller sees every worker's results and judges the run
    if reporter is None or hasattr(session.config, "workerinput"):
        return
    skipped = reporter.stats.get("skipped", [])
    ran = sum(len(reporter.stats.get(k, [])) for k in ("passed", "failed", "error"))
    if skipped:
        reporter.write_line(
            f"FAILED: {len(skipped)} test(s) skipped; every test must run against the real "
            "PostgreSQL + PostGIS store.", red=True)
        session.exitstatus = 1
    elif ran == 0 and exitstatus == 0:
        reporter.write_line("FAILED: no test was executed.", red=True)
        session.exitstatus = 1
