"""`riskmap users add|list|disable`: accounts of the platform."""

from __future__ import annotations

import getpass

import click
from flask.cli import with_appcontext

from webmap.accounts import ROLES, AccountError, add_user, disable_user, list_users, new_password
from webmap.db import get_engine


@click.group("users")
def users() -> None:
    """Accounts: add, list and disable users (passwords are kept as scrypt hashes)."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--org", "organisation", help="Organisation name or id (insurer, TIS, parties).")
@click.option("--name", "display_name", help="Name shown in the service.")
@click.option("--generate", is_flag=True, help="Make a random password and print it once.")
@with_appcontext
def add(username, role, organisation, display_name, generate) -> None:
    """Add USERNAME; asks for the password unless --generate."""
    password = new_password() if generate else click.prompt(
        "password", hide_input=True, confirmation_prompt=True)
    try:
        with get_engine().begin() as conn:
            add_user(conn, username, role, password, organisation=organisation,
                     display_name=display_name, actor=f"cli:{getpass.getuser()}")
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"user {username} added as {role}"
               + (f"; password: {password}" if generate else ""))


@users.command("list")
@with_appcontext
def list_command() -> None:
    """List every account with its role, organisation and whether it may sign in."""
    with get_engine().connect() as conn:
        accounts = list_users(conn)
    for a in accounts:
        state = "active" if a.is_active else "disabled"
        click.echo(f"{a.username:<20} {a.role:<11} {state:<8} {a.organisation or ''}")
    if not accounts:
        click.echo("no accounts yet: riskmap users add NAME --role regulator")


@users.command("disable")
@click.argument("username")
@with_appcontext
def disable(username) -> None:
    """Stop USERNAME from signing in (the account and its history stay)."""
    try:
        with get_engine().begin() as conn:
            disable_user(conn, username, actor=f"cli:{getpass.getuser()}")
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"user {username} disabled")
