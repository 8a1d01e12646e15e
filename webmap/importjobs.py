"""Imports as background jobs on RQ workers, so that the web workers keep answering.

The upload is saved in UPLOAD_DIR (a folder the web service and every job worker share) and
queued in Redis; a job worker (`riskmap worker`, started by `riskmap serve`) runs it in a
process of its own (RQ forks one per job), reports its progress in the job's meta data and
keeps the import's report as the job's result for IMPORT_KEEP_MINUTES. The page and the API
poll the job. Only the account that uploaded a file may see its job.

A worker process makes its app once from its own settings (`worker_app`); each job runs
inside it, so a job carries no database address or secret, only what was uploaded.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app
from rq import Queue, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from geo.tenancy import Tenant
from webmap import keystore, metrics
from webmap.scope import current_city

STATES_ZH = {"queued": "排队中", "started": "导入中", "finished": "已完成", "failed": "失败",
             "deferred": "排队中", "scheduled": "排队中", "stopped": "已停止",
             "canceled": "已取消"}
_WORKER_APP: dict[str, Flask] = {}


@dataclass(frozen=True)
class Upload:
    """What a job needs to import one uploaded file."""

    kind: str
    stored: str          # the file's path in UPLOAD_DIR
    name: str            # the file's name as the sender gave it
    crs: str | None
    sheet: str | None
    encoding: str | None
    dry_run: bool
    tenant: Tenant
    note: dict


def queue(app: Flask | None = None) -> Queue:
    app = app or current_app
    return Queue(keystore.key("imports", app), connection=keystore.client(app),
                 default_timeout=int(app.config["IMPORT_TIMEOUT_MINUTES"]) * 60)


def submit(upload: Upload, owner: str) -> Job:
    """Queue the import of ``upload`` for ``owner`` (who alone may follow it), into the city
    the request shows."""
    config = current_app.config
    keep = int(config["IMPORT_KEEP_MINUTES"]) * 60
    metrics.IMPORTS.labels(upload.kind).inc()
    return queue().enqueue(
        "webmap.importjobs.run", upload, current_city(), result_ttl=keep, failure_ttl=keep,
        meta={"owner": owner, "step": "排队中", "rows": 0, "file": upload.name})


def find(job_id: str, owner: str) -> Job | None:
    """The job, if it exists and ``owner`` started it."""
    if not job_id.replace("-", "").isalnum() or len(job_id) > 64:
        return None
    try:
        job = Job.fetch(job_id, connection=keystore.client())
    except NoSuchJobError:
        return None
    return job if job.meta.get("owner") == owner else None


def state(job: Job) -> dict:
    """The job as the page and the API show it."""
    status = job.get_status(refresh=False) or JobStatus.QUEUED
    status = getattr(status, "value", status)
    failed = status in ("failed", "stopped", "canceled")
    error = ""
    if failed:
        error = job.meta.get("error") or "导入进程意外停止（可能超时或内存不足），未写入任何数据。"
    return {"id": job.id, "state": status, "state_zh": STATES_ZH.get(status, status),
            "step": job.meta.get("step", ""), "rows": job.meta.get("rows", 0),
            "file": job.meta.get("file", ""), "error": error,
            "peak_rss_mb": job.meta.get("peak_rss_mb")}


def _progress(job: Job, step: str, rows: int | None = None) -> None:
    job.meta["step"] = step
    if rows is not None:
        job.meta["rows"] = rows
    job.save_meta()


def _counting(job: Job):
    """The import's progress hook: wraps its rows and reports every 5,000 (or each second)."""
    def wrap(rows):
        last = time.monotonic()
        for count, row in enumerate(rows, 1):
            if count % 5000 == 0 or time.monotonic() - last > 1:
                _progress(job, "检查数据", count)
                last = time.monotonic()
            yield row
    return wrap


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # kB on Linux


def run(upload: Upload, city: str) -> dict:
    """The job: import the file inside the worker's app; return the import's report."""
    from loaders.imports import limits
    from loaders.imports.run import import_file  # the readers' GIS libraries load slowly
    from webmap.db import get_engine
    from webmap.work.uploads import report

    job = get_current_job()
    app = worker_app()
    path = Path(upload.stored)
    try:
        with app.app_context():
            _progress(job, "读取文件")
            with limits.using(limits.from_config(app.config)), get_engine().begin() as conn:
                result = import_file(
                    conn, upload.kind, path, city=city, actor=upload.tenant.username,
                    tenant=upload.tenant, file_name=upload.name, note=upload.note,
                    crs=upload.crs, sheet=upload.sheet, encoding=upload.encoding,
                    dry_run=upload.dry_run, progress=_counting(job))
            shown = report(result, upload.dry_run)
    finally:
        path.unlink(missing_ok=True)
        job.meta.update(step="已完成", peak_rss_mb=_peak_rss_mb())
        job.save_meta()
    return shown


def worker_app() -> Flask:
    """The app jobs run in: the worker's own, made once per worker process."""
    if "app" not in _WORKER_APP:
        from webmap import create_app

        use_app(create_app())
    app = _WORKER_APP["app"]
    if _WORKER_APP.get("pid") != os.getpid():
        # a job forked from the worker must not share its parent's database connections
        for engine in app.extensions.values():
            if hasattr(engine, "dispose"):
                engine.dispose(close=False)
    return app


def use_app(app: Flask) -> None:
    """Run this process's jobs in ``app`` (the worker command, and tests that work jobs)."""
    _WORKER_APP.update(app=app, pid=os.getpid())
