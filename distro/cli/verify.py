"""`distro verify`: offline checks of a package or a license file with a public key."""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

import click
from flask.cli import AppGroup

from distro.cli.errors import fail_cleanly
from distro.core.checksums import sha256_file
from distro.core.errors import ValidationError
from distro.licenses.licensefile import verify_file
from distro.signing import signer as signing

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
