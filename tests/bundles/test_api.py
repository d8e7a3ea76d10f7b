"""Bundles over the API: a customer admin asks, `distro worker` builds it into the object
store (local and S3), and its files download under the download rule."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from distro.audit.models import AuditEvent
from tests.bundles.test_mirror_import import held, mirror, new_mirror
from tests.conftest import cli_ok, db_session, login


@pytest.fixture
def app_config(app_config, storage_url):
    return dict(app_config, STORAGE_URL=storage_url)


def _ask(client, world, who="it@acme.test", **body):
    return client.post("/api/v1/bundles", json=body, headers=world.auth(who))


def test_a_bundle_asked_for_is_built_by_the_worker_and_downloads_whole_and_in_ranges(
    app, runner, client, world, vendor, tmp_path, backend
):
    asked = _ask(client, world)
    assert asked.status_code == 202, asked.get_json()
    bundle = asked.get_json()
    assert bundle["status"] == "building" and bundle["seq"] == 1
    assert "built 1 bundles" in cli_ok(runner, "worker", "--once")
    detail = client.get(f"/api/v1/bundles/{bundle['id']}", headers=world.auth("it@acme.test"))
    body = detail.get_json()
    assert body["status"] == "ready", body
    names = [f["name"] for f in body["files"]]
    assert names[:2] == ["acme-1.bundle.json", "acme-1.bundle.sig"] and names[2] == "acme-1.part001"
    stick = tmp_path / "stick"
    stick.mkdir()
    for f in body["files"]:
        url = f"/api/v1/bundles/{bundle['id']}/files/{f['name']}"
        answer = client.get(url, headers=world.auth("it@acme.test"))
        assert answer.status_code == 200 and hashlib.sha256(answer.data).hexdigest() == f["sha256"]
        (stick / f["name"]).write_bytes(answer.data)
    part = f"/api/v1/bundles/{bundle['id']}/files/acme-1.part001"
    ranged = client.get(part, headers={**world.auth("it@acme.test"), "Range": "bytes=10-19"})
    assert (
        ranged.status_code == 206 and ranged.data == (stick / "acme-1.part001").read_bytes()[10:20]
    )
    # what the API built, a mirror takes in
    site = new_mirror(client, tmp_path)
    assert mirror("import", stick, "--dir", site)[0] == 0
    assert set(held(site)[0]) == {vendor["installer"], vendor["patch"]}
    with db_session(app) as session:
        actions = list(
            session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("bundle.%")))
        )
    assert (
        actions.count("bundle.request") == 1 and actions.count("bundle.download") == len(names) + 1
    )
    # the bundle's objects are referenced: a sweep leaves them alone
    swept = cli_ok(runner, "storage", "sweep", "--older-than", "0")
    assert swept.startswith("0 unreferenced")


def test_bundles_are_the_organisations_own(client, world, vendor, runner):
    bundle = _ask(client, world).get_json()
    for path in (
        f"/api/v1/bundles/{bundle['id']}",
        f"/api/v1/bundles/{bundle['id']}/files/acme-1.part001",
    ):
        assert client.get(path, headers=world.auth("it@globex.test")).status_code == 404
    assert (
        client.get("/api/v1/bundles", headers=world.auth("it@globex.test")).get_json()["items"]
        == []
    )
    assert _ask(client, world, "it@globex.test").status_code == 400  # globex holds no license
    assert _ask(client, world, "installer@acme").status_code == 403
    assert _ask(client, world, since=9).status_code == 400
    staff = _ask(client, world, "admin@vendor.test", org="acme")
    assert staff.status_code == 202 and staff.get_json()["seq"] == 2


def test_the_page_asks_for_a_bundle_and_lists_its_files(runner, client, world, vendor):
    login(client, "it@acme.test")
    page = client.get("/bundles")
    assert page.status_code == 200 and "Offline bundles" in page.get_data(as_text=True)
    token = (
        page.get_data(as_text=True)
        .split('name="csrf_token" type="hidden" value="')[1]
        .split('"')[0]
    )
    answer = client.post("/bundles", data={"csrf_token": token, "what": "full"})
    assert answer.status_code == 302
    cli_ok(runner, "worker", "--once")
    listed = client.get("/bundles").get_data(as_text=True)
    assert "acme-1.part001" in listed and "Only what is new since bundle 1" in listed
