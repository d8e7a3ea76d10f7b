"""Nothing beyond a caller's entitlement leaks (review finding 8): each release line of a
product is a delegated TUF role served only to those entitled to the line, so an erp 9.0
licensee's stock ngclient never sees 9.1 or 10.0 targets, yet downloads its own across a
rotation; and versions and ids beyond the entitlement answer exactly as unknown ones."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests
from tuf.api.exceptions import DownloadHTTPError

from tests.conftest import cli_ok, grant_license
from tests.tuf.test_repository import publish, updater_for


@pytest.fixture
def catalogue(live_server, runner, world, tmp_path):
    """acme holds erp 9.0; erp has packages of the 8.0, 9.0, 9.1 and 10.0 lines."""
    grant_license(runner, version="9.0")
    ids = {
        version: publish(runner, tmp_path, version, f"erp {version}".encode())
        for version in ("8.0", "9.0", "9.1", "10.0")
    }
    ids["9.0.1"] = publish(
        runner, tmp_path, "9.0.1", b"erp 9.0.1", kind="patch", applies_to=">=9.0,<9.0.1"
    )
    return live_server, ids


def fetch(server, world, who: str, path: str) -> requests.Response:
    return requests.get(f"{server.url}{path}", headers=world.headers[who], timeout=10)


def every_metadata_body(server, world, who: str) -> str:
    """What this caller can read of erp's metadata: root, timestamp, snapshot, the
    top-level targets and every line role the snapshot names that it is served."""
    base = "/api/v1/tuf/erp/metadata"
    bodies = [fetch(server, world, who, f"{base}/1.root.json").text]
    timestamp = fetch(server, world, who, f"{base}/timestamp.json").json()
    bodies.append(json.dumps(timestamp))
    version = timestamp["signed"]["meta"]["snapshot.json"]["version"]
    snapshot = fetch(server, world, who, f"{base}/{version}.snapshot.json").json()
    bodies.append(json.dumps(snapshot))
    for name, meta in snapshot["signed"]["meta"].items():
        answer = fetch(server, world, who, f"{base}/{meta['version']}.{name}")
        if answer.status_code == 200:
            bodies.append(answer.text)
    return "\n".join(bodies)


def test_the_top_level_targets_delegate_each_line_and_list_no_target(catalogue, world):
    server, _ids = catalogue
    base = "/api/v1/tuf/erp/metadata"
    timestamp = fetch(server, world, "installer@acme", f"{base}/timestamp.json").json()
    version = timestamp["signed"]["meta"]["snapshot.json"]["version"]
    snapshot = fetch(server, world, "installer@acme", f"{base}/{version}.snapshot.json").json()
    newest = snapshot["signed"]["meta"]["targets.json"]["version"]
    signed = fetch(server, world, "installer@acme", f"{base}/{newest}.targets.json").json()[
        "signed"
    ]
    assert signed["targets"] == {}
    roles = {role["name"]: role["paths"] for role in signed["delegations"]["roles"]}
    assert roles["9.0"] == ["9.0.*/*", "9.0/*"]
    assert set(roles) == {"8.0", "9.0", "9.1", "10.0"}


def test_a_90_licensee_reads_no_trace_of_newer_lines(catalogue, world):
    server, ids = catalogue
    readable = every_metadata_body(server, world, "installer@acme")
    for version in ("9.1", "10.0"):
        assert ids[version] not in readable
        assert f"erp-{version}.bin" not in readable
        assert hashlib.sha256(f"erp {version}".encode()).hexdigest() not in readable
    for version in ("8.0", "9.0", "9.0.1"):
        assert ids[version] in readable
    staff = every_metadata_body(server, world, "pub@vendor.test")
    assert ids["9.1"] in staff and ids["10.0"] in staff


def test_a_line_role_beyond_the_entitlement_answers_as_an_unknown_one(catalogue, world):
    server, _ids = catalogue
    base = "/api/v1/tuf/erp/metadata"
    beyond = fetch(server, world, "installer@acme", f"{base}/1.9.1.json")
    unknown = fetch(server, world, "installer@acme", f"{base}/1.7.7.json")
    assert beyond.status_code == unknown.status_code == 404
    assert beyond.json()["error"]["code"] == unknown.json()["error"]["code"]
    assert fetch(server, world, "installer@acme", f"{base}/1.9.0.json").status_code == 200
    assert fetch(server, world, "pub@vendor.test", f"{base}/1.9.1.json").status_code == 200


def test_a_stock_ngclient_finds_its_targets_through_the_delegations_across_rotations(
    catalogue, world, runner, tmp_path
):
    server, ids = catalogue
    updater = updater_for(server, world, tmp_path / "client")
    updater.refresh()
    assert updater.get_targetinfo("9.0.1/erp-9.0.1.bin").custom["id"] == ids["9.0.1"]
    assert updater.get_targetinfo("8.0/erp-8.0.bin").custom["id"] == ids["8.0"]
    with pytest.raises(DownloadHTTPError):  # the 9.1 role is not served to acme
        updater.get_targetinfo("9.1/erp-9.1.bin")
    for rotation in (1, 2):
        cli_ok(runner, "keys", "rotate")
        version = f"9.0.{rotation + 1}"
        publish(runner, tmp_path, version, f"after rotation {rotation}".encode())
        updater = updater_for(server, world, tmp_path / "client")
        updater.refresh()
        info = updater.get_targetinfo(f"{version}/erp-{version}.bin")
        assert open(updater.download_target(info), "rb").read() == (
            f"after rotation {rotation}".encode()
        )


def test_a_target_beyond_the_entitlement_answers_as_an_unknown_name(catalogue, world):
    server, _ids = catalogue
    digest = hashlib.sha256(b"erp 9.1").hexdigest()
    beyond = fetch(
        server, world, "installer@acme", f"/api/v1/tuf/erp/targets/9.1/{digest}.erp-9.1.bin"
    )
    unknown = fetch(
        server, world, "installer@acme", f"/api/v1/tuf/erp/targets/9.1/{digest}.nope.bin"
    )
    assert beyond.status_code == unknown.status_code == 404
    assert {**beyond.json()["error"], "request_id": None} == {
        **unknown.json()["error"],
        "request_id": None,
    }


def test_ring_approvals_beyond_the_entitlement_answer_as_unknown_versions(catalogue, world):
    server, _ids = catalogue

    def approve(version: str) -> requests.Response:
        return requests.put(
            f"{server.url}/api/v1/rings/test/approvals/erp",
            json={"version": version},
            headers=world.headers["it@acme.test"],
            timeout=10,
        )

    beyond, unknown = approve("9.1"), approve("9.7")
    assert beyond.status_code == unknown.status_code == 422
    assert (
        (beyond.json()["error"]["code"], beyond.json()["error"]["field"])
        == (
            unknown.json()["error"]["code"],
            unknown.json()["error"]["field"],
        )
        == ("unknown_version", "version")
    )
    assert approve("9.0.1").status_code == 200


def test_reports_naming_a_package_beyond_the_entitlement_answer_as_unknown_ids(catalogue, world):
    server, ids = catalogue

    def report(package_id: str) -> requests.Response:
        return requests.post(
            f"{server.url}/api/v1/installations/report",
            json={
                "installation": "erp-prod-01",
                "product": "erp",
                "version": "9.0",
                "event": "installed",
                "package_id": package_id,
            },
            headers=world.headers["installer@acme"],
            timeout=10,
        )

    beyond, unknown = report(ids["10.0"]), report("f" * 32)
    assert beyond.status_code == unknown.status_code == 422
    assert beyond.json()["error"]["code"] == unknown.json()["error"]["code"] == "unknown_package"
    assert report(ids["9.0.1"]).status_code == 201


def test_init_gives_targets_of_an_older_release_their_delegations(catalogue, world, app, runner):
    """A repository whose newest targets still list every target in one file (as the
    release before this one wrote them) is rebuilt by `distro init`, versions going up."""
    from tuf.api.metadata import Metadata, Targets

    from distro.patches.models import Product
    from distro.signing.keys import active_signer, get_key_source
    from distro.tuf import delegations, repository
    from tests.conftest import db_session

    with app.app_context(), db_session(app) as session:
        product = session.get(Product, world.ids["erp"])
        online = repository._online(product, active_signer(session, get_key_source()))
        old_style = Targets(
            version=repository._next(session, product, "targets"),
            expires=repository._expiry(repository.TARGETS_LIFETIME),
        )
        repository._store(session, product, Metadata(old_style), [online])
        session.commit()
        assert repository.needs_delegations(session, product)
    cli_ok(runner, "init")
    with db_session(app) as session:
        product = session.get(Product, world.ids["erp"])
        assert not repository.needs_delegations(session, product)
        newest = repository.latest(session, product.id, "targets")
        assert set(delegations.delegations_of(json.loads(newest.body))) == {
            "8.0",
            "9.0",
            "9.1",
            "10.0",
        }
