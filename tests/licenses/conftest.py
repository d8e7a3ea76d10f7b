"""License tests: a product with published versions and licenses for both customers."""

from __future__ import annotations

import io

import pytest

from tests.conftest import grant_license


def grant(
    runner,
    org="acme",
    version="8.0",
    kind="subscription",
    expires="2099-12-31",
    product="erp",
    modules="fin,hr,mfg",
    users="50",
):
    return grant_license(
        runner,
        org=org,
        version=version,
        kind=kind,
        expires=expires,
        product=product,
        modules=modules,
        users=users,
        deployment="private_cloud",
    )


@pytest.fixture
def versions(client, world):
    """erp 8.0 and 9.0 installers and a 9.0.1 patch are published."""
    for version, kind, applies in [
        ("8.0", "installer", None),
        ("9.0", "installer", None),
        ("9.0.1", "patch", ">=9.0,<9.0.1"),
    ]:
        form = {
            "file": (io.BytesIO(version.encode()), f"erp-{version}.bin"),
            "product": "erp",
            "version": version,
            "kind": kind,
        }
        if applies:
            form["applies_to"] = applies
        answer = client.post(
            "/api/v1/packages",
            data=form,
            content_type="multipart/form-data",
            headers=world.auth("pub@vendor.test"),
        )
        assert answer.status_code == 201


@pytest.fixture
def source(runner, versions):
    """acme's active 8.0 subscription."""
    return grant(runner)


def submit(client, world, license_id, target="9.0", who="am@vendor.test", **extra):
    return client.post(
        "/api/v1/license-requests",
        json={"license_id": license_id, "target_version": target, **extra},
        headers=world.auth(who),
    )


def submitted(client, world, license_id, **kwargs) -> dict:
    answer = submit(client, world, license_id, **kwargs)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def decide(client, world, request_id, action, who="appr@vendor.test", **body):
    return client.post(
        f"/api/v1/license-requests/{request_id}/{action}", json=body, headers=world.auth(who)
    )
