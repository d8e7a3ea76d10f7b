"""The `distro` command line (contract §6): a Flask CLI group over the same services.

Every command prints one clear line and exits 1 on refused input (click's own usage
errors exit 2); on success the last line of standard output is the created object's id
or the token's secret.
"""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from distro.core.config import ConfigError


def init_app(app: Flask) -> None:
    """Add every command group; each lives in a module of its own, named after it."""
    from distro.cli import (
        bundles,
        doctor,
        imports,
        init,
        installations,
        keys,
        licenses,
        mail,
        orgs,
        packages,
        products,
        storage,
        tokens,
        tuf,
        users,
        verify,
    )
    from distro.client import cli as client_cli

    for command in (
        init.init_command,
        doctor.doctor_command,
        init.demo_command,
        orgs.orgs,
        users.users,
        products.products,
        licenses.licenses,
        tokens.tokens_group,
        keys.keys_group,
        packages.packages,
        verify.verify,
        storage.storage_group,
        tuf.tuf_group,
        mail.worker_command,
        mail.mail_group,
        client_cli.fetch_command,
        imports.import_command,
        bundles.bundles_group,
        installations.installations_group,
    ):
        app.cli.add_command(command)


def _create_app():
    from distro.app import create_app

    return create_app()


def main() -> None:
    """Console script entry point."""
    group = FlaskGroup(
        create_app=_create_app,
        add_version_option=False,
        help="distro: patch, installer and license distribution server.",
    )
    from distro.cli.mirror import mirror_group

    group.add_command(mirror_group)  # runs without the vendor's app or settings
    try:
        group(prog_name="distro")
    except ConfigError as exc:  # raised while the app is built, before any command runs
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
