"""Ed25519 signing and verification, canonical JSON and key files.

The only module that touches the signature primitives. Private keys are loaded from
`<kid>.pem` files (mode 0600) or from one PEM given in the environment; they are never
logged or returned, and `Signer.__repr__` shows only the key id.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from distro.core.errors import SignatureInvalid, ValidationError


def canonical_json(obj: Any) -> bytes:
    """Keys sorted, separators `,` and `:`, UTF-8, no trailing newline (contract §2)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hex characters of SHA-256 of the raw 32-byte public key (contract §4)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@dataclass(frozen=True)
class Signer:
    """A private key able to sign; `kid` names it in manifests and license files."""

    kid: str
    _private: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def from_private(cls, private: Ed25519PrivateKey) -> Signer:
        return cls(key_id(private.public_key()), private)

    @property
    def public_key_pem(self) -> str:
        return public_pem(self._private.public_key())

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)


def generate_key_file(keys_dir: Path) -> Signer:
    """Create a new private key file `<kid>.pem` readable by the owner only."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    signer = Signer.from_private(Ed25519PrivateKey.generate())
    pem = signer._private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = keys_dir / f"{signer.kid}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return signer


def load_private_pem(pem: bytes) -> Signer:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ValidationError("the signing key is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValidationError("the signing key is not an Ed25519 key")
    return Signer.from_private(key)


def load_key_dir(keys_dir: Path) -> dict[str, Signer]:
    """All private keys in the folder, by kid; files with loose permissions are refused."""
    signers: dict[str, Signer] = {}
    if not keys_dir.is_dir():
        return signers
    for path in sorted(keys_dir.glob("*.pem")):
        if path.stat().st_mode & 0o077:
            raise ValidationError(f"{path} must be readable by its owner only (chmod 600)")
        signer = load_private_pem(path.read_bytes())
        signers[signer.kid] = signer
    return signers


def load_public_pem(pem: bytes | str) -> Ed25519PublicKey:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise ValidationError("the key is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValidationError("the key is not an Ed25519 public key")
    return key


def verify(public_key: Ed25519PublicKey, data: bytes, signature: bytes) -> None:
    """Raise SignatureInvalid unless `signature` is the key's signature over `data`."""
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        raise SignatureInvalid(f"signature does not match (key {key_id(public_key)})") from None
