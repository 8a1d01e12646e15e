"""Prometheus metrics (prometheus_client): requests and their latency per endpoint, import and
report jobs, and the database connection pools.

Under gunicorn every worker writes its figures to PROMETHEUS_MULTIPROC_DIR (made by
webmap/gunicorn_conf.py before any worker starts) and /metrics adds up all workers; with one
process (`riskmap serve`, tests) the figures live in the process. Import jobs run in job
workers, perhaps on other hosts: their states are read from the job queue in Redis when
/metrics is asked.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.engine import Engine

REQUESTS = Counter("riskmap_http_requests", "HTTP requests answered, by endpoint, method and "
                   "status.", ["endpoint", "method", "status"])
LATENCY = Histogram("riskmap_http_request_duration_seconds", "Time to answer a request, by "
                    "endpoint and method.", ["endpoint", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
JOB_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
IMPORTS = Counter("riskmap_import_jobs_submitted", "Import files queued, by kind.", ["kind"])
REPORTS = Counter("riskmap_report_jobs", "Reports made in the background, by outcome (done, "
                  "failed).", ["outcome"])
REPORT_SECONDS = Histogram("riskmap_report_job_duration_seconds", "Time a report took to "
                           "make.", buckets=JOB_BUCKETS)
REPORTS_RUNNING = Gauge("riskmap_report_jobs_running", "Reports being made now.",
                        multiprocess_mode="livesum")
POOL = Gauge("riskmap_db_pool_connections", "Database connections of the pools, by engine "
             "(web: requests; owner: imports, migrations) and state (checked_out, idle).",
             ["engine", "state"], multiprocess_mode="livesum")
POOL_SIZE = Gauge("riskmap_db_pool_size", "Connections each pool keeps open at most before "
                  "overflowing, by engine (summed over workers).", ["engine"],
                  multiprocess_mode="livesum")
READS = Counter("riskmap_read_transactions", "Reading transactions of requests, by the server "
                "that answered them (replica, primary).", ["server"])
REPLICA_LAG = Gauge("riskmap_replica_lag_seconds", "How far behind the primary each read "
                    "replica was at its last check (-1: it did not answer).", ["replica"],
                    multiprocess_mode="max")
REPLICA_IN_POOL = Gauge("riskmap_replica_in_read_pool", "1 while a replica answers reads, 0 "
                        "while it is out (too far behind, or not answering).", ["replica"],
                        multiprocess_mode="min")
# engines whose pools /metrics reads (weakly: tests make many apps and engines)
_WATCHED: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    endpoint = endpoint or "unmatched"  # 404s: one label, however many paths are tried
    REQUESTS.labels(endpoint, method, str(status)).inc()
    LATENCY.labels(endpoint, method).observe(seconds)


@contextmanager
def report_job() -> Iterator[dict]:
    """Count and time one report; the caller sets ``outcome`` ("done") when it is made."""
    started, result = time.perf_counter(), {"outcome": "failed"}
    REPORTS_RUNNING.inc()
    try:
        yield result
    finally:
        REPORTS_RUNNING.dec()
        REPORTS.labels(result["outcome"]).inc()
        REPORT_SECONDS.observe(time.perf_counter() - started)


def watch_pool(engine: Engine, name: str) -> None:
    """Keep the pool gauges of ``engine`` current as connections come and go."""
    _WATCHED[engine] = name
    engine_ref = weakref.ref(engine)

    def update(*_) -> None:
        watched = engine_ref()
        if watched is not None:
            _pool_figures(name, watched)

    for name_of_event in ("connect", "checkout", "checkin", "close"):
        event.listen(engine.pool, name_of_event, update)


def _pool_figures(name: str, engine: Engine) -> None:
    pool = engine.pool
    if not hasattr(pool, "checkedout"):
        return  # a pool without a queue (NullPool, StaticPool) keeps nothing to count
    POOL.labels(name, "checked_out").set(pool.checkedout())
    POOL.labels(name, "idle").set(pool.checkedin())
    POOL_SIZE.labels(name).set(pool.size())


class ImportQueue:
    """Import jobs by state (queued, running, finished, failed; finished and failed ones for
    IMPORT_KEEP_MINUTES), as the job queue in Redis holds them for every worker and host."""

    def __init__(self, queue):
        self.queue = queue

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("riskmap_import_jobs", "Import jobs in the queue by state.",
                                   labels=["state"])
        q = self.queue
        for state, count in (("queued", q.count), ("running", q.started_job_registry.count),
                             ("finished", q.finished_job_registry.count),
                             ("failed", q.failed_job_registry.count)):
            family.add_metric([state], count)
        yield family


def exposition(import_queue=None) -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type."""
    for engine, name in list(_WATCHED.items()):
        _pool_figures(name, engine)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    text = generate_latest(registry)
    if import_queue is not None:
        jobs = CollectorRegistry()
        jobs.register(ImportQueue(import_queue))
        try:
            text += generate_latest(jobs)
        except RedisError:
            pass  # Redis away: the other figures still tell the story
    return text, CONTENT_TYPE_LATEST
