"""The export checks every package's bytes against their SHA-256 as it copies them: a
site mirror takes the signed parts' hashes as the proof of each package's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from distro.bundles.models import Bundle
from distro.patches.models import Package
from tests.conftest import db_session, tamper_stored


@pytest.fixture
def app_config(app_config, storage_url):
    return dict(app_config, STORAGE_URL=storage_url)


def test_a_damaged_stored_package_stops_the_export_and_nothing_is_left(
    app, runner, vendor, tmp_path, backend, s3_endpoint
):
    with db_session(app) as session:
        package = session.get(Package, vendor["installer"])
        key, filename = package.storage_key, package.filename
    tamper_stored(app, key, backend, s3_endpoint)
    out = tmp_path / "stick"
    result = runner.invoke(args=["bundles", "export", "--org", "acme", "--out", str(out)])
    assert result.exit_code == 1
    assert f"the stored copy of package {filename} ({vendor['installer']}) does not match" in (
        result.output
    )
    assert not any(out.glob("*"))
    with db_session(app) as session:
        (bundle,) = session.scalars(select(Bundle)).all()
        assert bundle.status == "failed" and "does not match its SHA-256" in bundle.error
