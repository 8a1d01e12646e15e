"""`riskmap redis up|down|status` (the private Redis), `riskmap worker` (import and report
jobs) and `riskmap warm` (answers computed before their first reader)."""

from __future__ import annotations

import subprocess
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from webmap import keystore, warming
from webmap.warming import WARMED_ROLES, warm


@click.group("redis")
def redis_group() -> None:
    """The private Redis that keeps sessions, rate limits and import jobs."""


@redis_group.command("up")
@with_appcontext
def redis_up() -> None:
    """Start the private Redis (the service starts it by itself too) and say where it is."""
    config = current_app.config
    if keystore.settings_url(config):
        click.echo("REDIS_URL is set: using that Redis; no private instance is started.")
    click.echo(f"redis ready at {config['REDIS_URL']}")


@redis_group.command("down")
@with_appcontext
def redis_down() -> None:
    """Stop the private Redis (it saves its snapshot first)."""
    stopped = keystore.down(keystore.private_redis(current_app.config))
    click.echo("private redis stopped" if stopped else "private redis was not running")


@redis_group.command("status")
@with_appcontext
def redis_status() -> None:
    """Say which Redis the service uses and whether it answers."""
    url = current_app.config["REDIS_URL"]
    try:
        keystore.client().ping()
    except Exception as exc:  # noqa: BLE001 — any failure to answer is the status
        raise click.ClickException(f"redis at {url} does not answer: {exc}") from exc
    click.echo(f"redis at {url}: answering")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Work the queued jobs, then stop.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Work import and report jobs: each in a process of its own, with this host's settings
    (it must see UPLOAD_DIR, REPORT_DIR and the database)."""
    from rq import Worker

    from webmap import importjobs
    from webmap.reports.queued import QueuedReports

    app = current_app._get_current_object()
    importjobs.use_app(app)
    # in order: a worker takes imports first, reports next, keeping warm last
    queues = [importjobs.queue(app), QueuedReports(app).queue(), warming.queue(app)]
    if not burst:
        warming.schedule(app, now=True)
    click.echo(f"job worker on {', '.join(q.name for q in queues)} ({app.config['REDIS_URL']})")
    # with_scheduler: one of the workers moves the rounds due (enqueue_in) onto their queue
    Worker(queues, connection=keystore.client(app)).work(
        burst=burst, logging_level="WARNING", with_scheduler=not burst)


def start_workers(count: int) -> list[subprocess.Popen]:
    """``count`` worker processes beside `riskmap serve`, with the same settings."""
    command = [sys.executable, "-m", "webmap", "worker"]
    return [subprocess.Popen(command) for _ in range(count)]


@click.command("warm")
@click.option("--role", "roles", multiple=True, type=click.Choice(WARMED_ROLES),
              help="Warm for these roles only (default: every role that sees the whole "
                   "programme).")
@with_appcontext
def warm_command(roles: tuple[str, ...]) -> None:
    """Compute the statistics and the portfolio for the data as it is now, before anyone asks
    (run it after an import, or every few minutes from a timer): the first regulator to open
    them then pays nothing. Already current, they are found, not computed again."""
    for what, role, seconds in warm(current_app._get_current_object(), roles or WARMED_ROLES):
        click.echo(f"{what:<11} {role:<10} {seconds:7.2f} s")
