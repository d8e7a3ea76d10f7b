"""`distro packages publish`: hash, upload and sign a package from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from tqdm import tqdm

from distro.accounts.actor import CLI
from distro.cli.errors import fail_cleanly
from distro.core.checksums import sha256_file
from distro.core.db import get_session
from distro.core.parsers import SEVERITIES
from distro.patches import services
from distro.signing.keys import active_signer, get_key_source
from distro.storage.base import CHUNK
from distro.storage.factory import get_storage

packages = AppGroup("packages", help="Packages.")


@packages.command("publish")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--product", required=True, metavar="CODE")
@click.option("--version", required=True)
@click.option("--kind", required=True, type=click.Choice(["patch", "feature_pack", "installer"]))
@click.option("--applies-to", metavar="RANGE")
@click.option("--notes", default="")
@click.option("--defect", "defects", multiple=True, metavar="ID=TITLE", help="Repeatable.")
@click.option("--modules", default="", metavar="CODES", help="Comma list of module codes.")
@click.option("--severity", default="none", type=click.Choice(SEVERITIES), help="Default: none.")
@click.option("--cve", "cves", multiple=True, metavar="CVE-ID", help="Repeatable.")
@fail_cleanly
def packages_publish(
    file: Path, product, version, kind, applies_to, notes, defects, modules, severity, cves
):
    """Stream FILE to the store while hashing it, sign it and publish it."""
    session, storage = get_session(), get_storage()
    # Hashing the local file first lets the bytes go straight to their content key
    # (no copy of the whole object inside the store); the upload is hashed again.
    fields = services.check_fields(
        session,
        product=product,
        version=version,
        kind=kind,
        filename=file.name,
        applies_to=applies_to,
        notes=notes,
        defects="\n".join(defects),
        modules=modules,
        severity=severity,
        cves=list(cves),
        sha256=sha256_file(file),
    )
    signer = active_signer(session, get_key_source())
    writer = services.open_upload(
        session,
        storage,
        {"sha256": fields.sha256},
        file.name,
        current_app.config["MAX_UPLOAD_BYTES"],
    )
    try:
        with (
            file.open("rb") as source,
            tqdm(
                total=file.stat().st_size,
                unit="B",
                unit_scale=True,
                desc=file.name,
                disable=not sys.stderr.isatty(),
            ) as bar,
        ):
            while chunk := source.read(CHUNK):
                writer.write(chunk)
                bar.update(len(chunk))
        package = services.publish_package(session, storage, signer, CLI, fields, writer)
        session.commit()
    except BaseException:
        session.rollback()
        writer.abort()
        raise
    click.echo(f"published {product} {version} {kind} {file.name}: sha256 {package.sha256}")
    click.echo(package.id)
