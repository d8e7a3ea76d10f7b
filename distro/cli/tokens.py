"""`distro tokens`: API tokens; the secret is printed once, as the last line."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from distro.accounts import services as accounts
from distro.accounts import tokens
from distro.accounts.actor import CLI
from distro.cli.errors import fail_cleanly
from distro.cli.params import WholeNumber
from distro.core.db import get_session

tokens_group = AppGroup("tokens", help="API tokens.")


@tokens_group.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--installer", is_flag=True, help="read-only download token of the user's org")
@click.option(
    "--expires-days",
    type=WholeNumber(),
    default=tokens.DEFAULT_DAYS,
    show_default=True,
)
@fail_cleanly
def tokens_create(email, name, installer, expires_days):
    session = get_session()
    token, secret = tokens.create_token(
        session,
        CLI,
        accounts.find_user(session, email),
        name=name,
        installer=installer,
        expires_days=expires_days,
    )
    session.commit()
    click.echo(
        f"token {token.id} ({token.scope}) expires {token.expires_at:%Y-%m-%d}; "
        "the secret below is shown once:"
    )
    click.echo(secret)
