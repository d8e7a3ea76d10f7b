"""`distro fetch` with deltas: where DEST holds the previous release (by its hash, not its
name), a delta moves instead of the package and the package ends byte for byte; a delta
that does not rebuild it is said in one line, reported, and the whole package follows."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from distro.installations.models import InstallationEvent
from distro.patches.models import PackageDelta
from tests.client.test_fetcher import ForwardProxy, fetch
from tests.conftest import db_session, grant_license, publish_file, run_worker, tamper_stored
from tests.deltas.test_server import _release


@pytest.fixture
def releases(runner, world, tmp_path):
    grant_license(runner, version="9.0")
    made = {}
    for version, seed, changed in (("9.0.1", 1, 0), ("9.0.2", 2, 2)):
        path = tmp_path / f"erp-{version}.zip"
        path.write_bytes(_release(seed, changed, modules=120))
        made[version] = (
            publish_file(
                runner, path, version=version, kind="patch", applies_to=f">=9.0,<{version}"
            ),
            path.read_bytes(),
        )
    run_worker(runner)
    return made


def _fetch(runner, server, world, dest, *more):
    """`distro fetch --from 9.0.1 --json` into `dest`; its JSON lines."""
    result = fetch(runner, server, world, dest, "--from", "9.0.1", "--json", *more)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.strip().splitlines()]


def test_the_previous_release_held_under_any_name_makes_a_delta_move_instead(
    runner, world, live_server, releases, tmp_path, monkeypatch
):
    proxy = ForwardProxy()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "")
    moved = {}
    for how, more in (("delta", ()), ("full", ("--no-delta",))):
        dest = tmp_path / how
        dest.mkdir()
        (dest / "what-we-run-now.zip").write_bytes(releases["9.0.1"][1])
        proxy.moved.clear()
        events = _fetch(runner, live_server.url, world, dest, *more)
        moved[how] = sum(proxy.moved)
        (verified,) = [e for e in events if e["event"] == "verified"]
        assert verified["via"] == how
        assert (dest / "erp-9.0.2.zip").read_bytes() == releases["9.0.2"][1]
    proxy.server.shutdown()
    assert moved["full"] - moved["delta"] > len(releases["9.0.2"][1]) * 0.7


def test_a_delta_that_does_not_rebuild_is_said_reported_and_the_whole_package_follows(
    app, runner, world, live_server, releases, tmp_path
):
    with db_session(app) as session:
        key = session.scalars(select(PackageDelta.storage_key)).one()
    tamper_stored(app, key, "local", "")
    dest = tmp_path / "d"
    dest.mkdir()
    (dest / "erp-9.0.1.zip").write_bytes(releases["9.0.1"][1])
    result = fetch(
        runner, live_server.url, world, dest, "--from", "9.0.1", "--installation", "erp-prod-01"
    )
    assert result.exit_code == 0, result.output
    (warning,) = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warning.startswith("warning: erp 9.0.2: the delta from ")
    assert "did not rebuild the package" in warning and warning.endswith("downloading it whole")
    assert (dest / "erp-9.0.2.zip").read_bytes() == releases["9.0.2"][1]
    assert not [p.name for p in dest.iterdir() if p.name.endswith((".part", ".rebuild"))]
    with db_session(app) as session:
        events = session.scalars(
            select(InstallationEvent).order_by(InstallationEvent.created_at)
        ).all()
        assert [e.event for e in events][-2:] == ["failed", "installed"]
        assert "did not rebuild the package" in events[-2].error


def test_a_delta_the_server_cannot_send_is_said_and_the_whole_package_follows(
    app, runner, world, live_server, releases, tmp_path
):
    """Its object gone from the store (a sweep racing the listing): the server answers
    an error, and the fetch goes on with the whole package instead of stopping."""
    with db_session(app) as session:
        key = session.scalars(select(PackageDelta.storage_key)).one()
    app.extensions["distro.storage"].local_path(key).unlink()
    dest = tmp_path / "d"
    dest.mkdir()
    (dest / "erp-9.0.1.zip").write_bytes(releases["9.0.1"][1])
    events = _fetch(runner, live_server.url, world, dest)
    (failed,) = [e for e in events if e["event"] == "delta_failed"]
    assert "did not download" in failed["message"]
    (verified,) = [e for e in events if e["event"] == "verified"]
    assert verified["via"] == "full"
    assert (dest / "erp-9.0.2.zip").read_bytes() == releases["9.0.2"][1]


def test_a_damaged_base_is_no_base_and_no_delta_moves(
    runner, world, live_server, releases, tmp_path
):
    dest = tmp_path / "d"
    dest.mkdir()
    damaged = bytearray(releases["9.0.1"][1])
    damaged[100] ^= 1
    (dest / "erp-9.0.1.zip").write_bytes(bytes(damaged))
    events = _fetch(runner, live_server.url, world, dest)
    (verified,) = [e for e in events if e["event"] == "verified"]
    assert verified["via"] == "full" and verified["downloaded"] == len(releases["9.0.2"][1])
    assert (dest / "erp-9.0.2.zip").read_bytes() == releases["9.0.2"][1]


def test_a_run_killed_mid_delta_resumes_it_and_ends_byte_exact(
    client, runner, world, live_server, releases, tmp_path
):
    """What a SIGKILL leaves: half the delta in its `.part`, half a rebuild."""
    new_id, base_id = releases["9.0.2"][0], releases["9.0.1"][0]
    delta = client.get(
        f"/api/v1/packages/{new_id}/deltas/{base_id}/download",
        headers=world.auth("installer@acme"),
    ).data
    dest = tmp_path / "d"
    dest.mkdir()
    (dest / "erp-9.0.1.zip").write_bytes(releases["9.0.1"][1])
    (dest / f"erp-9.0.2.zip.from-{base_id}.delta.part").write_bytes(delta[: len(delta) // 2])
    (dest / "erp-9.0.2.zip.rebuild").write_bytes(b"half a rebuild")
    events = _fetch(runner, live_server.url, world, dest)
    (verified,) = [e for e in events if e["event"] == "verified"]
    assert verified["via"] == "delta" and verified["resumed_from"] == len(delta) // 2
    assert verified["downloaded"] == len(delta) - len(delta) // 2
    assert (dest / "erp-9.0.2.zip").read_bytes() == releases["9.0.2"][1]
    assert sorted(p.name for p in dest.iterdir() if p.is_file()) == [
        "erp-9.0.1.zip",
        "erp-9.0.2.zip",
        "erp-9.0.2.zip.manifest.json",
        "erp-9.0.2.zip.sig",
    ]
