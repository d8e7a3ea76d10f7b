"""`distro doctor`: every setting in effect (secrets masked), then one line per check of
what the service depends on; exit 1 if any check fails."""

from __future__ import annotations

import smtplib
import sys
from urllib.parse import urlsplit, urlunsplit

import click
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from distro.cli.errors import fail_cleanly
from distro.core.clock import rfc3339
from distro.core.config import DEV_SECRET_KEY, default_config, smtp_settings
from distro.core.db import get_session
from distro.core.errors import DistroError
from distro.core.limits import limiter
from distro.mail import smtp
from distro.mail.outbox import backlog
from distro.migrations import alembic_config
from distro.migrations.ascii import non_ascii_values
from distro.signing.keys import active_signer, get_key_source
from distro.signing.tuf import root_signers
from distro.storage.factory import get_storage

SECRETS = ("SECRET_KEY", "SIGNING_KEY", "METRICS_TOKEN")
URLS = ("DATABASE_URL", "RATELIMIT_STORAGE_URI", "SMTP_URL", "STORAGE_URL")


def masked(name: str, value: object) -> str:
    """The value as an operator may see it: secrets hidden, passwords out of URLs."""
    if value in (None, ""):
        return "(not set)"
    if name in SECRETS:
        return "*** (the development value!)" if value == DEV_SECRET_KEY else "*** (set)"
    if name in URLS and isinstance(value, str):
        parts = urlsplit(value)
        if parts.password:
            netloc = f"{parts.username}:***@{parts.hostname}" + (
                f":{parts.port}" if parts.port else ""
            )
            return urlunsplit(parts._replace(netloc=netloc))
    return str(value)


def _database() -> str:
    session = get_session()
    session.execute(text("SELECT 1"))
    current = MigrationContext.configure(session.connection()).get_current_revision()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if current != head:
        raise DistroError(f"schema at revision {current}, code expects {head}: run 'distro init'")
    return f"reachable, schema at revision {current}"


def _store() -> str:
    get_storage().check()
    return "reachable and writable"


def _keys() -> str:
    source = get_key_source()
    signer = active_signer(get_session(), source)
    roots = len(root_signers(source.keys_dir))
    where = f"{roots} TUF root key(s) here" if roots else "TUF root keys not on this host"
    return f"active signing key {signer.kid} held; {where}"


def _rate_limits() -> str:
    storage = limiter.limiter.storage
    if not storage.check():
        raise DistroError("the rate-limit store does not answer (requests run unthrottled)")
    return f"{type(storage).__name__} answers"


def _smtp() -> str:
    url = current_app.config.get("SMTP_URL")
    waiting, oldest = backlog(get_session())
    queue = f"{waiting} message(s) waiting" + (f" since {rfc3339(oldest)}" if oldest else "")
    if not url:
        return f"not configured: mail stays in the outbox ({queue})"
    settings = smtp_settings(url)
    try:
        smtp.check(settings)
    except (smtplib.SMTPException, OSError) as exc:
        raise DistroError(f"{settings.host}:{settings.port} does not answer: {exc}") from None
    return f"{settings.host}:{settings.port} answers ({settings.security}); {queue}"


def _stored_values() -> str:
    found = non_ascii_values(get_session().connection())
    if found:
        raise DistroError(f"{len(found)} stored codes or versions are not ASCII: {found[0]}")
    return "codes, versions and e-mail addresses are ASCII"


CHECKS = (
    ("database", _database),
    ("store", _store),
    ("keys", _keys),
    ("rate limits", _rate_limits),
    ("smtp", _smtp),
    ("stored values", _stored_values),
)


@click.command("doctor")
@with_appcontext
@fail_cleanly
def doctor_command():
    """Print the settings in effect and check database, store, keys, rate limits, SMTP."""
    config = current_app.config
    click.echo("settings:")
    for name in sorted(default_config()):
        click.echo(f"  DISTRO_{name}={masked(name, config.get(name))}")
    click.echo("checks:")
    failed = 0
    for label, check in CHECKS:
        try:
            click.echo(f"  ok    {label}: {check()}")
        except (DistroError, SQLAlchemyError, OSError) as exc:
            get_session().rollback()
            failed += 1
            message = exc.message if isinstance(exc, DistroError) else type(exc).__name__
            click.echo(f"  FAIL  {label}: {message}")
    click.echo(f"{len(CHECKS) - failed} of {len(CHECKS)} checks passed")
    if failed:
        sys.exit(1)
