"""Single-use secrets mailed as links (password resets, invitations): made here, kept
only as SHA-256, looked up by that hash."""

from __future__ import annotations

import hashlib
import secrets

_MAX_LENGTH = 100


def new_link_token() -> tuple[str, str]:
    """A fresh (token, its hash); the token goes into the mail, the hash into the row."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: object) -> str | None:
    """The hash to look a presented token up by; None for anything that cannot be one."""
    if not isinstance(token, str) or not token.isascii() or not 0 < len(token) <= _MAX_LENGTH:
        return None
    return hashlib.sha256(token.encode("ascii")).hexdigest()
