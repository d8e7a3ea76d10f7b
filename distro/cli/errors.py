"""How every command fails: one `error: ...` line on stderr and exit 1, never a traceback."""

from __future__ import annotations

import functools
import sys

import click
from sqlalchemy.exc import SQLAlchemyError

from distro.core.errors import DistroError


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
