"""`distro bundles export`: an offline bundle for one organisation, written to a folder;
its sequence number is the last line printed."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from distro.accounts import services as accounts
from distro.accounts.actor import CLI
from distro.bundles import export
from distro.bundles.destinations import FolderDestination
from distro.bundles.format import MIB, PART_MIB
from distro.cli.errors import fail_cleanly
from distro.cli.params import WholeNumber
from distro.core.db import get_session
from distro.core.errors import ValidationError
from distro.signing.keys import get_key_source
from distro.storage.factory import get_storage

bundles_group = AppGroup("bundles", help="Offline bundles for sites without a connection.")


@bundles_group.command("export")
@click.option("--org", "org_code", required=True, help="the organisation's code")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="folder to write into (created; must hold no files of this bundle)",
)
@click.option("--since", type=WholeNumber(1, 10**9), help="only what is new since bundle SEQ")
@click.option(
    "--part-mib",
    type=WholeNumber(1, 1024 * 1024),
    default=PART_MIB,
    show_default=True,
    help="largest part in MiB (4096 fits FAT32 and DVDs)",
)
@fail_cleanly
def bundles_export(org_code, out, since, part_mib):
    """Everything the organisation may download (only what is new since bundle SEQ with
    --since), its license files, ring approvals and TUF metadata, in signed parts."""
    session = get_session()
    org = accounts.find_org(session, org_code)
    signing = export.signing_for(session, get_key_source(), current_app.config)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError(f"cannot create {out}: {exc.strerror}") from None
    bundle = export.reserve(session, CLI, org, since, destination="folder")
    try:
        files = export.build(
            session, get_storage(), signing, CLI, bundle, FolderDestination(out), part_mib * MIB
        )
    except OSError as exc:  # a full disk, a folder that vanished: the bundle is failed
        raise ValidationError(f"bundle {bundle.seq} not written: {exc.strerror or exc}") from None
    for written in files:
        click.echo(f"{written.name} {written.size} bytes")
    click.echo(bundle.seq)
