"""What a mirror believes, and why: the vendor keys it trusts, and TUF metadata that
never goes back.

Keys. `init` pins one vendor key. A bundle signed by a newer key (after `distro keys
rotate`) carries that key and endorsements of it: the statement `{"type": "key", "kid",
"public_key_pem"}` signed by the vendor's older keys. The mirror trusts the new key when
a key it already trusts endorsed it, as a TUF root rotation is signed by the old root;
a bundle signed by a key nobody it trusts endorsed is refused (SECURITY.md).

TUF. The mirror serves the vendor's metadata as it is, so it checks it as a TUF client
would before taking it in: each new root is signed by the one before it and by itself,
versions are consecutive, and the other roles verify against the newest root (line roles
against targets) and never go back in version.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime

from tuf.api.exceptions import UnsignedMetadataError
from tuf.api.metadata import Metadata

from distro.bundles.format import BundleInvalid, key_statement
from distro.core.errors import SignatureInvalid, ValidationError
from distro.signing.signer import key_id, load_public_pem, verify

_VERSIONED = re.compile(r"([1-9][0-9]{0,9})\.([a-z0-9.]{1,40})\.json", re.ASCII)


def signing_key(manifest_body: bytes, signature: bytes, trusted: dict[str, str]) -> tuple[str, str]:
    """(kid, PEM) of the key that signed the manifest, one the mirror trusts or one a
    trusted key endorsed; BundleInvalid otherwise. Reads the manifest's key fields only
    to find the key: nothing else of it is believed before its signature verified."""
    try:
        raw_signature = base64.b64decode(signature, validate=True)
    except ValueError:
        raise BundleInvalid("the manifest's signature file is not base64") from None
    for kid, pem in trusted.items():
        if _verifies(pem, manifest_body, raw_signature):
            return kid, pem
    claimed = _claimed_key(manifest_body)
    if claimed is None or claimed[0] in trusted:
        raise BundleInvalid(
            "the manifest's signature does not verify with the vendor keys this mirror trusts"
        )
    kid, pem, endorsements = claimed
    if not any(
        endorsement.get("by") in trusted
        and _verifies(trusted[endorsement["by"]], key_statement(kid, pem), _b64(endorsement))
        for endorsement in endorsements
    ):
        raise BundleInvalid(
            f"the bundle is signed by key {kid}, which no key this mirror trusts vouched for"
        )
    if not _verifies(pem, manifest_body, raw_signature):
        raise BundleInvalid(f"the manifest's signature does not verify with key {kid}")
    return kid, pem


def _claimed_key(manifest_body: bytes):
    try:
        manifest = json.loads(manifest_body)
        key = manifest["signer"]
        kid, pem = key["kid"], key["public_key_pem"]
        if not isinstance(pem, str) or key_id(load_public_pem(pem)) != kid:
            return None
        return kid, pem, [e for e in key.get("endorsements", []) if isinstance(e, dict)]
    except (ValueError, KeyError, TypeError, ValidationError):
        return None


def _b64(endorsement: dict) -> bytes:
    try:
        return base64.b64decode(endorsement.get("sig", ""), validate=True)
    except (ValueError, TypeError):
        return b""


def _verifies(pem: str, data: bytes, signature: bytes) -> bool:
    try:
        verify(load_public_pem(pem), data, signature)
    except (SignatureInvalid, ValidationError):
        return False
    return True


def check_tuf(
    product: str, held: dict[str, tuple[int, bytes]], incoming: dict[str, bytes], now: datetime
) -> None:
    """Check a product's incoming metadata files (name -> bytes) against what the mirror
    holds (role -> (version, bytes)) as a TUF client would, expiry at `now` included:
    the site's installers would refuse what expired. BundleInvalid names the file."""
    roots = sorted(
        (int(m.group(1)), body)
        for name, body in incoming.items()
        if (m := _VERSIONED.fullmatch(name)) and m.group(2) == "root"
    )
    root = load(product, "root", held["root"][1]) if "root" in held else None
    for version, body in roots:
        if root is not None and version <= root.signed.version:
            continue
        new = load(product, f"{version}.root.json", body)
        if root is not None and version != root.signed.version + 1:
            raise BundleInvalid(
                f"TUF root of {product} jumps from {root.signed.version} to {version}"
            )
        try:
            if root is not None:
                root.verify_delegate("root", new)
            new.verify_delegate("root", new)
        except UnsignedMetadataError:
            raise BundleInvalid(
                f"TUF {version}.root.json of {product} is not signed by its roots"
            ) from None
        root = new
    if root is None:
        raise BundleInvalid(f"the bundle holds no TUF root of {product}")
    targets = load(product, "targets", held["targets"][1]) if "targets" in held else None
    newest: dict[str, tuple[str, Metadata]] = {}  # role -> its newest incoming file
    for name, body in sorted(incoming.items(), key=lambda item: _order(item[0])):
        role = role_of(name)
        if role == "root":
            continue
        metadata = load(product, name, body)
        delegator = targets if role not in ("timestamp", "snapshot", "targets") else root
        try:
            delegator.verify_delegate(role, metadata)
        except (UnsignedMetadataError, ValueError, AttributeError):
            raise BundleInvalid(f"TUF {name} of {product} does not verify") from None
        if role in held and metadata.signed.version < held[role][0]:
            raise BundleInvalid(
                f"TUF {role} of {product} would go back from version {held[role][0]} "
                f"to {metadata.signed.version}"
            )
        if role == "targets":
            targets = metadata
        if role not in newest or metadata.signed.version > newest[role][1].signed.version:
            newest[role] = (name, metadata)
    for name, metadata in [(f"{root.signed.version}.root.json", root), *newest.values()]:
        if metadata.signed.is_expired(now):
            raise BundleInvalid(
                f"TUF {name} of {product} expired on {metadata.signed.expires:%Y-%m-%d}: the "
                "site's installers would refuse it (export a new bundle)"
            )


def role_of(name: str) -> str:
    if name == "timestamp.json":
        return "timestamp"
    match = _VERSIONED.fullmatch(name)
    if not match:
        raise BundleInvalid(f"{name} is not a TUF metadata file name")
    return match.group(2)


def _order(name: str) -> int:
    """Top-level roles before the line roles they delegate to."""
    return {"root": 0, "timestamp": 1, "snapshot": 2, "targets": 3}.get(role_of(name), 4)


def load(product: str, name: str, body: bytes) -> Metadata:
    try:
        return Metadata.from_bytes(body)
    except Exception:  # python-tuf raises several kinds for a file that is not metadata
        raise BundleInvalid(f"TUF {name} of {product} is not TUF metadata") from None
