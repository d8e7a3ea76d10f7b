"""A vendor with something to carry off-line: acme licensed for ERP 8.0, packages of 8.0
(acme's) and 9.0 (not acme's), a ring approval; and helpers to export and read bundles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import cli_ok, grant_license, publish_file


@pytest.fixture
def vendor(runner, world, tmp_path):
    """The ids of what was published: `installer` and `patch` (8.0, acme's), `later`
    (9.0, not acme's)."""
    grant_license(runner, org="acme", version="8.0")
    files = tmp_path / "files"
    files.mkdir()
    made = {}
    for name, version, kind, applies, size in [
        ("installer", "8.0", "installer", None, 3 * 1024 * 1024 + 17),
        ("patch", "8.0.1", "patch", ">=8.0,<8.0.1", 4000),
        ("later", "9.0", "installer", None, 2000),
    ]:
        path = files / f"erp-{version}-{kind}.zip"
        path.write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
        made[name] = publish_file(runner, path, version=version, kind=kind, applies_to=applies)
    return made


def export(runner, out: Path, *more: str) -> int:
    return int(cli_ok(runner, "bundles", "export", "--org", "acme", "--out", str(out), *more))


def manifest_of(folder: Path) -> dict:
    (path,) = folder.glob("*.bundle.json")
    return json.loads(path.read_bytes())
