"""Installer client: fetch an update path or an installer, resume, verify, never keep a
tampered byte.

Usable without the server's dependencies on Flask or a database::

    from distro.client import DistroClient, load_keys
    client = DistroClient("https://dist.example.com", token, keys=load_keys(["vendor.pem"]))
    for fetched in client.fetch_updates("erp", "9.0", dest=Path("updates")):
        print(fetched.path, fetched.package["version"])

Each file must be a target of the product's TUF repository (`trust.py`: metadata
verified with `tuf.ngclient` from a trusted root, following key rotations). It is
downloaded to `NAME.part`, resumed with `Range`/`If-Range` after an interruption, never
allowed past the target's signed length, and renamed to `NAME` only after its length and
SHA-256 match the target. With `keys`, the package's Ed25519-signed manifest must also
verify with one of them. `NAME.manifest.json` and `NAME.sig` (raw signature, as
`openssl pkeyutl -sigfile` wants it) are written beside it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from tuf.api.exceptions import LengthOrHashMismatchError
from tuf.api.metadata import TargetFile

from distro.client.deltas import fetch_by_delta
from distro.client.errors import FetchError
from distro.client.trust import TRUST_FOLDER, Repository
from distro.core.errors import DistroError
from distro.core.versions import version_tuple
from distro.patches.updateplan import plan_path
from distro.signing.signer import key_id, load_public_pem, verify

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Fetched:
    package: dict
    path: Path
    resumed_from: int  # bytes already on disk before this run
    downloaded: int  # bytes received in this run
    delta_from: str | None = None  # the package it was rebuilt from, if by a delta


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
        keys: dict[str, Ed25519PublicKey] | None = None,
        session: requests.Session | None = None,
        timeout: float = 60,
        *,
        root: bytes | None = None,
        trust_dir: Path | None = None,
    ):
        """`root`: a TUF root the vendor shipped, trusted on first use of a product
        instead of the server's version 1. `trust_dir`: where each product's trusted
        metadata lives (default: `.tuf/` in the destination folder)."""
        self.server = server.rstrip("/")
        self.keys = keys or {}
        self.timeout = timeout
        self.http = session or requests.Session()  # honours HTTP(S)_PROXY and NO_PROXY
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.root, self.trust_dir = root, trust_dir
        self._repositories: dict[str, Repository] = {}
        #: products whose root this client took from the server as it was (first use
        #: without `root`): the caller must say so loudly.
        self.trusted_on_first_use: list[str] = []

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
        self,
        product: str,
        from_version: str,
        to_version: str | None = None,
        installation: str | None = None,
    ) -> list[dict]:
        """The server's plan; with `to_version`, the same rule applied up to that version;
        with `installation`, the server stops it at that installation's ring approval."""
        if installation is not None:
            params = {"from": from_version, "installation": installation}
            plan = self._get_json(f"/products/{product}/updates", **params)["items"]
            if to_version is None:
                return plan
            return _cut_at(plan, from_version, to_version)
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
        return _cut_at(plan, from_version, to_version)

    def report(
        self,
        product: str,
        installation: str,
        version: str,
        event: str,
        package_id: str | None = None,
        error: str | None = None,
    ) -> str | None:
        """Tell the server about the installation; returns a warning instead of raising,
        since a lost report must not stop an update."""
        body = {"installation": installation, "product": product, "version": version}
        body |= {"event": event, "package_id": package_id, "error": error}
        try:
            answer = self.http.post(
                f"{self.server}/api/v1/installations/report",
                json={k: v for k, v in body.items() if v is not None},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            return f"could not report {event} for {installation}: {exc}"
        if answer.status_code != 201:
            return f"the {event} report for {installation} was refused: {_message(answer)}"
        return None

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
        if not self.keys:
            return json.loads(manifest), manifest, signature
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
        _check_file_name(facts["filename"], label)
        return facts, manifest, signature

    def repository(self, product: str, dest: Path) -> Repository:
        """The product's TUF repository, refreshed once per client."""
        if product not in self._repositories:
            folder = (self.trust_dir or dest / TRUST_FOLDER) / product
            repository = Repository(
                self.server, product, folder, self.http, self.timeout, self.root
            )
            if repository.first_use:
                self.trusted_on_first_use.append(product)
            self._repositories[product] = repository
        return self._repositories[product]

    def trusted_target(self, package: dict, dest: Path) -> tuple[Repository, TargetFile]:
        """The signed TUF target that `package` must be, or FetchError."""
        label = _label(package)
        name = package.get("filename") or ""
        _check_file_name(name, label)
        repository = self.repository(package["product"], dest)
        target = repository.target(f"{package['version']}/{name}")
        if target is None:
            raise FetchError(f"{label}: not a target of the signed TUF metadata; refused")
        if target.custom.get("id") != package["id"]:
            raise FetchError(
                f"{label}: the signed TUF target {target.path} is package "
                f"{target.custom.get('id')}, not this one; refused"
            )
        return repository, target

    def fetch(
        self,
        package: dict,
        dest: Path,
        progress: Progress | None = None,
        *,
        use_delta: bool = True,
        said: Callable[[str], None] = lambda message: None,
    ) -> Fetched:
        """Download, verify and name `package` in `dest`: as a delta from a package
        `dest` holds where the server has one (`said` hears why one failed before the
        whole package is downloaded instead), else whole, resuming a partial file."""
        repository, target = self.trusted_target(package, dest)
        facts, manifest, signature = self.verified_manifest(package)
        dest.mkdir(parents=True, exist_ok=True)
        final = dest / package["filename"]
        if final.is_file() and _matches(final, target):
            _write_sidecars(final, manifest, signature)
            return Fetched(package, final, target.length, 0)
        if use_delta:
            rebuilt = fetch_by_delta(self, repository, package, target, final, progress, said)
            if rebuilt is not None:
                _write_sidecars(final, manifest, signature)
                return Fetched(
                    package, final, rebuilt.resumed_from, rebuilt.downloaded, rebuilt.base_id
                )
        partial = final.with_name(final.name + ".part")
        had, received = self._resume(package, repository, target, partial, progress)
        self._check_file(partial, target, _label(package))
        partial.replace(final)
        _write_sidecars(final, manifest, signature)
        return Fetched(package, final, had, received)

    def _resume(
        self, package: dict, repository, target: TargetFile, partial: Path, progress
    ) -> tuple[int, int]:
        """Download `target` into `partial`, on from what it holds (a file longer than
        the target starts again): (bytes it held, bytes received)."""
        had = partial.stat().st_size if partial.is_file() else 0
        if had > target.length:
            partial.unlink()
            had = 0
        url = repository.target_url(target)
        return had, self._download(package, url, target, partial, had, progress)

    def _download(
        self,
        package: dict,
        url: str,
        target: TargetFile,
        partial: Path,
        had: int,
        progress: Progress | None,
    ) -> int:
        if had == target.length:
            return 0
        etag = f'"{target.hashes["sha256"]}"'
        headers = {"Range": f"bytes={had}-", "If-Range": etag} if had else {}
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
                        if done + received + len(chunk) > target.length:
                            out.close()
                            partial.unlink()
                            raise FetchError(
                                f"{_label(package)}: the server sent more than the "
                                f"{target.length} bytes the TUF target signs; removed it"
                            )
                        out.write(chunk)
                        received += len(chunk)
                        if progress:
                            progress(package, done + received, target.length)
        except requests.RequestException as exc:
            raise FetchError(
                f"{_label(package)}: download interrupted after {received} bytes "
                f"({type(exc).__name__}); run again to resume"
            ) from None
        return received

    @staticmethod
    def _check_file(partial: Path, target: TargetFile, label: str) -> None:
        size = partial.stat().st_size
        if size != target.length:
            raise FetchError(f"{label}: got {size} of {target.length} bytes; run again to resume")
        if not _matches(partial, target):
            partial.unlink()  # a corrupt file must not be resumed or installed
            raise FetchError(
                f"{label}: sha256 check failed: the file does not hash to the "
                f"{target.hashes['sha256']} that the signed TUF target names; removed it"
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


def _cut_at(plan: list[dict], from_version: str, to_version: str) -> list[dict]:
    """The plan up to `to_version`, which it must reach."""
    wanted = version_tuple(to_version, "to")
    plan = [p for p in plan if version_tuple(p["version"]) <= wanted]
    if not plan or version_tuple(plan[-1]["version"]) != wanted:
        reached = plan[-1]["version"] if plan else from_version
        raise FetchError(
            f"no update path from {from_version} reaches {to_version} (the furthest is {reached})"
        )
    return plan


def _check_file_name(name: str, label: str) -> None:
    """A plain name to write in DEST: no folders, never `.` or `..`."""
    if "/" in name or "\\" in name or name in ("", ".", ".."):
        raise FetchError(f"{label}: unsafe file name {name!r}")


def _matches(path: Path, target: TargetFile) -> bool:
    with path.open("rb") as handle:
        try:
            target.verify_length_and_hashes(handle)
        except LengthOrHashMismatchError:
            return False
    return True


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


__all__ = ["DistroClient", "Fetched", "FetchError", "load_keys"]
