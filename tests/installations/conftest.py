"""A customer with an erp 9.0 subscription and the 9.0.x patches published."""

from __future__ import annotations

import pytest

from tests.conftest import grant_license, publish_file


@pytest.fixture
def nine(runner, tmp_path, world) -> dict:
    """acme holds erp 9.0; 9.0 (installer), 9.0.1 and 9.0.2 (patches) are published."""
    grant_license(runner, version="9.0", expires="2099-12-31")
    ids = {}
    for version, kind, applies in (
        ("9.0", "installer", None),
        ("9.0.1", "patch", ">=9.0,<9.0.1"),
        ("9.0.2", "patch", ">=9.0.1,<9.0.2"),
    ):
        path = tmp_path / f"erp-{version}.bin"
        path.write_bytes(f"erp {version}".encode())
        ids[version] = publish_file(runner, path, version=version, kind=kind, applies_to=applies)
    return ids


def report(client, world, who="installer@acme", **body):
    body = {
        "installation": "erp-prod-01",
        "product": "erp",
        "version": "9.0",
        "event": "check",
    } | body
    return client.post("/api/v1/installations/report", json=body, headers=world.auth(who))
