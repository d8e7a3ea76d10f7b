"""Installer client: fetch an update path or an installer, resume, verify, never keep a
tampered byte.

Usable without the server's dependencies on Flask or a database::

    from distro.client import DistroClient, load_keys
    client = DistroClient("https://dist.example.com", token, keys=load_keys(["vendor.pem"]))
    for fetched in client.fetch_updates("erp", "9.0", dest=Path("updates")):
        print(fetched.path, fetched.package["version"])

Each file is downloaded to `NAME.part`, resumed with `Range`/`If-Range` after an
interruption, and renamed to `NAME` only after its size and SHA-256 match a manifest
whose Ed25519 signature verifies with a pinned key. `NAME.manifest.json` and `NAME.sig`
(raw signature, as `openssl pkeyutl -sigfile` wants it) are written beside it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from distro.core.checksums import sha256_file
from distro.core.errors import DistroError
from distro.patches.updateplan import plan_path
from distro.signing.signer import key_id, load_public_pem, verify

CHUNK = 1024 * 1024
PINNED_KEYS_FILE = "trusted-keys.json"


class FetchError(DistroError):
    """Anything that stops a fetch; the message names the package and the failed check."""

    code = "fetch_failed"


@dataclass(frozen=True)
class Fetched:
    package: dict
    path: Path
    resumed_from: int  # bytes already on disk before this run
    downloaded: int  # bytes received in this run


Progress = Callable[[dict, int, int], None]  # (package, bytes so far, total)


def load_keys(paths: list[Path | str]) -> dict[str, Ed25519PublicKey]:
    keys = {}
    for path in paths:
        key = load_public_pem(Path(path).read_bytes())
        keys[key_id(key)] = key
    return keys


class DistroClient:
    def __init__(
        self,
        server: str,
        token: str,
        keys: dict[str, Ed25519PublicKey],
        session: requests.Session | None = None,
        timeout: float = 60,
    ):
        self.server = server.rstrip("/")
        self.keys = keys
        self.timeout = timeout
        self.http = session or requests.Session()  # honours HTTP(S)_PROXY and NO_PROXY
        self.http.headers["Authorization"] = f"Bearer {token}"

    # -- asking the server --------------------------------------------------------
    def _get_json(self, path: str, **params) -> dict:
        try:
            answer = self.http.get(
                f"{self.server}/api/v1{path}", params=params, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise FetchError(f"cannot reach {self.server}: {exc}") from None
        if answer.status_code != 200:
            raise FetchError(f"GET {path} answered {answer.status_code}: {_message(answer)}")
        return answer.json()

    def update_plan(
        self, product: str, from_version: str, to_version: str | None = None
    ) -> list[dict]:
        """The server's plan; with `to_version`, the same rule applied up to that version."""
        if to_version is None:
            return self._get_json(f"/products/{product}/updates", **{"from": from_version})["items"]
        steps = [p for p in self.packages(product) if p["kind"] != "installer"]
        plan = plan_path(
            steps,
            from_version,
            version=lambda p: p["version"],
            applies_to=lambda p: p["applies_to"],
            tiebreak=lambda p: (p["published_at"], p["id"]),
            target=to_version,
        )
        if not plan or plan[-1]["version"] != to_version:
            reached = plan[-1]["version"] if plan else from_version
            raise FetchError(
                f"no update path from {from_version} reaches {to_version} "
                f"(the furthest is {reached})"
            )
        return plan

    def packages(self, product: str, **filters) -> Iterator[dict]:
        cursor = None
        while True:
            params = {"limit": 500, **filters, **({"cursor": cursor} if cursor else {})}
            page = self._get_json(f"/products/{product}/packages", **params)
            yield from page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return

    def installer(self, product: str, version: str) -> dict:
        for package in self.packages(product, kind="installer", version=version):
            return package
        raise FetchError(f"no installer of {product} {version} is available to this token")

    # -- fetching and verifying ---------------------------------------------------
    def verified_manifest(self, package: dict) -> tuple[dict, bytes, bytes]:
        """Fetch the signed manifest and check it with a pinned key and against `package`."""
        detail = self._get_json(f"/packages/{package['id']}")
        manifest, signature = detail["manifest"].encode(), base64.b64decode(detail["signature"])
        label = _label(package)
        key = self.keys.get(detail["kid"])
        if key is None:
            raise FetchError(
                f"{label}: manifest is signed by key {detail['kid']}, which is not "
                f"one of the trusted keys ({', '.join(self.keys) or 'none'})"
            )
        try:
            verify(key, manifest, signature)
        except DistroError:
            raise FetchError(f"{label}: manifest signature check failed") from None
        facts = json.loads(manifest)
        for field in ("id", "product", "version", "kind", "sha256", "size", "filename"):
            if facts.get(field) != package.get(field):
                raise FetchError(f"{label}: signed manifest disagrees on {field}")
        if (
            "/" in facts["filename"]
            or "\\" in facts["filename"]
            or facts["filename"] in (".", "..")
        ):
            raise FetchError(f"{label}: unsafe file name {facts['filename']!r}")
        return facts, manifest, signature

    def fetch(self, package: dict, dest: Path, progress: Progress | None = None) -> Fetched:
        facts, manifest, signature = self.verified_manifest(package)
        dest.mkdir(parents=True, exist_ok=True)
        final = dest / facts["filename"]
        if (
            final.is_file()
            and final.stat().st_size == facts["size"]
            and sha256_file(final) == facts["sha256"]
        ):
            _write_sidecars(final, manifest, signature)
            return Fetched(package, final, facts["size"], 0)
        partial = final.with_name(final.name + ".part")
        had = partial.stat().st_size if partial.is_file() else 0
        if had > facts["size"]:
            partial.unlink()
            had = 0
        received = self._download(package, facts, partial, had, progress)
        self._check_file(partial, facts, _label(package))
        partial.replace(final)
        _write_sidecars(final, manifest, signature)
        return Fetched(package, final, had, received)

    def _download(
        self, package: dict, facts: dict, partial: Path, had: int, progress: Progress | None
    ) -> int:
        if had == facts["size"]:
            return 0
        headers = {"Range": f"bytes={had}-", "If-Range": f'"{facts["sha256"]}"'} if had else {}
        url = f"{self.server}/api/v1/packages/{package['id']}/download"
        received = 0
        try:
            with self.http.get(url, headers=headers, stream=True, timeout=self.timeout) as answer:
                if answer.status_code not in (200, 206):
                    raise FetchError(
                        f"{_label(package)}: download answered "
                        f"{answer.status_code}: {_message(answer)}"
                    )
                mode, done = ("ab", had) if answer.status_code == 206 else ("wb", 0)
                with partial.open(mode) as out:
                    for chunk in answer.iter_content(CHUNK):
                        out.write(chunk)
                        received += len(chunk)
                        if progress:
                            progress(package, done + received, facts["size"])
        except requests.RequestException as exc:
            raise FetchError(
                f"{_label(package)}: download interrupted after {received} bytes "
                f"({type(exc).__name__}); run again to resume"
            ) from None
        return received

    @staticmethod
    def _check_file(partial: Path, facts: dict, label: str) -> None:
        size = partial.stat().st_size
        if size != facts["size"]:
            raise FetchError(f"{label}: got {size} of {facts['size']} bytes; run again to resume")
        digest = sha256_file(partial)
        if digest != facts["sha256"]:
            partial.unlink()  # a corrupt file must not be resumed or installed
            raise FetchError(
                f"{label}: sha256 check failed: the file hashes to {digest}, "
                f"the signed manifest says {facts['sha256']}; removed it"
            )

    def fetch_updates(
        self,
        product: str,
        from_version: str,
        dest: Path,
        to_version: str | None = None,
        progress: Progress | None = None,
    ) -> Iterator[Fetched]:
        for package in self.update_plan(product, from_version, to_version):
            yield self.fetch(package, dest, progress)


def _write_sidecars(final: Path, manifest: bytes, signature: bytes) -> None:
    final.with_name(final.name + ".manifest.json").write_bytes(manifest)
    final.with_name(final.name + ".sig").write_bytes(signature)


def _label(package: dict) -> str:
    return (
        f"{package.get('product')} {package.get('version')} {package.get('kind')} "
        f"({package.get('id')})"
    )


def _message(answer: requests.Response) -> str:
    try:
        return answer.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return answer.reason or "no message"


def pin_server_keys(
    server: str, dest: Path, session: requests.Session | None = None
) -> tuple[dict[str, Ed25519PublicKey], bool]:
    """Trust on first use: keys pinned in DEST, or fetched once from the server and pinned.

    Returns the keys and whether they were fetched now (the caller must warn loudly).
    """
    pinned = dest / PINNED_KEYS_FILE
    if pinned.is_file():
        items = json.loads(pinned.read_text())
        fetched = False
    else:
        try:
            answer = (session or requests.Session()).get(
                f"{server.rstrip('/')}/api/v1/keys", timeout=60
            )
            answer.raise_for_status()
        except requests.RequestException as exc:
            raise FetchError(f"cannot fetch the server's keys: {exc}") from None
        items = answer.json()["items"]
        dest.mkdir(parents=True, exist_ok=True)
        pinned.write_text(json.dumps(items, indent=2))
        fetched = True
    keys = {}
    for item in items:
        key = load_public_pem(item["public_key_pem"])
        if key_id(key) != item["kid"]:
            raise FetchError(f"pinned key {item['kid']} does not match its own key id")
        keys[item["kid"]] = key
    return keys, fetched


__all__ = ["DistroClient", "Fetched", "FetchError", "load_keys", "pin_server_keys"]
