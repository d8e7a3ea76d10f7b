"""`distro import orgs|users|licenses FILE`: a vendor's customer base from CSV (with a
header row) or JSON lines, all or nothing per file, idempotent on re-run."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from tqdm import tqdm

from distro.accounts.actor import CLI
from distro.cli.errors import fail_cleanly
from distro.core.db import get_session
from distro.core.tables import Report
from distro.licenses.imports import KINDS, run_import
from distro.signing.keys import lazy_signer


@click.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
@fail_cleanly
def import_command(kind: str, file: Path):
    """Create the organisations, users or licenses of FILE that do not exist yet."""
    session = get_session()
    with file.open(encoding="utf-8-sig", newline="") as stream:
        rows = sum(1 for _ in stream)
        stream.seek(0)
        bar = tqdm(total=max(rows - 1, 0), unit="row", disable=not sys.stderr.isatty())
        with bar:
            report = run_import(session, CLI, kind, stream, lazy_signer(session), bar.update)
    print_report(report)


def print_report(report: Report) -> None:
    for error in report.errors:
        click.echo(f"{report.kind}: {error}", err=True)
    for note in report.notes[:20]:
        click.echo(f"{report.kind}: {note}", err=True)
    if report.error_count:
        more = report.error_count - len(report.errors)
        tail = f" ({more} more not listed)" if more else ""
        click.echo(f"error: {report.error_count} bad rows{tail}; nothing was imported", err=True)
        sys.exit(1)
    click.echo(
        f"{report.kind}: {report.rows} rows, {report.created} created, {report.existing} existing"
    )
