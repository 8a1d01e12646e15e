"""gunicorn's configuration for the service, the one documented way to serve it in production:

    gunicorn -c python:webmap.gunicorn_conf 'webmap:create_app()'

It reads the service's own settings (RISKMAP_HOST, PORT, WORKERS, THREADS, TIMEOUT; see the
README's table), so a bad one stops gunicorn with one line before any worker starts. The
access log is the service's own JSON lines (ACCESS_LOG); gunicorn's log is JSON too. Each
worker writes its Prometheus figures to a folder /metrics adds up.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from webmap import settings as _settings


def _service_settings() -> dict:
    try:
        config = {**_settings.defaults(), **_settings.from_environment()}
        _settings.validate(config)
    except _settings.SettingError as exc:
        print(f"错误 / error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    return config


_config = _service_settings()

bind = [f"{_config['HOST']}:{_config['PORT']}"]
workers = _config["WORKERS"]
worker_class = "gthread"
threads = _config["THREADS"]
timeout = _config["TIMEOUT"]
graceful_timeout = 30
keepalive = 5
# the service logs each request itself (with its request id); gunicorn would log it twice
accesslog = None
errorlog = "-"
loglevel = "info"
# X-Forwarded-* are the business of PROXIES (werkzeug ProxyFix) alone
forwarded_allow_ips = ""
proc_name = "riskmap"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "webmap.accesslog.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                            "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["stderr"],
                                   "propagate": False}},
}

_made_metrics_dir: list[str] = []


def on_starting(server) -> None:
    """Before any worker starts (and imports prometheus_client, which picks its storage on
    import): the folder where the workers' figures meet, emptied of an earlier run's."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="riskmap-metrics-")
        _made_metrics_dir.append(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.glob("*.db"):
        path.unlink()


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    for folder in _made_metrics_dir:
        shutil.rmtree(folder, ignore_errors=True)
