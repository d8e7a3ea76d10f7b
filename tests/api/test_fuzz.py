"""Schema fuzzing: schemathesis against /api/v1/openapi.json on a running server, as each
main role. No server errors, and responses conform to the document.

CI runs a bounded number of examples, in its PostgreSQL pass; for a longer run:
    DISTRO_FUZZ_EXAMPLES=200 .venv/bin/pytest tests/api/test_fuzz.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import grant_license, publish_file

pytestmark = pytest.mark.postgresql_pass
EXAMPLES = os.environ.get("DISTRO_FUZZ_EXAMPLES", "8")
ROLES = [
    "installer@acme",
    "it@acme.test",
    "am@vendor.test",
    "appr@vendor.test",
    "pub@vendor.test",
    "admin@vendor.test",
]


@pytest.fixture
def catalogue(runner, world, tmp_path):
    grant_license(runner, expires="2099-01-01")
    path = tmp_path / "p.bin"
    path.write_bytes(b"patch bytes")
    publish_file(runner, path, version="8.0.1", kind="patch", applies_to=">=8.0,<8.0.1")


@pytest.mark.parametrize("role", ROLES)
def test_schemathesis_finds_no_server_errors(live_server, world, catalogue, role, tmp_path):
    st = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [
            str(st),
            "run",
            f"{live_server.url}/api/v1/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            EXAMPLES,
            "--seed",
            "20261126",
            "--workers",
            "1",
            "--phases",
            "examples,coverage,fuzzing",
            "--request-timeout",
            "30",
            "-H",
            f"Authorization: {world.headers[role]['Authorization']}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "passed" in result.stdout
    print(result.stdout[-1500:])
