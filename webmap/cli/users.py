"""`riskmap users add|list|disable|password|jurisdiction` and `riskmap users token add|list|revoke`:
accounts of the platform and the API tokens of the systems that upload data for them."""

from __future__ import annotations

import getpass

import click
from flask import current_app
from flask.cli import with_appcontext

from geo.tenancy import CITY_ROLES
from webmap.accounts import (
    ROLES,
    AccountError,
    add_user,
    disable_user,
    issue_token,
    list_tokens,
    list_users,
    new_password,
    revoke_token,
    set_jurisdiction,
    set_password,
)
from webmap.db import get_engine
from webmap.sessions import end_all


@click.group("users")
def users() -> None:
    """Accounts: add, list and disable users (passwords are kept as scrypt hashes)."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--org", "organisation", help="Organisation name or id (insurer, TIS, parties).")
@click.option("--name", "display_name", help="Name shown in the service.")
@click.option("--jurisdiction", help="Regulator, planner, admin: the GB/T 2260 code of the "
              "district, city or province they oversee, or 100000 for the nation "
              "(default: the CITY setting).")
@click.option("--generate", is_flag=True, help="Make a random password and print it once.")
@with_appcontext
def add(username, role, organisation, display_name, jurisdiction, generate) -> None:
    """Add USERNAME; asks for the password unless --generate."""
    if role in CITY_ROLES and not jurisdiction:
        jurisdiction = current_app.config["CITY"]
    password = new_password() if generate else click.prompt(
        "password", hide_input=True, confirmation_prompt=True)
    try:
        with get_engine().begin() as conn:
            add_user(conn, username, role, password, organisation=organisation,
                     display_name=display_name, actor=f"cli:{getpass.getuser()}",
                     jurisdiction=jurisdiction)
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
        click.echo(f"{a.username:<20} {a.role:<11} {state:<8} "
                   f"{a.organisation or a.jurisdiction or ''}")
    if not accounts:
        click.echo("no accounts yet: riskmap users add NAME --role regulator")


@users.command("disable")
@click.argument("username")
@with_appcontext
def disable(username) -> None:
    """Stop USERNAME from signing in (the account and its history stay); every session of
    the account ends at once."""
    try:
        with get_engine().begin() as conn:
            user_id = disable_user(conn, username, actor=f"cli:{getpass.getuser()}")
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    end_all(user_id, current_app)
    click.echo(f"user {username} disabled; its sessions ended")


@users.command("jurisdiction")
@click.argument("username")
@click.argument("code")
@with_appcontext
def jurisdiction_command(username, code) -> None:
    """Let staff account USERNAME oversee CODE (GB/T 2260: a district, city or province, or
    100000 for the nation); every session of the account ends at once."""
    try:
        with get_engine().begin() as conn:
            user_id = set_jurisdiction(conn, username, code, actor=f"cli:{getpass.getuser()}")
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    end_all(user_id, current_app)
    click.echo(f"{username} now oversees {code}; its sessions ended")


@users.command("password")
@click.argument("username")
@click.option("--generate", is_flag=True, help="Make a random password and print it once.")
@with_appcontext
def password_command(username, generate) -> None:
    """Give USERNAME a new password (asked unless --generate); every session of the account
    ends at once."""
    password = new_password() if generate else click.prompt(
        "new password", hide_input=True, confirmation_prompt=True)
    try:
        with get_engine().begin() as conn:
            user_id = set_password(conn, username, password, actor=f"cli:{getpass.getuser()}")
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    end_all(user_id, current_app)
    click.echo(f"password of {username} changed; its sessions ended"
               + (f"; password: {password}" if generate else ""))


@users.group("token")
def token() -> None:
    """API tokens: let an insurer's or TIS's system upload files as one account."""


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@token.command("add")
@click.argument("username")
@click.option("--name", required=True, help="What uses the token, e.g. 'core system nightly'.")
@with_appcontext
def token_add(username, name) -> None:
    """Issue a token for USERNAME and print it once (only its hash is kept)."""
    try:
        with get_engine().begin() as conn:
            secret = issue_token(conn, username, name, actor=_actor())
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(secret)
    click.secho("这是唯一一次显示该令牌，库中只保存其散列值，请立即妥善保存。 / This is the only "
                "time the token is shown: it is not stored (only its hash is). Keep it now; "
                "send it as 'Authorization: Bearer <token>'.", fg="yellow", err=True)


@token.command("list")
@click.argument("username", required=False)
@with_appcontext
def token_list(username) -> None:
    """List the tokens (of USERNAME, or everyone's): id, user, name, last use, state."""
    with get_engine().connect() as conn:
        tokens = list_tokens(conn, username)
    for t in tokens:
        state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "live"
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never used"
        click.echo(f"{t.id:>5} {t.username:<20} {t.name:<30} {used:<16} {state}")
    if not tokens:
        click.echo("no tokens" + (f" for {username}" if username else "")
                   + ": riskmap users token add USER --name NAME")


@token.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
@with_appcontext
def token_revoke(token_id) -> None:
    """Revoke the token ID at once (it is kept, marked revoked, for the record)."""
    try:
        with get_engine().begin() as conn:
            revoke_token(conn, token_id, actor=_actor())
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"token {token_id} revoked")
