"""Package commands: publish, offline verification and store integrity."""

from __future__ import annotations

import base64
import binascii
import json
import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from tqdm import tqdm

from . import signing
from .audit import CLI
from .checksums import sha256_file
from .cli import fail_cleanly
from .db import get_session
from .errors import ValidationError
from .keys import active_signer
from .licenses.licensefile import verify_file
from .patches import integrity, services
from .resources import get_key_source, get_storage
from .storage import CHUNK

packages = AppGroup("packages", help="Packages.")


@packages.command("publish")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--product", required=True, metavar="CODE")
@click.option("--version", required=True)
@click.option("--kind", required=True, type=click.Choice(["patch", "feature_pack", "installer"]))
@click.option("--applies-to", metavar="RANGE")
@click.option("--notes", default="")
@fail_cleanly
def packages_publish(file: Path, product, version, kind, applies_to, notes):
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


verify = AppGroup("verify", help="Offline verification with a public key.")


def _read_signature(path: Path) -> bytes:
    raw = path.read_bytes()
    if len(raw) == 64:
        return raw
    try:
        decoded = base64.b64decode(raw.strip(), validate=True)
    except binascii.Error:
        decoded = b""
    if len(decoded) != 64:
        raise ValidationError(f"{path} holds neither a raw nor a base64 Ed25519 signature")
    return decoded


@verify.command("package")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--manifest", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--sig", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--key", required=True, type=click.Path(exists=True, path_type=Path))
@fail_cleanly
def verify_package(file: Path, manifest: Path, sig: Path, key: Path):
    """Check the manifest's signature, then FILE's size and SHA-256 against it."""
    public = signing.load_public_pem(key.read_bytes())
    data = manifest.read_bytes()
    signing.verify(public, data, _read_signature(sig))
    facts = json.loads(data)
    size = file.stat().st_size
    if size != facts["size"]:
        raise ValidationError(
            f"size mismatch: {file} has {size} bytes, the manifest says {facts['size']}"
        )
    digest = sha256_file(file)
    if digest != facts["sha256"]:
        raise ValidationError(
            f"sha256 mismatch: {file} hashes to {digest}, the manifest says {facts['sha256']}"
        )
    click.echo(f"OK: signature by {signing.key_id(public)}, size and sha256 match")
    click.echo(facts["id"])


@verify.command("license")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", required=True, type=click.Path(exists=True, path_type=Path))
@fail_cleanly
def verify_license(file: Path, key: Path):
    """Verify a license file and print its payload."""
    try:
        text = file.read_text("ascii")
    except UnicodeDecodeError:
        raise ValidationError(f"{file} is not an ASCII license file") from None
    payload = verify_file(text, signing.load_public_pem(key.read_bytes()))
    click.echo(json.dumps(payload, indent=2, sort_keys=True))
    click.echo(f"OK: license {payload['serial']} verified")
    click.echo(payload["id"])


storage_group = AppGroup("storage", help="Object store integrity.")


@storage_group.command("verify")
@fail_cleanly
def storage_verify():
    """Re-hash every stored package object; exit 1 if any is damaged or missing."""
    bad = total = 0
    for finding in integrity.verify_objects(get_session(), get_storage()):
        total += 1
        if finding.problem != "ok":
            bad += 1
            click.echo(
                f"{finding.problem.upper()}: {finding.key} (packages {', '.join(finding.packages)})"
            )
    click.echo(f"{total} objects checked, {bad} damaged or missing")
    if bad:
        sys.exit(1)


@storage_group.command("sweep")
@click.option("--delete", is_flag=True, help="remove the unreferenced objects")
@click.option(
    "--older-than",
    default=60,
    show_default=True,
    type=click.IntRange(0),
    help="minutes; younger leftovers may be uploads in flight and are kept",
)
@fail_cleanly
def storage_sweep(delete, older_than):
    """List (and with --delete remove) objects that no package points to."""
    storage, grace = get_storage(), timedelta(minutes=older_than)
    found = removed = 0
    for orphan in integrity.find_orphans(get_session(), storage, grace):
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


COMMANDS = (packages, verify, storage_group)
