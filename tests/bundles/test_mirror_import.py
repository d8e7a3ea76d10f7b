"""`distro mirror init` and `import`: a site takes in only what the vendor signed, whole,
in sequence, once."""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import subprocess
import sys
import time
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from distro.cli.mirror import mirror_group
from distro.core.clock import utcnow
from distro.mirror.models import MirrorBundle, MirrorDocument, MirrorPackage, MirrorState
from distro.mirror.site import open_site
from tests.bundles.conftest import export, manifest_of
from tests.conftest import cli_ok, grant_license, publish_file


def mirror(*args) -> tuple[int, str]:
    result = CliRunner().invoke(mirror_group, [str(a) for a in args])
    return result.exit_code, result.output


def new_mirror(client, tmp_path, name="site"):
    pem = tmp_path / "vendor.pem"
    key = client.get("/api/v1/keys").get_json()["items"][0]
    pem.write_text(key["public_key_pem"])
    folder = tmp_path / name
    code, output = mirror("init", "--dir", folder, "--vendor-key", pem)
    assert code == 0, output
    assert output.strip().splitlines()[-1] == key["kid"]
    return folder


def held(folder):
    site = open_site(folder)
    with site.session() as session:
        packages = {row.id: row for row in session.scalars(select(MirrorPackage))}
        bundles = [row.seq for row in session.scalars(select(MirrorBundle))]
        documents = {(row.kind, row.name) for row in session.scalars(select(MirrorDocument))}
        state = session.get(MirrorState, 1)
    blobs = sorted(p.name for p in (folder / "store").rglob("*") if p.is_file())
    site.engine.dispose()
    return packages, bundles, documents, state, blobs


def test_a_bundle_is_taken_in_whole_by_a_process_without_vendor_settings(
    runner, client, vendor, tmp_path
):
    stick = tmp_path / "stick"
    export(runner, stick, "--part-mib", "1")
    site = new_mirror(client, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRO_")}
    done = subprocess.run(
        [sys.executable, "-m", "distro.cli", "mirror", "import", str(stick), "--dir", str(site)],
        env={**env, "PYTHONPATH": os.getcwd()},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "1"
    packages, bundles, documents, state, blobs = held(site)
    assert set(packages) == {vendor["installer"], vendor["patch"]} and bundles == [1]
    assert state.org == "acme"
    for row in packages.values():
        data = (site / "store" / row.blob_key).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row.sha256 == row.body["sha256"]
    assert ("rings", "rings.json") in documents and ("tuf/erp", "timestamp.json") in documents
    assert any(kind == "license" for kind, _name in documents)
    # importing it again changes nothing
    code, output = mirror("import", stick, "--dir", site)
    assert code == 0 and "nothing changed" in output
    again = held(site)
    assert set(again[0]) == set(packages) and again[1] == [1] and again[2] == documents
    assert again[4] == blobs


def _refused(site, stick, words: str):
    before = held(site)
    code, output = mirror("import", stick, "--dir", site)
    assert code == 1, output
    assert words in output, output
    after = held(site)
    assert set(after[0]) == set(before[0]) and after[1] == before[1] and after[2] == before[2]
    assert after[4] == before[4]  # no object left behind, temporaries included


def test_a_tampered_part_a_forged_manifest_and_a_truncated_part_are_refused(
    runner, client, vendor, tmp_path
):
    stick = tmp_path / "stick"
    export(runner, stick, "--part-mib", "1")
    site = new_mirror(client, tmp_path)
    manifest = manifest_of(stick)
    part = stick / manifest["parts"][1]["name"]
    original = part.read_bytes()
    part.write_bytes(original[:100] + bytes([original[100] ^ 1]) + original[101:])
    _refused(site, stick, f"part {part.name} does not match its SHA-256")
    part.write_bytes(original[:-10])
    _refused(site, stick, f"part {part.name} is")
    part.write_bytes(original)
    first = stick / manifest["parts"][0]["name"]
    head = first.read_bytes()
    first.write_bytes(b"\xff" * 600 + head[600:])  # the first member's header, mangled
    _refused(site, stick, f"part {first.name} does not match its SHA-256")
    first.write_bytes(head)
    body = stick / "acme-1.bundle.json"
    good = body.read_bytes()
    body.write_bytes(good.replace(b'"org":"acme"', b'"org":"acmf"'))
    _refused(site, stick, "signature does not verify")
    body.write_bytes(good)
    code, output = mirror("import", stick, "--dir", site)
    assert code == 0, output


def test_another_organisations_bundle_and_a_gap_are_refused(runner, client, vendor, tmp_path):
    grant_license(runner, org="globex", version="8.0")
    export(runner, tmp_path / "one")
    assert export(runner, tmp_path / "two", "--since", "1") == 2
    cli_ok(runner, "bundles", "export", "--org", "globex", "--out", str(tmp_path / "globex"))
    site = new_mirror(client, tmp_path)
    _refused(site, tmp_path / "two", "import bundle 1 first")
    assert mirror("import", tmp_path / "one", "--dir", site)[0] == 0
    _refused(site, tmp_path / "globex", "for organisation globex, this mirror is acme's")
    assert mirror("import", tmp_path / "two", "--dir", site)[0] == 0
    assert held(site)[1] == [1, 2]


def test_an_incremental_bundle_after_a_publish_and_a_key_rotation_is_trusted(
    runner, client, vendor, tmp_path
):
    export(runner, tmp_path / "one")
    site = new_mirror(client, tmp_path)
    assert mirror("import", tmp_path / "one", "--dir", site)[0] == 0
    cli_ok(runner, "keys", "rotate")
    fix = tmp_path / "fix.zip"
    fix.write_bytes(b"the fix")
    new = publish_file(runner, fix, version="8.0.2", kind="patch", applies_to=">=8.0,<8.0.2")
    assert export(runner, tmp_path / "two", "--since", "1") == 2
    manifest = manifest_of(tmp_path / "two")
    assert [p["id"] for p in manifest["packages"]] == [new]
    code, output = mirror("import", tmp_path / "two", "--dir", site)
    assert code == 0, output
    packages, bundles, _documents, state, _blobs = held(site)
    assert new in packages and bundles == [1, 2]
    assert manifest["kid"] in state.trusted_keys and len(state.trusted_keys) == 2


def test_an_import_killed_half_way_leaves_nothing_and_a_rerun_finishes(
    runner, client, vendor, tmp_path
):
    big = tmp_path / "big.zip"
    with big.open("wb") as out:
        for _ in range(96):
            out.write(os.urandom(1024 * 1024))
    publish_file(runner, big, version="8.0.3", kind="patch", applies_to=">=8.0,<8.0.3")
    stick = tmp_path / "stick"
    export(runner, stick, "--part-mib", "16")
    site = new_mirror(client, tmp_path)
    command = [
        sys.executable,
        "-m",
        "distro.cli",
        "mirror",
        "import",
        str(stick),
        "--dir",
        str(site),
    ]
    process = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": os.getcwd()})
    uploads = site / "store" / "uploads"
    deadline = time.monotonic() + 60
    while not any(uploads.glob("*")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the import ended before it could be killed"
    assert held(site)[0] == {} and held(site)[1] == []
    code, output = mirror("import", stick, "--dir", site)
    assert code == 0, output
    packages, bundles, _documents, _state, _blobs = held(site)
    assert len(packages) == 3 and bundles == [1]
    assert not any(uploads.glob("*"))  # the killed import's temporaries are gone


def test_a_bundle_signed_by_a_key_the_mirror_does_not_know_is_refused(
    runner, client, vendor, tmp_path
):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from distro.signing.signer import Signer

    stick = tmp_path / "stick"
    export(runner, stick)
    stranger = tmp_path / "stranger.pem"
    stranger.write_text(Signer.from_private(Ed25519PrivateKey.generate()).public_key_pem)
    site = tmp_path / "site"
    assert mirror("init", "--dir", site, "--vendor-key", stranger)[0] == 0
    _refused(site, stick, "no key this mirror trusts vouched for")


def test_an_export_refuses_an_organisation_without_licenses_and_an_unknown_since(
    runner, vendor, tmp_path
):
    result = runner.invoke(
        args=["bundles", "export", "--org", "globex", "--out", str(tmp_path / "g")]
    )
    assert result.exit_code == 1 and "globex holds no active license" in result.output
    result = runner.invoke(
        args=["bundles", "export", "--org", "acme", "--out", str(tmp_path / "a"), "--since", "7"]
    )
    assert result.exit_code == 1 and "no ready bundle 7" in result.output
    assert not any((tmp_path / "a").glob("*"))


def test_a_full_disk_stops_the_import_with_one_line_and_a_rerun_with_room_finishes(
    runner, client, vendor, tmp_path
):
    """The mirror's disk filling up is played by the kernel's file size limit on the
    import's process (a write past RLIMIT_FSIZE fails with EFBIG, as one on a full disk
    fails with ENOSPC: the store takes both for a full store): the 3 MiB installer does
    not fit in 1 MiB."""
    stick = tmp_path / "stick"
    export(runner, stick, "--part-mib", "1")
    site = new_mirror(client, tmp_path)

    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024 * 1024, 1024 * 1024))

    done = subprocess.run(
        [sys.executable, "-m", "distro.cli", "mirror", "import", str(stick), "--dir", str(site)],
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        preexec_fn=small_disk,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: bundle not imported: the mirror's store in {site} is full; nothing was "
        "taken in (make room there and run the import again)"
    ]
    packages, bundles, documents, _state, blobs = held(site)
    assert packages == {} and bundles == [] and documents == set() and blobs == []
    code, output = mirror("import", stick, "--dir", site)
    assert code == 0, output
    assert len(held(site)[0]) == 2


def test_a_bundle_whose_tuf_timestamp_expired_on_the_way_is_refused(
    runner, client, vendor, tmp_path, monkeypatch
):
    """It lives DISTRO_BUNDLE_VALID_DAYS (90); the clock of the import is moved past."""
    stick = tmp_path / "stick"
    export(runner, stick)
    site = new_mirror(client, tmp_path)
    expires = (utcnow() + timedelta(days=90)).date()
    monkeypatch.setattr("distro.mirror.imports.utcnow", lambda: utcnow() + timedelta(days=91))
    _refused(site, stick, f"TUF timestamp.json of erp expired on {expires:%Y-%m-%d}")
