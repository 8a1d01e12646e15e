"""`riskmap report district|periodic`: the district report and the platform's periodic
statistics report, written to a file from the command line.

Reports are read through the web role with row-level security, as the regulator by default
or as the account named by --as-user (an insurer's account gets its own portfolio only).
"""

from __future__ import annotations

import getpass
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import text
from tqdm import tqdm

from geo.tenancy import Tenant, set_tenant
from layers import reports
from layers.filters import FilterError, Filters
from webmap.accounts import tenant_of
from webmap.cli import UserError
from webmap.db import get_engine, get_web_engine
from webmap.reports import with_basemap
from webmap.reports.formats import DISTRICT_FORMATS, FORMATS, PERIODIC_FORMATS, report_filename

AS_USER = click.option("--as-user", "username", metavar="USERNAME",
                       help="Make the report as this account sees it (default: the regulator).")
OUTPUT = click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                      help="File to write (default: a name saying what it is, here).")


@click.group("report")
def report() -> None:
    """Reports: a district's report and the periodic statistics report (平台统计报表)."""


def _tenant(username: str | None) -> Tenant:
    if not username:
        return Tenant("regulator", username=f"cli:{getpass.getuser()}")
    with get_engine().connect() as conn:
        tenant = tenant_of(conn, username)
    if tenant is None:
        raise UserError(f"no active user {username!r} (see `riskmap users list`)")
    return tenant


def _write(build, fmt: str, output: Path | None, tenant: Tenant) -> None:
    """Build the report as ``tenant`` with a progress bar, render it and write the file."""
    chosen = FORMATS[fmt]
    with tqdm(total=100, desc="查询数据", unit="%", bar_format="{desc} {bar} {n:.0f}%") as bar:
        def progress(step: str, fraction: float) -> None:
            bar.set_description_str(step)
            bar.update(max(0.0, 25 + 75 * fraction - bar.n))
        with get_web_engine().begin() as conn:
            conn.execute(text("SET TRANSACTION READ ONLY"))
            set_tenant(conn, tenant)
            report_dict = build(conn)
        bar.update(25 - bar.n)
        content = chosen.render(with_basemap(report_dict, current_app.config, fmt), progress)
        bar.update(100 - bar.n)
    path = output or Path(report_filename(report_dict, chosen))
    path.write_bytes(content)
    click.echo(f"report written: {path} ({len(content) / 1024:,.0f} KB)")


@report.command("district")
@click.argument("code")
@click.option("--period", default="", help="Year (2024), quarter (2024-Q2) or month (2024-05).")
@click.option("--insurer", default="", help="Only this insurer's business (organisation id).")
@click.option("--tis", default="", help="Only this TIS's projects (organisation id).")
@click.option("--format", "fmt", type=click.Choice(DISTRICT_FORMATS), default="pdf",
              show_default=True)
@AS_USER
@OUTPUT
@with_appcontext
def district_command(code, period, insurer, tis, fmt, username, output) -> None:
    """The report of district CODE (GB/T 2260, e.g. 530102): map, figures beside the city's,
    charts, projects, open severe risk events and claims with deadline performance."""
    tenant = _tenant(username)
    city = current_app.config["CITY"]
    try:
        filters = Filters.from_args({"period": period, "insurer": insurer, "tis": tis})
        filters = filters.for_tenant(tenant)
    except FilterError as exc:
        raise UserError(str(exc)) from exc

    def build(conn):
        found = reports.district_report(conn, city, code, filters, tenant)
        if found is None:
            raise UserError(f"no district {code} in city {city} (see `riskmap load districts`)")
        return found
    _write(build, fmt, output, tenant)


@report.command("periodic")
@click.option("--period", required=True, help="Month (2024-05) or quarter (2024-Q2).")
@click.option("--format", "fmt", type=click.Choice(PERIODIC_FORMATS), default="pdf",
              show_default=True)
@AS_USER
@OUTPUT
@with_appcontext
def periodic_command(period, fmt, username, output) -> None:
    """The platform's statistics report for a month or a quarter, city-wide."""
    tenant = _tenant(username)
    try:
        reports.periodic_filters(period)
    except FilterError as exc:
        raise UserError(str(exc)) from exc
    city = current_app.config["CITY"]
    _write(lambda conn: reports.periodic_report(conn, city, period, tenant), fmt, output, tenant)
