"""Reports as RQ jobs (REPORT_QUEUE=rq): made by `riskmap worker` on any host, their state in
the shared Redis, their files in the shared REPORT_DIR (a network folder every web and job
worker mounts), so that a web process holds nothing of a report between requests: one
process queues it, a job worker makes it, any other process answers the polls and sends it.

A job carries what to make (a `Recipe`) and for whom (a Tenant), never a connection or a
secret: the worker reads the store as that tenant, in its own app (`importjobs.worker_app`).
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app
from rq import Queue, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job as RQJob

from geo.tenancy import Tenant
from layers.filters import Filters
from webmap import keystore
from webmap.reports import with_basemap
from webmap.reports.jobs import _JOB_ID, FOLDER_FAULT, Job, ReportFolderError, _write_whole

_STATES = {"queued": "queued", "deferred": "queued", "scheduled": "queued",
           "started": "running", "finished": "done", "failed": "failed", "stopped": "failed",
           "canceled": "failed"}


@dataclass(frozen=True)
class Recipe:
    """What report to make: a district's (``code``) or the periodic one (``period``)."""

    kind: str
    fmt: str
    city: str
    code: str = ""
    period: str = ""
    filters: Filters | None = None


# the PDF's stages as the progress bar names them (an XLSX names its sheets, in Chinese)
STEPS_ZH = {"charts": "绘制图表", "map": "绘制地图", "layout": "排版", "pdf": "生成 PDF",
            "done": "完成"}


def make(recipe: Recipe, tenant: Tenant, progress) -> bytes:
    """The report's file, read as ``tenant`` (inside an app context)."""
    from layers import reports
    from webmap.reports.formats import FORMATS
    from webmap.scope import connection

    progress("查询数据", 0.05)
    with connection(tenant=tenant) as conn:
        if recipe.kind == "district":
            report = reports.district_report(conn, recipe.city, recipe.code,
                                             recipe.filters or Filters(), tenant)
        else:
            report = reports.periodic_report(conn, recipe.city, recipe.period, tenant)
    with_basemap(report, current_app.config, recipe.fmt)
    return FORMATS[recipe.fmt].render(report, lambda step, f: progress(STEPS_ZH.get(step, step),
                                                                 0.25 + 0.75 * f))


class QueuedReports:
    """The same face as `jobs.ReportJobs` (submit, get, file_of), over RQ."""

    def __init__(self, app: Flask):
        self.app = app
        self.folder = Path(app.config["REPORT_DIR"])
        self.keep_seconds = int(app.config["REPORT_KEEP_MINUTES"]) * 60

    def queue(self) -> Queue:
        return Queue(keystore.key("reports", self.app), connection=keystore.client(self.app),
                     default_timeout=30 * 60)

    def submit(self, owner: str, filename: str, mimetype: str, recipe: Recipe,
               tenant: Tenant) -> Job:
        try:  # a folder that cannot take the file fails the request now, not in the worker
            self.folder.mkdir(parents=True, exist_ok=True)
            if not os.access(self.folder, os.W_OK):
                raise PermissionError(13, "read-only")
        except OSError as exc:
            raise ReportFolderError(exc.errno, FOLDER_FAULT) from None
        forget_old(self.folder, self.keep_seconds)
        job_id = secrets.token_urlsafe(16)
        self.queue().enqueue(
            "webmap.reports.queued.run", recipe, tenant, job_id=job_id,
            result_ttl=self.keep_seconds, failure_ttl=self.keep_seconds,
            meta={"owner": owner, "filename": filename, "mimetype": mimetype,
                  "step": "排队中", "fraction": 0.0})
        return Job(job_id, owner, filename, mimetype)

    def get(self, job_id: str, owner: str) -> Job | None:
        if not _JOB_ID.match(job_id):
            return None
        try:
            found = RQJob.fetch(job_id, connection=keystore.client(self.app))
        except NoSuchJobError:
            return None
        meta = found.meta
        if meta.get("owner") != owner:
            return None
        status = found.get_status(refresh=False)
        state = _STATES.get(getattr(status, "value", status), "queued")
        error = meta.get("error") or ("生成报告的进程已停止，请重新生成。"
                                      if state == "failed" else "")
        return Job(found.id, owner, meta["filename"], meta["mimetype"], state,
                   meta.get("step", ""), 1.0 if state == "done" else meta.get("fraction", 0.0),
                   error)

    def file_of(self, job: Job) -> Path:
        return self.folder / f"{job.id}.report"


def run(recipe: Recipe, tenant: Tenant) -> dict:
    """The job, in a job worker: make the report into the shared folder."""
    from webmap.importjobs import worker_app

    job = get_current_job()
    app = worker_app()

    def progress(step: str, fraction: float) -> None:
        job.meta.update(step=step, fraction=min(max(fraction, 0.0), 1.0))
        job.save_meta()

    try:
        with app.app_context():
            progress("开始", 0.0)
            content = make(recipe, tenant, progress)
        path = Path(app.config["REPORT_DIR"]) / f"{job.id}.report"
        _write_whole(path, content)
    except OSError as exc:
        job.meta["error"] = FOLDER_FAULT if exc.errno else str(exc)
        job.save_meta()
        raise
    except Exception as exc:
        job.meta["error"] = str(exc) or exc.__class__.__name__  # the reader needs the reason
        job.save_meta()
        raise
    job.meta.update(step="已完成", fraction=1.0)
    job.save_meta()
    return {"bytes": len(content)}


def forget_old(folder: Path, keep_seconds: int) -> None:
    cutoff = time.time() - keep_seconds
    for path in folder.glob("*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            continue  # another worker removed it first
