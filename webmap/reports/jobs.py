"""Reports made in the background, so that a long export never holds up the web server.

A request starts a job and gets its id; the page polls the job's progress and fetches the
file when it is done. A job's state is a small JSON file beside its report in REPORT_DIR, so
that any worker process of the service (gunicorn runs several) answers the polls, whichever
one makes the report. Only the account that started a job may see it or download its file.
Finished reports wait there for REPORT_KEEP_MINUTES, then go.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from flask import Flask

from webmap import metrics

Work = Callable[[Callable[[str, float], None]], bytes]
STATES_ZH = {"queued": "排队中", "running": "生成中", "done": "已完成", "failed": "失败"}
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{20,40}$")
# a job whose state has not moved for this long lost its worker (a restart, a crash)
STALLED_SECONDS = 15 * 60
FOLDER_FAULT = ("服务器的报告文件夹不可写或已满，报告无法生成，请联系管理员。"
                "The report folder is read-only or full.")


class ReportFolderError(OSError):
    """REPORT_DIR cannot take a job's state or file (read-only, full); nothing was kept."""


@dataclass
class Job:
    id: str
    owner: str
    filename: str
    mimetype: str
    state: str = "queued"
    step: str = "排队中"
    fraction: float = 0.0
    error: str = ""
    updated_at: float = field(default_factory=time.time)

    def as_json(self) -> dict:
        return {"id": self.id, "state": self.state, "state_zh": STATES_ZH[self.state],
                "step": self.step, "progress": round(self.fraction, 3), "error": self.error,
                "filename": self.filename}


class ReportJobs:
    """A small pool of report workers, and the folder where jobs keep their state and files."""

    def __init__(self, workers: int, folder: str | Path, keep_minutes: int):
        self.folder = Path(folder)
        self.keep_seconds = keep_minutes * 60
        self._pool = ThreadPoolExecutor(max_workers=max(workers, 1),
                                        thread_name_prefix="riskmap-report")

    def submit(self, owner: str, filename: str, mimetype: str, work: Work) -> Job:
        """Queue ``work`` (called with a progress callback, returning the file's bytes)."""
        self._forget_old()
        job = Job(secrets.token_urlsafe(16), owner, filename, mimetype)
        try:  # a folder that cannot take the job's state fails the request now, not later
            self.folder.mkdir(parents=True, exist_ok=True)
            self._save(job)
        except OSError as exc:
            raise ReportFolderError(exc.errno, FOLDER_FAULT) from None
        self._pool.submit(self._run, job, work)
        return job

    def get(self, job_id: str, owner: str) -> Job | None:
        if not _JOB_ID.match(job_id):
            return None
        try:
            job = Job(**json.loads(self._state_path(job_id).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None
        if job.owner != owner:
            return None
        if job.state in ("queued", "running") and time.time() - job.updated_at > STALLED_SECONDS:
            job.state, job.error = "failed", "生成报告的进程已停止，请重新生成。"
        return job

    def file_of(self, job: Job) -> Path:
        return self.folder / f"{job.id}.report"

    def _state_path(self, job_id: str) -> Path:
        return self.folder / f"{job_id}.json"

    def _save(self, job: Job) -> None:
        job.updated_at = time.time()
        _write_whole(self._state_path(job.id),
                     json.dumps(asdict(job), ensure_ascii=False).encode("utf-8"))

    def _run(self, job: Job, work: Work) -> None:
        def progress(step: str, fraction: float) -> None:
            job.step, job.fraction = step, min(max(fraction, 0.0), 1.0)
            self._save(job)

        with metrics.report_job() as measured:
            try:
                job.state, job.step = "running", "开始"
                self._save(job)
                _write_whole(self.file_of(job), work(progress))
            except OSError as exc:
                job.state, job.error = "failed", FOLDER_FAULT if exc.errno else str(exc)
            except Exception as exc:  # noqa: BLE001 — the reader needs the reason, not a dead job
                job.state, job.error = "failed", str(exc) or exc.__class__.__name__
            else:
                job.state, job.step, job.fraction = "done", "已完成", 1.0
            measured["outcome"] = job.state
        try:
            self._save(job)
        except OSError:
            # not even the state fits: take the job away, so a poll says so at once (404)
            # instead of waiting on a report that will never come
            self._state_path(job.id).unlink(missing_ok=True)

    def _forget_old(self) -> None:
        cutoff = time.time() - self.keep_seconds
        for path in self.folder.glob("*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                continue  # another worker removed it first

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _write_whole(path: Path, content: bytes) -> None:
    """Write ``path`` whole or not at all: a poll never reads half a file, and a full disk
    leaves no partial one."""
    draft = path.with_name(path.name + ".tmp")
    try:
        draft.write_bytes(content)
        os.replace(draft, path)
    except OSError:
        with contextlib.suppress(OSError):  # a read-only folder has none to remove
            draft.unlink(missing_ok=True)
        raise


def init_app(app: Flask) -> None:
    app.extensions["riskmap_reports"] = ReportJobs(
        app.config["REPORT_WORKERS"], app.config["REPORT_DIR"], app.config["REPORT_KEEP_MINUTES"])


def jobs_of(app: Flask) -> ReportJobs:
    return app.extensions["riskmap_reports"]
