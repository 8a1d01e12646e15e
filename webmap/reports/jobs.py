"""Reports made in the background, so that a long export never holds up the web server.

A request starts a job and gets its id; the page polls the job's progress and fetches the
file when it is done. Only the account that started a job may see it or download its file.
Finished files wait in a folder for REPORT_KEEP_MINUTES, then go.
"""

from __future__ import annotations

import atexit
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask

Work = Callable[[Callable[[str, float], None]], bytes]
STATES_ZH = {"queued": "排队中", "running": "生成中", "done": "已完成", "failed": "失败"}


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
    path: Path | None = None
    finished_at: float | None = None
    created_at: float = field(default_factory=time.time)

    def as_json(self) -> dict:
        return {"id": self.id, "state": self.state, "state_zh": STATES_ZH[self.state],
                "step": self.step, "progress": round(self.fraction, 3), "error": self.error,
                "filename": self.filename}


class ReportJobs:
    """A small pool of report workers with the jobs they have been given."""

    def __init__(self, workers: int, folder: str, keep_minutes: int):
        self._own_folder = not folder
        self.folder = Path(folder or tempfile.mkdtemp(prefix="riskmap-reports-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.keep_seconds = keep_minutes * 60
        self._pool = ThreadPoolExecutor(max_workers=max(workers, 1),
                                        thread_name_prefix="riskmap-report")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        atexit.register(self.close)

    def submit(self, owner: str, filename: str, mimetype: str, work: Work) -> Job:
        """Queue ``work`` (called with a progress callback, returning the file's bytes)."""
        self._forget_old()
        job = Job(secrets.token_urlsafe(16), owner, filename, mimetype)
        with self._lock:
            self._jobs[job.id] = job
        self._pool.submit(self._run, job, work)
        return job

    def get(self, job_id: str, owner: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def _run(self, job: Job, work: Work) -> None:
        def progress(step: str, fraction: float) -> None:
            job.step, job.fraction = step, min(max(fraction, 0.0), 1.0)

        job.state, job.step = "running", "开始"
        try:
            content = work(progress)
        except Exception as exc:  # noqa: BLE001 — the reader needs the reason, not a dead job
            job.state, job.error = "failed", str(exc) or exc.__class__.__name__
        else:
            path = self.folder / f"{job.id}.bin"
            path.write_bytes(content)
            job.path, job.state, job.step, job.fraction = path, "done", "已完成", 1.0
        job.finished_at = time.time()

    def _forget_old(self) -> None:
        cutoff = time.time() - self.keep_seconds
        with self._lock:
            old = [j for j in self._jobs.values() if j.finished_at and j.finished_at < cutoff]
            for job in old:
                del self._jobs[job.id]
        for job in old:
            if job.path is not None:
                job.path.unlink(missing_ok=True)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)


def init_app(app: Flask) -> None:
    app.extensions["riskmap_reports"] = ReportJobs(
        app.config["REPORT_WORKERS"], app.config["REPORT_DIR"], app.config["REPORT_KEEP_MINUTES"])


def jobs_of(app: Flask) -> ReportJobs:
    return app.extensions["riskmap_reports"]
