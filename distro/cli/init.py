"""`distro init` and `distro demo`: the schema, the first key and admin, demo data."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from distro.accounts import services as accounts
from distro.accounts.actor import CLI
from distro.accounts.models import STAFF_ROLES
from distro.accounts.sealing import Sealer
from distro.cli.demo import DEMO_PASSWORD, demo_authenticator, seed_demo
from distro.cli.errors import fail_cleanly
from distro.core.db import get_session
from distro.core.errors import NotFound, ValidationError
from distro.migrations import upgrade
from distro.signing import keys
from distro.signing.keys import get_key_source
from distro.storage.factory import get_storage
from distro.tuf import lifecycle


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
    repositories = lifecycle.ensure_all(session, get_key_source(), _threshold())
    click.echo(f"TUF repositories: {repositories} created")
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


def _exists(session, email: str) -> bool:
    try:
        accounts.find_user(session, email)
    except NotFound:
        return False
    return True


def _threshold() -> int:
    return int(current_app.config["TUF_ROOT_THRESHOLD"])


@click.command("demo")
@with_appcontext
@fail_cleanly
def demo_command():
    """Create demo accounts and packages (idempotent) and print how to log in."""
    session = get_session()
    created = seed_demo(session, get_storage(), keys.active_signer(session, get_key_source()))
    lifecycle.ensure_all(session, get_key_source(), _threshold())
    sealer = Sealer(current_app.config["SECRET_KEY"])
    secrets = {
        email: demo_authenticator(session, accounts.find_user(session, email), sealer)
        for email, role in [("admin@example.com", "admin"), *created]
        if role in STAFF_ROLES and _exists(session, email)
    }
    session.commit()
    click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    click.echo("  admin@example.com           admin (password admin-password-1)")
    for email, role in created:
        click.echo(f"  {email:<28}{role}")
    if current_app.config["STAFF_MFA"] != "required":
        click.echo("Staff second factor: off (DISTRO_STAFF_MFA=off), for this demo only.")
        return
    click.echo("Staff sign in with a second factor too. Their authenticator-app keys (add one")
    click.echo('to an app, or get the current code with: .venv/bin/python -c "import pyotp;')
    click.echo("print(pyotp.TOTP('KEY').now())\"):")
    for email, secret in secrets.items():
        click.echo(f"  {email:<28}{secret}")
