"""Package tests run on both object stores: the local folder and S3 on loopback."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from tests.conftest import grant_license


@pytest.fixture
def app_config(app_config, storage_url):
    return dict(app_config, STORAGE_URL=storage_url)


def publish(
    client,
    world,
    data: bytes,
    *,
    version="8.0.1",
    kind="patch",
    applies_to=">=8.0,<8.0.1",
    filename="fix.bin",
    product="erp",
    notes="Fixes",
    sha256=None,
    who="pub@vendor.test",
):
    form = {
        "file": (io.BytesIO(data), filename),
        "product": product,
        "version": version,
        "kind": kind,
        "notes": notes,
    }
    if applies_to is not None:
        form["applies_to"] = applies_to
    if sha256:
        form["sha256"] = sha256
    return client.post(
        "/api/v1/packages", data=form, content_type="multipart/form-data", headers=world.auth(who)
    )


def published(client, world, data: bytes, **fields) -> dict:
    answer = publish(client, world, data, **fields)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def grant(runner, org, version, product="erp", kind="subscription", expires="2099-12-31"):
    return grant_license(
        runner,
        org=org,
        version=version,
        product=product,
        kind=kind,
        expires=expires,
        modules="fin,hr",
        users=25,
    )


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def payload() -> bytes:
    return os.urandom(300_000)
