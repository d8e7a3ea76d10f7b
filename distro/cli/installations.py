"""`distro installations import`: an offline site's reports, from its mirror's file."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from distro.accounts import services as accounts
from distro.accounts.actor import CLI
from distro.cli.errors import fail_cleanly
from distro.core.db import get_session
from distro.core.errors import ValidationError
from distro.installations import offline

installations_group = AppGroup("installations", help="Customers' installations.")


@installations_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--org", "org_code", required=True, help="the organisation the site belongs to")
@fail_cleanly
def installations_import(file, org_code):
    """Take in the reports file `distro mirror reports` wrote at the site; a report
    imported before counts once. Prints how many were new, last."""
    session = get_session()
    org = accounts.find_org(session, org_code)
    with file.open("rb") as handle:
        raw = handle.read(offline.MAX_FILE_BYTES + 1)
    if not raw:
        raise ValidationError(f"{file} is empty")
    result = offline.import_reports(session, CLI, org, raw)
    session.commit()
    click.echo(f"{result.new} reports imported, {result.repeated} imported before")
    click.echo(result.new)
