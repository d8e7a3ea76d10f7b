"""`distro fetch --installation NAME` reports to the server: check before, installed
after each verified package, failed (with the message) when one does not verify; and
the plan it fetches stops at the installation's ring approval."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from distro.installations.models import Installation, InstallationEvent
from tests.conftest import db_session


def fetch(runner, live_server, world, dest, *args):
    return runner.invoke(
        args=[
            "fetch",
            "--server",
            live_server.url,
            "--token",
            world.secrets["installer@acme"],
            "--product",
            "erp",
            "--dest",
            str(dest),
            "--from",
            "9.0",
            "--installation",
            "erp-prod-01",
            *args,
        ]
    )


def events(app) -> list[tuple]:
    with db_session(app) as session:
        rows = session.execute(
            select(
                InstallationEvent.event,
                InstallationEvent.version,
                InstallationEvent.package_id,
                InstallationEvent.error,
            ).order_by(InstallationEvent.created_at, InstallationEvent.id)
        ).all()
    return [tuple(row) for row in rows]


def flip_a_bit(objects: Path, content: bytes) -> None:
    (blob,) = [p for p in objects.rglob("*") if p.is_file() and p.read_bytes() == content]
    data = bytearray(blob.read_bytes())
    data[0] ^= 0x01
    blob.write_bytes(bytes(data))


def test_each_verified_package_is_reported_installed(
    app, runner, world, live_server, nine, tmp_path
):
    result = fetch(runner, live_server, world, tmp_path / "dl")
    assert result.exit_code == 0, result.output
    assert events(app) == [
        ("check", "9.0", None, None),
        ("installed", "9.0.1", nine["9.0.1"], None),
        ("installed", "9.0.2", nine["9.0.2"], None),
    ]
    with db_session(app) as session:
        (box,) = session.scalars(select(Installation)).all()
    assert (box.name, box.version, box.last_failure_at) == ("erp-prod-01", "9.0.2", None)


def test_a_flipped_bit_is_reported_failed_with_the_message(
    app, app_config, runner, world, live_server, nine, tmp_path
):
    flip_a_bit(Path(app_config["STORAGE_URL"].removeprefix("file://")), b"erp 9.0.2")
    result = fetch(runner, live_server, world, tmp_path / "dl")
    assert result.exit_code == 1
    (check, installed, failed) = events(app)
    assert check[0] == "check" and installed[:3] == ("installed", "9.0.1", nine["9.0.1"])
    assert failed[:3] == ("failed", "9.0.1", nine["9.0.2"]) and "sha256" in failed[3]
    with db_session(app) as session:
        (box,) = session.scalars(select(Installation)).all()
    assert box.last_failure_package_id == nine["9.0.2"] and "sha256" in box.last_failure_error


def test_the_ring_approval_caps_what_fetch_downloads(
    client, runner, world, live_server, nine, tmp_path
):
    first = fetch(runner, live_server, world, tmp_path / "probe", "--to", "9.0.1")
    assert first.exit_code == 0, first.output  # the installation exists now, at 9.0.1
    box = client.get("/api/v1/installations", headers=world.auth("it@acme.test")).get_json()[
        "items"
    ][0]
    client.put(
        f"/api/v1/installations/{box['id']}",
        json={"ring": "production"},
        headers=world.auth("it@acme.test"),
    )
    client.put(
        "/api/v1/rings/production/approvals/erp",
        json={"version": "9.0.1"},
        headers=world.auth("it@acme.test"),
    )
    capped = fetch(runner, live_server, world, tmp_path / "dl")
    assert capped.exit_code == 0, capped.output
    assert sorted(p.name for p in (tmp_path / "dl").iterdir() if p.suffix == ".bin") == [
        "erp-9.0.1.bin"
    ]
