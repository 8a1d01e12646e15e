"""Working the import jobs a test queued, and following an upload to its end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from rq import SimpleWorker

from webmap import importjobs, keystore


def work_jobs(app) -> None:
    """Run every queued import job of ``app`` in this process, as a worker would."""
    importjobs.use_app(app)
    worker = SimpleWorker([importjobs.queue(app)], connection=keystore.client(app))
    worker.work(burst=True, logging_level="WARNING")


def finished_api(app, response, headers: dict):
    """The import's final answer for an API upload (its 202 followed to the end)."""
    if response.status_code != 202:
        return response
    work_jobs(app)
    return app.test_client().get(response.json["status_url"], headers=headers)


def finished_page(client, response):
    """The job page's final answer for an upload on /imports (its 303 followed)."""
    if response.status_code != 303:
        return response
    work_jobs(client.application)
    return client.get(response.location)


def worker_env(app, **extra) -> dict:
    """The environment of a job worker with ``app``'s settings."""
    config = app.config
    env = {**os.environ, "DATABASE_URL": config["DATABASE_URL"],
           "RISKMAP_REDIS_URL": config["REDIS_URL"], "RISKMAP_REDIS_PREFIX": config["REDIS_PREFIX"],
           "RISKMAP_UPLOAD_DIR": config["UPLOAD_DIR"], "RISKMAP_CITY": config["CITY"],
           "RISKMAP_SECRET_KEY": config["SECRET_KEY"]}
    # a test's worker works what the test queues, not keep-warm rounds beside it
    env.update({f"RISKMAP_{k}": str(v) for k, v in {"WARM_EVERY_SECONDS": 0, **extra}.items()})
    return env


def start_worker(app, **extra) -> subprocess.Popen:
    """A real `riskmap worker` process (jobs forked off it) for ``app``'s queue, once it
    listens."""
    process = subprocess.Popen([sys.executable, "-m", "webmap", "worker"],
                               env=worker_env(app, **extra), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    return listening(process, importjobs.queue(app), seconds=60)


def listening(process: subprocess.Popen, queue, seconds: float) -> subprocess.Popen:
    """``process`` once a worker listens on ``queue``; killed, with its stderr, if it dies or
    takes longer than ``seconds``."""
    from rq import Worker

    deadline = time.monotonic() + seconds
    while Worker.count(queue=queue) == 0:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the job worker did not start: {process.stderr.read()}")
        time.sleep(0.1)
    return process


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for(predicate, seconds: float = 120, every: float = 0.2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"not done within {seconds} s")
