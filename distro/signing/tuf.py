"""Our Ed25519 keys as TUF signers and keys (securesystemslib), and the TUF root keys.

The root role's keys live in `<DISTRO_SIGNING_KEYS_DIR>/tuf-root/` (owner-only PEM files,
like the signing keys beside them). They sign only root metadata: the first version of
each product's repository and the next one at every rotation, so the folder can be kept
on another host and brought back for `distro keys rotate`. The online key that signs
targets, snapshot and timestamp is the active signing key (the one that signs manifests).
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from securesystemslib.signer import CryptoSigner, SSlibKey

from distro.signing.signer import Signer, generate_key_file, load_key_dir

ROOT_FOLDER = "tuf-root"


def derived_key(signer: Signer, purpose: str) -> Signer:
    """A key for one purpose (a product's root or online role), derived from `signer`
    with HKDF-SHA256 over its private seed.

    Every product's repository thus has keys of its own, and metadata of one product
    never verifies under another product's root, although one key file serves them all
    and one rotation rotates them all.
    """
    seed = signer._private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"distro-tuf/{purpose}".encode()
    ).derive(seed)
    return Signer.from_private(Ed25519PrivateKey.from_private_bytes(derived))


def tuf_key(signer: Signer) -> SSlibKey:
    """The public half in TUF's form; its keyid is TUF's (SHA-256 of the key's JSON)."""
    return SSlibKey.from_crypto(signer._private.public_key())


def tuf_signer(signer: Signer) -> CryptoSigner:
    return CryptoSigner(signer._private, tuf_key(signer))


def root_folder(keys_dir: Path) -> Path:
    return keys_dir / ROOT_FOLDER


def root_signers(keys_dir: Path) -> dict[str, Signer]:
    """The root keys this host holds, by kid (none when they are kept elsewhere)."""
    return load_key_dir(root_folder(keys_dir))


def ensure_root_key(keys_dir: Path, threshold: int = 1) -> dict[str, Signer]:
    """The root keys, creating as many as the threshold needs on a new installation."""
    held = root_signers(keys_dir)
    if not held:
        for _ in range(threshold):
            signer = generate_key_file(root_folder(keys_dir))
            held[signer.kid] = signer
    return held


def new_root_key(keys_dir: Path) -> Signer:
    return generate_key_file(root_folder(keys_dir))
