"""`riskmap import` and `riskmap template`: data from insurers' and agencies' spreadsheets."""

from __future__ import annotations

import getpass
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from webmap.db import get_engine


def _kinds() -> list[str]:
    from loaders.imports.registry import KINDS

    return list(KINDS)


KIND_CHOICE = click.Choice(_kinds())


def _print_result(result, errors_path: Path | None) -> None:
    name = result.path.name
    for problem in result.warnings[:50]:
        click.secho("提示 " + problem.line(name), fg="yellow", err=True)
    for problem in result.errors[:50]:
        click.secho("错误 " + problem.line(name), fg="red", err=True)
    if len(result.errors) > 50:
        click.secho(f"… 共 {len(result.errors)} 个错误", fg="red", err=True)
    if errors_path is not None:
        click.echo(f"错误清单 error report: {errors_path}", err=True)


@click.command("import")
@click.argument("kind", type=KIND_CHOICE)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--crs", default=None,
              help="Coordinate system of the file's coordinates: wgs84 (default), cgcs2000, "
                   "gcj02 (Amap/Tencent), bd09 (Baidu) or an EPSG code such as EPSG:4543.")
@click.option("--sheet", default=None, help="XLSX sheet or GeoPackage layer to read.")
@click.option("--encoding", default=None, help="Text encoding of a CSV (default: detected).")
@click.option("--dry-run", is_flag=True, help="Check and count what would change; write nothing.")
@click.option("--partial", is_flag=True, help="Load the valid rows even if some rows are bad.")
@click.option("--errors", "errors_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the error report (default: FILE.errors.csv beside the file, "
                   "or in the current folder if that is not writable).")
@with_appcontext
def import_command(kind, file, crs, sheet, encoding, dry_run, partial, errors_file) -> None:
    """Import KIND from FILE (CSV, XLSX, GeoJSON, GeoPackage, Shapefile); all or nothing."""
    from loaders.imports import limits
    from loaders.imports.pipeline import write_error_report
    from loaders.imports.run import import_file

    def progress(rows):
        return tqdm(rows, desc=f"检查 {file.name}", unit="行", disable=len(rows) < 1000)

    with limits.using(limits.from_config(current_app.config)), get_engine().begin() as conn:
        result = import_file(conn, kind, file, city=current_app.config["CITY"],
                             actor=f"cli:{getpass.getuser()}", crs=crs, sheet=sheet,
                             encoding=encoding, partial=partial, dry_run=dry_run,
                             progress=progress)
    report = None
    if result.errors or result.warnings:  # warnings beyond the first 50 shown live here
        report = write_error_report(result.errors + result.warnings,
                                    errors_file or _report_path(file))
    _print_result(result, report)
    verb = "would be" if dry_run else "were"
    click.echo(f"{file.name}: {result.rows_read} rows read; {result.inserted} {verb} inserted, "
               f"{result.updated} updated, {result.unchanged} unchanged, "
               f"{result.rejected_rows} rejected" + ("" if result.written or dry_run else
                                                      "; nothing was written"))
    if result.errors and not (partial and result.written):
        raise SystemExit(1)


def _report_path(file: Path) -> Path:
    beside = file.with_name(file.name + ".errors.csv")
    try:
        beside.touch()
        return beside
    except OSError:
        return Path.cwd() / beside.name


@click.command("template")
@click.argument("kind", type=KIND_CHOICE)
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx",
              show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: <kind>-template.<format> here).")
def template_command(kind, fmt, output) -> None:
    """Write a template for KIND: headers with units, one example row, and column notes."""
    from loaders.imports.templates import write_template

    path = write_template(kind, output or Path(f"{kind}-template.{fmt}"))
    click.echo(f"template written: {path}")
