"""The `riskmap` command: help everywhere, clear errors, and the settings the README documents."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from geo import store
from webmap import settings
from webmap.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def _commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


@pytest.mark.parametrize("path", list(_commands(main)), ids=" ".join)
def test_every_subcommand_has_help(app, path):
    result = app.test_cli_runner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and len(result.output.splitlines()) > 3


def test_db_status_names_the_schema_revision(app):
    result = app.test_cli_runner().invoke(main, ["db", "status"])
    assert result.exit_code == 0, result.output
    head = store.head_revision()  # the newest migration, whichever number it has
    assert f"schema revision: {head} (latest {head})" in result.output


def test_a_bad_city_code_is_one_clear_line_not_a_traceback(app):
    result = app.test_cli_runner().invoke(main, ["load", "districts", "--city", "5301"])
    assert result.exit_code == 1
    assert "not a six-digit GB/T 2260 code" in result.output
    assert "Traceback" not in result.output


def test_the_readme_documents_every_setting():
    """The README's table is the one `riskmap settings` prints, so docs and code agree."""
    assert settings.markdown_table() in README.read_text(encoding="utf-8")


def test_environment_overrides_defaults_and_test_config_overrides_both(monkeypatch):
    from webmap import create_app

    monkeypatch.setenv("RISKMAP_CITY", "421300")
    monkeypatch.setenv("RISKMAP_PORT", "8080")
    app = create_app({"PORT": 9000})
    assert app.config["CITY"] == "421300" and app.config["PORT"] == 9000
