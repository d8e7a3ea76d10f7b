"""Fetching a package as a delta (§9): where DEST holds a package the server has a
delta from (found by its hash, whatever its name), download the delta (a TUF target of
its own, resumable like any download), rebuild the package into a temporary file while
hashing, and give it its final name only when its length and SHA-256 are the signed
target's. A delta that does not rebuild the package is thrown away with one line, and
the caller downloads the whole package instead."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tuf.api.metadata import TargetFile

from distro.client.errors import FetchError
from distro.core.checksums import sha256_file
from distro.deltas.apply import apply_delta
from distro.deltas.format import DeltaInvalid

# What DEST holds besides packages: never a base.
_NOT_PACKAGES = (".part", ".rebuild", ".manifest.json", ".sig")


@dataclass(frozen=True)
class Rebuilt:
    base_id: str
    resumed_from: int  # bytes of the delta already on disk before this run
    downloaded: int  # bytes of the delta received in this run


def fetch_by_delta(
    client,
    repository,
    package: dict,
    target: TargetFile,
    final: Path,
    progress,
    said: Callable[[str], None],
) -> Rebuilt | None:
    """The package rebuilt at `final` from a delta, or None (nothing to build from, or
    the delta failed: `said` has been told why)."""
    for delta in package.get("deltas") or []:
        base = _held(client, delta.get("from"), final.parent)
        if base is None:
            continue
        name = f"{package['version']}/{package['filename']}.from-{delta['from']}.delta"
        delta_target = repository.target(name)
        if delta_target is None or not _rebuilds(delta_target, target, delta["from"]):
            said(f"the delta from {delta['from']} is not a signed target for this package")
            continue
        partial = final.with_name(f"{final.name}.from-{delta['from']}.delta.part")
        try:  # what did arrive stays in `partial`, for the next run to resume
            had, received = client._resume(package, repository, delta_target, partial, progress)
        except FetchError as exc:
            said(f"the delta from {delta['from']} did not download ({_why(exc)})")
            return None
        try:
            client._check_file(partial, delta_target, f"the delta from {delta['from']}")
            rebuild(base, partial, final, target)
        except (FetchError, DeltaInvalid, OSError) as exc:
            partial.unlink(missing_ok=True)
            said(f"the delta from {delta['from']} did not rebuild the package ({_why(exc)})")
            return None
        partial.unlink()
        return Rebuilt(delta["from"], had, received)
    return None


def _held(client, base_id, dest: Path) -> Path | None:
    """A file in `dest` that is package `base_id`, by its size and SHA-256."""
    if not isinstance(base_id, str) or not dest.is_dir():
        return None
    try:
        base = client._get_json(f"/packages/{base_id}")
    except FetchError:
        return None  # no longer listed to us: not a base we can use
    size, sha256 = base.get("size"), base.get("sha256")
    named = dest / str(base.get("filename"))
    candidates = [named, *sorted(p for p in dest.iterdir() if p != named)]
    for path in candidates:
        if path.name.endswith(_NOT_PACKAGES) or not path.is_file():
            continue
        if path.stat().st_size == size and sha256_file(path) == sha256:
            return path
    return None


def _rebuilds(delta_target: TargetFile, target: TargetFile, base_id: str) -> bool:
    custom = delta_target.custom
    to = custom.get("to") or {}
    return (
        custom.get("kind") == "delta"
        and custom.get("from") == base_id
        and to.get("sha256") == target.hashes.get("sha256")
        and to.get("length") == target.length
    )


def rebuild(base: Path, delta: Path, final: Path, target: TargetFile) -> None:
    """The package at `final` from `base` and `delta`, through a temporary file that gets
    the final name only when its length and SHA-256 are the signed target's."""
    temporary = final.with_name(final.name + ".rebuild")
    try:
        with base.open("rb") as base_file, delta.open("rb") as source, temporary.open("wb") as out:
            size, sha256 = apply_delta(base_file, source, out)
            out.flush()
            os.fsync(out.fileno())
        if size != target.length or sha256 != target.hashes["sha256"]:
            raise DeltaInvalid("the rebuilt file is not the one the signed TUF target names")
        temporary.replace(final)
    finally:
        temporary.unlink(missing_ok=True)


def _why(exc: Exception) -> str:
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__
