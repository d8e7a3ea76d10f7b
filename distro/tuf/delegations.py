"""What a product's targets metadata says: one delegated role per release line.

The top-level `targets.json` lists no target itself; it delegates the paths of each
release line (`9.0/*`, `9.0.*/*`) to a role named after the line (`9.0`), whose metadata
lists that line's unyanked packages. A caller is served the metadata of the lines it is
entitled to only (review finding 8), so an erp 9.0 licensee's client never sees the ids,
names, hashes or sizes of 9.1 packages, while a stock `tuf.ngclient` still finds every
target it may download by following the delegations.

Pure functions over packages; `distro.tuf.repository` signs and stores what they build.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from securesystemslib.signer import Key
from tuf.api.metadata import DelegatedRole, Delegations, TargetFile, Targets

from distro.core.errors import ValidationError
from distro.core.versions import line_key, release_line, version_tuple
from distro.patches.models import Package, PackageDelta

TOP_LEVEL = "targets"


def role_of(version: str) -> str:
    """The delegated role of a version's release line: `9.0.0.12` -> `9.0`."""
    return release_line(version)


def role_line_key(role: str) -> str | None:
    """The entitlement key of a delegated role's line (None: not a line role)."""
    try:
        return line_key(role) if role == release_line(role) else None
    except ValidationError:  # a name that is no version at all
        return None


def path_patterns(versions: Iterable[str]) -> list[str]:
    """The target paths a line's role is trusted for, from the versions as published:
    `9.0` gives `9.0/*` and `9.0.*/*`; a one-part `9` gives `9/*`. Paths are
    `{version}/{filename}`, and a file name holds no `/`, so a pattern matches exactly
    the versions of one line."""
    patterns = set()
    for version in versions:
        parts = version.split(".")
        if len(parts) == 1:
            patterns.add(f"{parts[0]}/*")
        else:
            prefix = f"{parts[0]}.{parts[1]}"
            patterns |= {f"{prefix}/*", f"{prefix}.*/*"}
    return sorted(patterns)


def target_file(package: Package) -> TargetFile:
    return TargetFile(
        length=package.size,
        hashes={"sha256": package.sha256},
        path=f"{package.version}/{package.filename}",
        unrecognized_fields={
            "custom": {"id": package.id, "kind": package.kind, "applies_to": package.applies_to}
        },
    )


def delta_target(package: Package, delta: PackageDelta) -> TargetFile:
    """A delta is a target of its own, in its package's version: a client checks the
    delta it downloaded before it rebuilds, and the rebuilt file against `to`."""
    return TargetFile(
        length=delta.size,
        hashes={"sha256": delta.sha256},
        path=f"{package.version}/{delta.filename(package)}",
        unrecognized_fields={
            "custom": {
                "kind": "delta",
                "from": delta.base_id,
                "to": {"id": package.id, "length": package.size, "sha256": package.sha256},
            }
        },
    )


def line_targets(packages: Iterable[Package], version: int, expires: datetime) -> Targets:
    """A line role's metadata: its unyanked packages and their deltas."""
    targets = Targets(version=version, expires=expires)
    for package in packages:
        if not package.yanked:
            deltas = [delta_target(package, delta) for delta in package.deltas]
            for target in (target_file(package), *deltas):
                targets.targets[target.path] = target
    return targets


def top_level_targets(
    roles: dict[str, list[str]], online: Key, version: int, expires: datetime
) -> Targets:
    """The top-level targets: no targets of its own, a terminating delegation per line
    (`roles`: role name -> path patterns), each signed by the product's online key."""
    delegated = {
        name: DelegatedRole(
            name=name, keyids=[online.keyid], threshold=1, terminating=True, paths=patterns
        )
        for name, patterns in sorted(roles.items(), key=lambda item: version_tuple(item[0]))
    }
    return Targets(
        version=version,
        expires=expires,
        delegations=Delegations(keys={online.keyid: online}, roles=delegated),
    )


def delegations_of(body: dict) -> dict[str, list[str]] | None:
    """Role name -> patterns of a stored top-level targets file (None: it delegates
    nothing, i.e. it was made before release lines had roles)."""
    delegations = body["signed"].get("delegations")
    if not delegations:
        return None
    return {role["name"]: role["paths"] for role in delegations["roles"]}
