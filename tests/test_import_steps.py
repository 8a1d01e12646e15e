"""Imports go through the lifecycles: a file may bring a record on, never back, and every
status it sets is recorded as a step."""

from __future__ import annotations

import pytest
from importing import demo_store, run_import, write_csv
from sqlalchemy import text

from geo import programme
from loaders.imports.risk_events import COLUMNS

HEADERS = {c.name: c.template_header for c in COLUMNS}


@pytest.fixture(scope="module")
def store(make_database):
    return demo_store(make_database, projects=30)


def event_row(conn, status: str) -> dict:
    """A row for an existing risk event of that status, as the TIS's system would send it."""
    e = conn.execute(text("""SELECT e.event_no, p.permit_no, e.category, e.severity, e.found_on,
        e.due_on FROM risk_event e JOIN project p ON p.id = e.project_id
        WHERE e.status = :s ORDER BY e.id LIMIT 1"""), {"s": status}).one()
    return {HEADERS["event_no"]: e.event_no, HEADERS["permit_no"]: e.permit_no,
            HEADERS["category"]: programme.RISK_CATEGORIES[e.category],
            HEADERS["severity"]: programme.RISK_SEVERITIES[e.severity],
            HEADERS["found_on"]: e.found_on.isoformat(),
            HEADERS["due_on"]: e.due_on.isoformat() if e.due_on else ""}


def steps_of(conn, event_no: str) -> list[tuple]:
    return conn.execute(text("""SELECT s.step, s.from_state, s.to_state FROM lifecycle_step s
        JOIN risk_event e ON e.id = s.entity_id AND s.lifecycle = 'risk_event'
        WHERE e.event_no = :n ORDER BY s.id"""), {"n": event_no}).all()


def test_a_closed_risk_event_cannot_be_imported_back_to_open(store, tmp_path):
    with store.connect() as conn:
        row = event_row(conn, "closed")
    row[HEADERS["status"]] = programme.RISK_EVENT_STATUSES["open"]
    path = write_csv(tmp_path / "events.csv", list(HEADERS.values()), [row])
    result = run_import(store, "risk-events", path)
    assert not result.written
    (problem,) = result.errors
    assert problem.row == 2 and "不能退回到“待整改”" in problem.reason
    with store.connect() as conn:
        assert conn.execute(text("SELECT status FROM risk_event WHERE event_no = :n"),
                            {"n": row[HEADERS["event_no"]]}).scalar() == "closed"
        assert steps_of(conn, row[HEADERS["event_no"]]) == []


def test_an_import_that_closes_a_risk_event_records_the_step(store, tmp_path):
    with store.connect() as conn:
        row = event_row(conn, "rectifying")
    row[HEADERS["status"]] = programme.RISK_EVENT_STATUSES["closed"]
    row[HEADERS["closed_on"]] = row[HEADERS["found_on"]]
    path = write_csv(tmp_path / "events.csv", list(HEADERS.values()), [row])
    result = run_import(store, "risk-events", path)
    assert result.written and result.updated == 1, result.errors
    with store.connect() as conn:
        assert steps_of(conn, row[HEADERS["event_no"]]) == [("import", "rectifying", "closed")]
