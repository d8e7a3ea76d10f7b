"""The `distro` command line (contract §6): a Flask CLI group over the same services.

Every command prints one clear line and exits 1 on refused input (click's own usage
errors exit 2); on success the last line of standard output is the created object's id
or the token's secret.
"""

from __future__ import annotations

import functools
import sys

import click
from flask import Flask
from flask.cli import FlaskGroup
from sqlalchemy.exc import SQLAlchemyError

from .config import ConfigError
from .errors import DistroError


def fail_cleanly(command):
    """Turn domain errors into one line on stderr and exit 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except DistroError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(1)
        except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
            click.echo(f"error: {exc.strerror}: {exc.filename}", err=True)
            sys.exit(1)
        except SQLAlchemyError as exc:
            click.echo(
                f"error: database: {type(exc).__name__}; is DISTRO_DATABASE_URL right "
                "and has 'distro init' run?",
                err=True,
            )
            sys.exit(1)

    return wrapper


def init_app(app: Flask) -> None:
    from . import cli_admin, cli_fetch, cli_packages

    for group in (*cli_admin.COMMANDS, *cli_packages.COMMANDS, *cli_fetch.COMMANDS):
        app.cli.add_command(group)


def _create_app():
    from . import create_app

    return create_app()


def main() -> None:
    """Console script entry point."""
    group = FlaskGroup(
        create_app=_create_app,
        add_version_option=False,
        help="distro: patch, installer and license distribution server.",
    )
    try:
        group(prog_name="distro")
    except ConfigError as exc:  # raised while the app is built, before any command runs
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
