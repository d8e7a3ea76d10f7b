"""Operator commands: init, organisations, users, products, licenses, tokens and keys."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from . import accounts, keys, tokens
from .audit import CLI
from .cli import fail_cleanly
from .clock import parse_date
from .db import get_session
from .errors import NotFound, ValidationError
from .licenses.services import grant_license
from .models import ROLES
from .resources import get_key_source
from .schema import upgrade


@click.command("init")
@with_appcontext
@click.option("--admin-email", help="create this admin account if it does not exist")
@click.option("--admin-password", help="password of the new admin account")
@fail_cleanly
def init_command(admin_email, admin_password):
    """Create or upgrade the schema, the first signing key and the first admin."""
    if bool(admin_email) != bool(admin_password):
        raise ValidationError("--admin-email and --admin-password go together")
    upgrade(current_app.extensions["distro.engine"])
    click.echo("schema: up to date")
    session = get_session()
    key, created = keys.ensure_signing_key(session, get_key_source())
    click.echo(f"signing key: {key.kid} ({'created' if created else 'existing'})")
    last = key.kid
    if admin_email:
        try:
            admin = accounts.find_user(session, admin_email)
            click.echo(f"admin: {admin.email} (existing, password unchanged)")
        except NotFound:
            admin = accounts.create_user(session, CLI, admin_email, "admin", admin_password)
            click.echo(f"admin: {admin.email} (created)")
        last = admin.id
    session.commit()
    click.echo(last)


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


products = AppGroup("products", help="Products.")


@products.command("create")
@click.argument("code")
@click.option("--name", required=True)
@fail_cleanly
def products_create(code, name):
    session = get_session()
    product = accounts.create_product(session, CLI, code, name)
    session.commit()
    click.echo(product.id)


licenses = AppGroup("licenses", help="Licenses.")


@licenses.command("grant")
@click.option("--org", "org_code", required=True, metavar="CODE")
@click.option("--product", "product_code", required=True, metavar="CODE")
@click.option("--version", required=True)
@click.option("--modules", required=True, metavar="A,B,C")
@click.option("--users", "user_count", required=True, type=click.IntRange(1))
@click.option("--kind", required=True, type=click.Choice(["subscription", "perpetual"]))
@click.option(
    "--deployment",
    required=True,
    type=click.Choice(["public_cloud", "private_cloud", "on_premises"]),
)
@click.option("--starts", required=True, metavar="YYYY-MM-DD")
@click.option("--expires", metavar="YYYY-MM-DD")
@fail_cleanly
def licenses_grant(
    org_code, product_code, version, modules, user_count, kind, deployment, starts, expires
):
    session = get_session()
    license = grant_license(
        session,
        keys.active_signer(session, get_key_source()),
        CLI,
        org=accounts.find_org(session, org_code),
        product=accounts.find_product(session, product_code),
        version=version,
        modules=modules,
        user_count=user_count,
        kind=kind,
        deployment=deployment,
        starts=parse_date(starts, "--starts"),
        expires=parse_date(expires, "--expires") if expires else None,
    )
    session.commit()
    click.echo(license.id)


tokens_group = AppGroup("tokens", help="API tokens.")


@tokens_group.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--installer", is_flag=True, help="read-only download token of the user's org")
@click.option("--expires-days", type=int, default=tokens.DEFAULT_DAYS, show_default=True)
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


keys_group = AppGroup("keys", help="Signing keys.")


@keys_group.command("list")
@fail_cleanly
def keys_list():
    for row in keys.list_keys(get_session()):
        state = f"retired {row.retired_at:%Y-%m-%d}" if row.retired_at else "active"
        click.echo(f"{row.kid}  {row.alg}  created {row.created_at:%Y-%m-%d}  {state}")


@keys_group.command("rotate")
@fail_cleanly
def keys_rotate():
    session = get_session()
    row = keys.rotate_key(session, get_key_source())
    session.commit()
    click.echo("new signing key; older keys stay listed for verification")
    click.echo(row.kid)


COMMANDS = (init_command, orgs, users, products, licenses, tokens_group, keys_group)


@click.command("demo")
@with_appcontext
@fail_cleanly
def demo_command():
    """Create demo accounts and packages (idempotent) and print how to log in."""
    from .demo import DEMO_PASSWORD, seed_demo
    from .resources import get_storage

    session = get_session()
    created = seed_demo(session, get_storage(), keys.active_signer(session, get_key_source()))
    session.commit()
    click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    click.echo("  admin@example.com           admin (password admin-password-1)")
    for email, role in created:
        click.echo(f"  {email:<28}{role}")


COMMANDS = (*COMMANDS, demo_command)
