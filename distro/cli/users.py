"""`distro users`: user accounts of every role."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from distro.accounts import invitations, members, mfa
from distro.accounts import services as accounts
from distro.accounts.actor import CLI
from distro.accounts.models import ROLES
from distro.cli.errors import fail_cleanly
from distro.core.db import get_session
from distro.core.errors import ValidationError

users = AppGroup("users", help="User accounts.")


@users.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--org", "org_code", metavar="CODE")
@click.option("--password")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@fail_cleanly
def users_create(email, role, org_code, password, password_stdin):
    if bool(password) == password_stdin:
        raise ValidationError("give exactly one of --password P or --password-stdin")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    session = get_session()
    user = accounts.create_user(session, CLI, email, role, password, org_code)
    session.commit()
    click.echo(user.id)


@users.command("disable")
@click.argument("email")
@fail_cleanly
def users_disable(email):
    """Disable an account: its sessions and tokens stop working at once."""
    _set_disabled(email, True)


@users.command("enable")
@click.argument("email")
@fail_cleanly
def users_enable(email):
    _set_disabled(email, False)


def _set_disabled(email: str, disabled: bool) -> None:
    session = get_session()
    user = members.set_disabled(session, CLI, accounts.find_user(session, email).id, disabled)
    session.commit()
    click.echo(user.id)


@users.command("reset-mfa")
@click.argument("email")
@fail_cleanly
def users_reset_mfa(email):
    """Remove a person's second factors (they lost them): they enrol again at their next
    sign-in and are told by mail."""
    session = get_session()
    user = accounts.find_user(session, email)
    gone = mfa.reset_factors(session, CLI, user)
    session.commit()
    click.echo(f"removed {gone} second factors of {user.email}", err=True)
    click.echo(user.id)


@users.command("invite")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--org", "org_code", metavar="CODE")
@fail_cleanly
def users_invite(email, role, org_code):
    """Mail an invitation; the invitee chooses the password (prints the invitation id)."""
    session = get_session()
    invitation = invitations.invite(session, CLI, email, role, org=org_code)
    session.commit()
    click.echo(invitation.id)
