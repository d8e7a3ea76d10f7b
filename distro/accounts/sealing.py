"""Sealing secrets the service must read back (an authenticator app's TOTP secret):
AES-256-GCM under a key derived from `DISTRO_SECRET_KEY` with HKDF, so that a copy of
the database alone does not give them away. Rotating the secret key makes sealed
secrets unreadable: their owners enrol their app again (recovery codes still work)."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class Sealer:
    def __init__(self, secret_key: str, purpose: str = "totp"):
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=f"distro-seal/{purpose}".encode(),
        ).derive(secret_key.encode())
        self._aead = AESGCM(key)

    def seal(self, text: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, text.encode(), None)
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def unseal(self, sealed: str) -> str | None:
        """The text, or None when it was sealed under another key (or tampered with)."""
        try:
            raw = base64.urlsafe_b64decode(sealed.encode())
            return self._aead.decrypt(raw[:12], raw[12:], None).decode()
        except (InvalidTag, ValueError):
            return None
