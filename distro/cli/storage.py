"""`distro storage`: re-hash stored packages and sweep unreferenced objects."""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import select

from distro.bundles.models import BundleFile
from distro.cli.errors import fail_cleanly
from distro.cli.params import WholeNumber
from distro.core.db import get_session
from distro.migrations.ascii import non_ascii_values
from distro.patches import integrity
from distro.storage.factory import get_storage

storage_group = AppGroup("storage", help="Object store integrity.")


@storage_group.command("verify")
@fail_cleanly
def storage_verify():
    """Re-hash every stored package object and check that stored codes and versions are
    ASCII; exit 1 if any object is damaged or missing or any value is not ASCII."""
    bad = total = 0
    for finding in integrity.verify_objects(get_session(), get_storage()):
        total += 1
        if finding.problem != "ok":
            bad += 1
            click.echo(
                f"{finding.problem.upper()}: {finding.key} (packages {', '.join(finding.packages)})"
            )
    click.echo(f"{total} objects checked, {bad} damaged or missing")
    non_ascii = non_ascii_values(get_session().connection())
    for value in non_ascii:
        click.echo(f"NOT ASCII: {value}")
    if non_ascii:
        click.echo(f"{len(non_ascii)} stored codes or versions are not ASCII (see above)")
    if bad or non_ascii:
        sys.exit(1)


@storage_group.command("sweep")
@click.option("--delete", is_flag=True, help="remove the unreferenced objects")
@click.option(
    "--older-than",
    default=60,
    show_default=True,
    type=WholeNumber(0, 10 * 365 * 24 * 60),
    help="minutes; younger leftovers may be uploads in flight and are kept",
)
@fail_cleanly
def storage_sweep(delete, older_than):
    """List (and with --delete remove) objects that no package points to."""
    storage, grace = get_storage(), timedelta(minutes=older_than)
    found = removed = 0
    session = get_session()
    bundle_files = session.scalars(select(BundleFile.storage_key))
    for orphan in integrity.find_orphans(session, storage, grace, bundle_files):
        found += 1
        action = "kept (recent)" if orphan.recent else ("deleted" if delete else "unreferenced")
        if delete and not orphan.recent:
            storage.delete(orphan.obj.key)
            removed += 1
        click.echo(
            f"{action}: {orphan.obj.key} {orphan.obj.size} bytes "
            f"modified {orphan.obj.modified:%Y-%m-%dT%H:%M:%SZ}"
        )
    for key in storage.abort_stale_multipart(grace, dry_run=not delete):
        found += 1
        click.echo(f"{'aborted' if delete else 'unfinished'} multipart upload: {key}")
    click.echo(f"{found} unreferenced, {removed} deleted")
