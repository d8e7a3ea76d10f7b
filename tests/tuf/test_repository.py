"""Each product is a TUF repository that a stock `tuf.ngclient.Updater` (with only a
fetcher that sends the token) trusts from its first root: it refreshes, downloads and
verifies targets, sees publishes and yanks, and follows key rotations."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests
from tuf.api.exceptions import DownloadHTTPError
from tuf.ngclient import FetcherInterface, Updater

from tests.conftest import cli_ok, db_session, grant_license, publish_file


class TokenFetcher(FetcherInterface):
    """The one thing a stock updater needs here: the bearer token on every request."""

    def __init__(self, token_headers: dict):
        self.session = requests.Session()
        self.session.headers.update(token_headers)

    def _fetch(self, url: str):
        answer = self.session.get(url, stream=True, timeout=30)
        if answer.status_code != 200:
            raise DownloadHTTPError(f"{url}: {answer.status_code}", answer.status_code)
        return answer.iter_content(64 * 1024)


@pytest.fixture
def server(live_server, world, runner):
    grant_license(runner, version="9.0")
    return live_server


def updater_for(server, world, tmp_path: Path, who="installer@acme", product="erp") -> Updater:
    base = f"{server.url}/api/v1/tuf/{product}"
    fetcher = TokenFetcher(world.headers[who])
    root = fetcher.session.get(f"{base}/metadata/1.root.json", timeout=10)
    assert root.status_code == 200
    metadata, targets = tmp_path / "metadata", tmp_path / "targets"
    metadata.mkdir(parents=True, exist_ok=True)
    targets.mkdir(parents=True, exist_ok=True)
    return Updater(
        metadata_dir=str(metadata),
        metadata_base_url=f"{base}/metadata/",
        target_dir=str(targets),
        target_base_url=f"{base}/targets/",
        fetcher=fetcher,
        bootstrap=root.content,
    )


def publish(runner, tmp_path: Path, version: str, data: bytes, kind="installer", **extra) -> str:
    path = tmp_path / f"erp-{version}.bin"
    path.write_bytes(data)
    return publish_file(runner, path, version=version, kind=kind, **extra)


def test_a_stock_updater_downloads_a_published_package_and_sees_yanks(
    server, world, runner, tmp_path, app
):
    payload = os.urandom(300_000)
    package_id = publish(runner, tmp_path, "9.0", payload)
    updater = updater_for(server, world, tmp_path)
    updater.refresh()
    info = updater.get_targetinfo("9.0/erp-9.0.bin")
    assert info is not None and info.length == len(payload)
    assert info.custom == {"id": package_id, "kind": "installer", "applies_to": None}
    path = updater.download_target(info)
    assert Path(path).read_bytes() == payload

    patch = publish(runner, tmp_path, "9.0.1", b"fix", kind="patch", applies_to=">=9.0,<9.0.1")
    fresh = updater_for(server, world, tmp_path / "again")
    fresh.refresh()
    assert fresh.get_targetinfo("9.0.1/erp-9.0.1.bin").custom["id"] == patch

    yanked = requests.post(
        f"{server.url}/api/v1/packages/{patch}/yank",
        json={"reason": "breaks posting"},
        headers=world.auth("pub@vendor.test"),
        timeout=10,
    )
    assert yanked.status_code == 200
    after_yank = updater_for(server, world, tmp_path / "after")
    after_yank.refresh()
    assert after_yank.get_targetinfo("9.0.1/erp-9.0.1.bin") is None
    assert after_yank.get_targetinfo("9.0/erp-9.0.bin") is not None
    with db_session(app) as session:
        from distro.audit.models import AuditEvent

        downloads = session.query(AuditEvent).filter_by(action="package.download").count()
    assert downloads == 1


def test_a_stock_updater_follows_two_key_rotations(server, world, runner, tmp_path):
    publish(runner, tmp_path, "9.0", b"installer")
    updater = updater_for(server, world, tmp_path)
    updater.refresh()
    for rotation in (1, 2):
        cli_ok(runner, "keys", "rotate")
        version = f"9.0.{rotation}"  # within acme's licensed 9.0 line
        publish(runner, tmp_path, version, f"after rotation {rotation}".encode())
        updater = updater_for(server, world, tmp_path)  # the same metadata folder
        updater.refresh()
        info = updater.get_targetinfo(f"{version}/erp-{version}.bin")
        assert Path(updater.download_target(info)).read_bytes() == (
            f"after rotation {rotation}".encode()
        )
    trusted = json.loads((tmp_path / "metadata" / "root.json").read_bytes())
    assert trusted["signed"]["version"] == 3


def test_root_rotation_is_signed_by_the_old_and_the_new_root_keys(server, world, tmp_path, runner):
    base = f"{server.url}/api/v1/tuf/erp/metadata"
    headers = world.headers["installer@acme"]
    cli_ok(runner, "keys", "rotate")
    first = requests.get(f"{base}/1.root.json", headers=headers, timeout=10).json()
    second = requests.get(f"{base}/2.root.json", headers=headers, timeout=10).json()
    old_root = set(first["signed"]["roles"]["root"]["keyids"])
    new_root = set(second["signed"]["roles"]["root"]["keyids"])
    signed_by = {s["keyid"] for s in second["signatures"]}
    assert old_root.isdisjoint(new_root) and old_root | new_root <= signed_by


@pytest.mark.parametrize(
    "who,product,status",
    [
        ("installer@acme", "erp", 200),
        ("installer@globex", "erp", 404),  # no license of erp
        ("installer@acme", "crm", 404),
        ("pub@vendor.test", "crm", 200),  # staff see every product
        (None, "erp", 401),
    ],
)
def test_metadata_follows_the_catalogue_rule(server, world, who, product, status):
    headers = world.headers[who] if who else {}
    for name in ("1.root.json", "timestamp.json", "1.snapshot.json", "1.targets.json"):
        answer = requests.get(
            f"{server.url}/api/v1/tuf/{product}/metadata/{name}", headers=headers, timeout=10
        )
        assert answer.status_code == status, (name, answer.text[:200])


def test_targets_follow_the_download_rule(server, world, runner, tmp_path):
    data = b"customer installer"
    publish(runner, tmp_path, "9.0", data)
    publish(runner, tmp_path, "10.0", b"a newer line")
    digest = __import__("hashlib").sha256(data).hexdigest()
    url = f"{server.url}/api/v1/tuf/erp/targets/9.0/{digest}.erp-9.0.bin"
    assert requests.get(url, headers=world.headers["installer@acme"], timeout=10).content == data
    assert (
        requests.get(url, headers=world.headers["installer@globex"], timeout=10).status_code == 404
    )
    newer = __import__("hashlib").sha256(b"a newer line").hexdigest()
    beyond = f"{server.url}/api/v1/tuf/erp/targets/10.0/{newer}.erp-10.0.bin"
    # acme's 9.0 license does not reach the 10.0 line
    assert (
        requests.get(beyond, headers=world.headers["installer@acme"], timeout=10).status_code == 404
    )
    wrong = f"{server.url}/api/v1/tuf/erp/targets/9.0/{'0' * 64}.erp-9.0.bin"
    assert (
        requests.get(wrong, headers=world.headers["installer@acme"], timeout=10).status_code == 404
    )


def test_a_stale_timestamp_is_re_signed_when_asked_for(server, world, runner, tmp_path, app):
    from sqlalchemy import update

    from distro.core.clock import utcnow
    from distro.tuf.models import TufMetadata

    publish(runner, tmp_path, "9.0", b"x")
    base = f"{server.url}/api/v1/tuf/erp/metadata/timestamp.json"
    headers = world.headers["installer@acme"]
    before = requests.get(base, headers=headers, timeout=10).json()["signed"]["version"]
    with db_session(app) as session:
        session.execute(
            update(TufMetadata).where(TufMetadata.role == "timestamp").values(expires=utcnow())
        )
        session.commit()
    after = requests.get(base, headers=headers, timeout=10).json()["signed"]
    assert after["version"] == before + 1
    assert after["expires"] > utcnow().isoformat()


def test_concurrent_publishes_give_consecutive_versions_never_a_fork(server, world, app):
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import select

    from distro.tuf.models import TufMetadata

    def publish_over_http(n: int) -> int:
        return requests.post(
            f"{server.url}/api/v1/packages",
            headers=world.auth("pub@vendor.test"),
            files={"file": (f"erp-9.0.{n}.bin", os.urandom(2000))},
            data={"product": "erp", "version": f"9.0.{n}", "kind": "installer"},
            timeout=60,
        ).status_code

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(publish_over_http, range(1, 7))) == [201] * 6
    with db_session(app) as session:
        rows = session.execute(
            select(TufMetadata.role, TufMetadata.version, TufMetadata.body).where(
                TufMetadata.product_id == world.ids["erp"]
            )
        ).all()
    versions = {}
    for role, version, _ in rows:
        versions.setdefault(role, []).append(version)
    for role in ("snapshot", "timestamp"):
        assert sorted(versions[role]) == list(range(1, 8)), role  # creation + 6 publishes
    assert sorted(versions["9.0"]) == list(range(1, 7))  # the line's role: one per publish
    assert sorted(versions["targets"]) == [1, 2]  # creation, then the 9.0 line delegated
    newest = max((r for r in rows if r[0] == "9.0"), key=lambda r: r[1])
    assert len(json.loads(newest[2])["signed"]["targets"]) == 6


def test_a_root_threshold_of_two_is_kept_through_a_rotation(tmp_path, database_url):
    """Runs its own app: the threshold is configuration, read when repositories are made."""
    from tests.conftest import LiveServer, make_app, seed_world

    config = {
        "TESTING": True,
        "SECRET_KEY": "t",
        "DATABASE_URL": database_url,
        "STORAGE_URL": (tmp_path / "objects").as_uri(),
        "SIGNING_KEYS_DIR": str(tmp_path / "keys"),
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "TUF_ROOT_THRESHOLD": 2,
    }
    app = make_app(config)
    runner = app.test_cli_runner()
    world = seed_world(runner)
    grant_license(runner, version="9.0")
    server = LiveServer(app)
    try:
        root = requests.get(
            f"{server.url}/api/v1/tuf/erp/metadata/1.root.json",
            headers=world.headers["installer@acme"],
            timeout=10,
        ).json()
        assert root["signed"]["roles"]["root"]["threshold"] == 2
        assert len(root["signed"]["roles"]["root"]["keyids"]) == 2
        assert len(root["signatures"]) == 2
        updater = updater_for(server, world, tmp_path / "client")
        updater.refresh()
        cli_ok(runner, "keys", "rotate")
        publish(runner, tmp_path, "9.0.5", b"after a 2-of-2 rotation")
        updater = updater_for(server, world, tmp_path / "client")
        updater.refresh()
        info = updater.get_targetinfo("9.0.5/erp-9.0.5.bin")
        assert Path(updater.download_target(info)).read_bytes() == b"after a 2-of-2 rotation"
        second = json.loads((tmp_path / "client" / "metadata" / "root.json").read_bytes())
        assert second["signed"]["version"] == 2 and len(second["signatures"]) == 4
    finally:
        server.stop()
        app.extensions["distro.engine"].dispose()


def test_a_rotation_without_the_root_keys_changes_nothing(server, world, runner, app, tmp_path):
    keys_dir = Path(app.config["SIGNING_KEYS_DIR"])
    before = sorted(p.relative_to(keys_dir) for p in keys_dir.rglob("*.pem"))
    kept_elsewhere = tmp_path / "offline-root"
    (keys_dir / "tuf-root").rename(kept_elsewhere)  # root keys on another host
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 1 and "rotating needs the current TUF root keys" in result.output
    assert sorted(p.relative_to(keys_dir) for p in keys_dir.rglob("*.pem")) == [
        p for p in before if p.parts[0] != "tuf-root"
    ]
    kept_elsewhere.rename(keys_dir / "tuf-root")  # brought back: rotation works
    cli_ok(runner, "keys", "rotate")
    publish(runner, tmp_path, "9.0", b"signed by the rotated keys")
    updater = updater_for(server, world, tmp_path / "client")
    updater.refresh()
    assert updater.get_targetinfo("9.0/erp-9.0.bin") is not None
