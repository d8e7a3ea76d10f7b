"""Signing-key lifecycle: the first key, rotation, the public list and the active signer.

Public halves live in the database so every app process lists the same keys; private
halves live in the key folder (or one PEM in `DISTRO_SIGNING_KEY`). The active signer is
the newest key that is not retired and whose private half this process holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from distro.core.clock import rfc3339, utcnow
from distro.core.errors import DistroError
from distro.signing import signer as signing
from distro.signing.models import SigningKey


@dataclass(frozen=True)
class KeySource:
    """Where this process finds private keys."""

    keys_dir: Path
    env_pem: str | None = None

    @classmethod
    def from_config(cls, config: dict) -> KeySource:
        return cls(Path(config["SIGNING_KEYS_DIR"]), config.get("SIGNING_KEY") or None)

    def private_keys(self) -> dict[str, signing.Signer]:
        signers = signing.load_key_dir(self.keys_dir)
        if self.env_pem:
            env_signer = signing.load_private_pem(self.env_pem.encode())
            signers[env_signer.kid] = env_signer
        return signers


class NoSigningKey(DistroError):
    code = "no_signing_key"
    status = 503


def _register(session: Session, signer: signing.Signer) -> SigningKey:
    row = session.get(SigningKey, signer.kid)
    if row is None:
        row = SigningKey(kid=signer.kid, public_key_pem=signer.public_key_pem)
        session.add(row)
    return row


def ensure_signing_key(session: Session, source: KeySource) -> tuple[SigningKey, bool]:
    """Register the private keys this process holds; create the first one if there is none.

    Returns the active key and whether a new key file was created. The caller commits.
    """
    created = False
    held = source.private_keys()
    if not held:
        signer = signing.generate_key_file(source.keys_dir)
        held = {signer.kid: signer}
        created = True
    for signer in held.values():
        _register(session, signer)
    session.flush()
    return active_key_row(session, held), created


def rotate_key(session: Session, source: KeySource) -> SigningKey:
    """Add a new signing key and retire the others for signing (they stay listed)."""
    signer = signing.generate_key_file(source.keys_dir)
    now = utcnow()
    for row in session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
        row.retired_at = now
    row = _register(session, signer)
    session.flush()
    return row


def list_keys(session: Session) -> list[SigningKey]:
    return list(session.scalars(select(SigningKey).order_by(SigningKey.created_at.desc())))


def active_key_row(session: Session, held: dict[str, signing.Signer]) -> SigningKey:
    rows = session.scalars(
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None), SigningKey.kid.in_(list(held)))
        .order_by(SigningKey.created_at.desc())
    ).all()
    if not rows:
        raise NoSigningKey(
            "no usable signing key: run 'distro init' or 'distro keys rotate' on this host, "
            "or set DISTRO_SIGNING_KEY"
        )
    return rows[0]


def active_signer(session: Session, source: KeySource) -> signing.Signer:
    """The signer to use now; raises NoSigningKey if this process holds none."""
    held = source.private_keys()
    return held[active_key_row(session, held).kid]


def key_json(row: SigningKey) -> dict:
    return {
        "kid": row.kid,
        "alg": row.alg,
        "public_key_pem": row.public_key_pem,
        "created_at": rfc3339(row.created_at),
        "retired_at": rfc3339(row.retired_at) if row.retired_at else None,
    }


def init_app(app: Flask) -> None:
    app.extensions["distro.keys"] = KeySource.from_config(app.config)


def get_key_source() -> KeySource:
    """The app's key source, built once from `DISTRO_SIGNING_KEYS_DIR`/`DISTRO_SIGNING_KEY`."""
    return current_app.extensions["distro.keys"]


def lazy_signer(session: Session) -> Callable[[], signing.Signer]:
    """The app's active signer, loaded only if a use case turns out to sign."""
    return lambda: active_signer(session, get_key_source())
