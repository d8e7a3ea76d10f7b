"""The license file format (contract §3): an armoured, signed, canonical-JSON payload.

    -----BEGIN LICENSE FILE-----
    base64 of {"alg": "ed25519", "kid": KID, "data": base64(payload), "sig": base64(sig)}
    -----END LICENSE FILE-----

Lines are at most 64 characters. The signature covers the payload bytes exactly.
"""

from __future__ import annotations

import base64
import binascii
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from distro.core.errors import SignatureInvalid, ValidationError
from distro.signing.signer import Signer, canonical_json, key_id, verify

BEGIN = "-----BEGIN LICENSE FILE-----"
END = "-----END LICENSE FILE-----"


def encode(payload: dict, signer: Signer) -> tuple[bytes, str]:
    """Sign `payload`; returns the payload bytes and the armoured file text."""
    data = canonical_json(payload)
    envelope = canonical_json(
        {
            "alg": "ed25519",
            "kid": signer.kid,
            "data": base64.b64encode(data).decode(),
            "sig": base64.b64encode(signer.sign(data)).decode(),
        }
    )
    armoured = base64.b64encode(envelope).decode()
    body = [armoured[start : start + 64] for start in range(0, len(armoured), 64)]
    return data, "\n".join([BEGIN, *body, END]) + "\n"


def decode(text: str) -> tuple[dict, bytes, bytes]:
    """Split a license file into its envelope, payload bytes and signature; no checking
    of the signature yet. A damaged file raises ValidationError saying where."""
    lines = [line.strip() for line in text.strip().splitlines()]
    if len(lines) < 3 or lines[0] != BEGIN or lines[-1] != END:
        raise ValidationError("not a license file: the BEGIN/END LICENSE FILE lines are missing")
    if any(len(line) > 64 for line in lines[1:-1]):
        raise ValidationError("not a license file: a line is longer than 64 characters")
    body = "".join(lines[1:-1])
    try:
        raw = base64.b64decode(body, validate=True)
        envelope = json.loads(raw)
        data = base64.b64decode(envelope["data"], validate=True)
        sig = base64.b64decode(envelope["sig"], validate=True)
        if envelope.get("alg") != "ed25519" or not isinstance(envelope.get("kid"), str):
            raise ValueError
        # Base64 tolerates changes in its padding bits; re-encoding catches those, so
        # that any changed character is refused, not only the ones that alter bytes.
        if (
            _b64(raw) != body
            or _b64(data) != envelope["data"]
            or _b64(sig) != envelope["sig"]
            or canonical_json(envelope) != raw
        ):
            raise ValueError
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ValidationError("the license file is damaged: its envelope cannot be read") from None
    return envelope, data, sig


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def verify_file(text: str, public_key: Ed25519PublicKey) -> dict:
    """Verify a license file against a public key; returns the payload."""
    envelope, data, sig = decode(text)
    if envelope["kid"] != key_id(public_key):
        raise SignatureInvalid(
            f"the license was signed by key {envelope['kid']}, "
            f"not by the given key {key_id(public_key)}"
        )
    verify(public_key, data, sig)
    try:
        payload = json.loads(data)
    except ValueError:
        raise ValidationError("the license payload is not JSON") from None
    if canonical_json(payload) != data or payload.get("type") != "license":
        raise ValidationError("the license payload is not a canonical license object")
    return payload
