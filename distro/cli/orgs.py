"""`distro orgs`: customer organisations and their account managers."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from distro.accounts import services as accounts
from distro.accounts.actor import CLI
from distro.cli.errors import fail_cleanly
from distro.core.db import get_session

orgs = AppGroup("orgs", help="Customer organisations.")


@orgs.command("create")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--account-manager", "managers", multiple=True, metavar="EMAIL")
@fail_cleanly
def orgs_create(code, name, managers):
    session = get_session()
    org = accounts.create_org(session, CLI, code, name, list(managers))
    session.commit()
    click.echo(org.id)


@orgs.command("assign")
@click.argument("code")
@click.option("--account-manager", "manager", required=True, metavar="EMAIL")
@fail_cleanly
def orgs_assign(code, manager):
    session = get_session()
    org = accounts.find_org(session, code)
    accounts.assign_account_manager(session, CLI, org, accounts.find_user(session, manager))
    session.commit()
    click.echo(org.id)
