"""`distro bundles export`: a signed bundle of everything an organisation may download."""

from __future__ import annotations

import base64
import hashlib
import json
import tarfile
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from distro.bundles.format import PartReader
from distro.patches.models import Product
from distro.signing.signer import canonical_json, load_public_pem, verify
from distro.tuf import repository
from tests.bundles.conftest import export, manifest_of
from tests.conftest import db_session


def _members(folder, manifest) -> dict[str, bytes]:
    with tarfile.open(fileobj=PartReader(folder, manifest["parts"]), mode="r|") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}


def test_a_full_bundle_holds_what_the_organisation_may_download_signed(
    runner, client, vendor, tmp_path
):
    out = tmp_path / "stick"
    assert export(runner, out, "--part-mib", "1") == 1
    manifest = manifest_of(out)
    body = (out / "acme-1.bundle.json").read_bytes()
    assert body == canonical_json(manifest)
    key = next(
        k for k in client.get("/api/v1/keys").get_json()["items"] if k["kid"] == manifest["kid"]
    )
    verify(
        load_public_pem(key["public_key_pem"]),
        body,
        base64.b64decode((out / "acme-1.bundle.sig").read_bytes()),
    )
    assert {p["id"] for p in manifest["packages"]} == {vendor["installer"], vendor["patch"]}
    assert manifest["org"] == "acme" and manifest["seq"] == 1 and manifest["since"] is None
    # 3 MiB of installer in parts of at most 1 MiB, each with its size and hash
    assert len(manifest["parts"]) >= 4
    for part in manifest["parts"]:
        data = (out / part["name"]).read_bytes()
        assert len(data) == part["size"] <= 1024 * 1024
        assert hashlib.sha256(data).hexdigest() == part["sha256"]
    members = _members(out, manifest)
    for package in manifest["packages"]:
        data = members[package["member"]]
        assert (
            hashlib.sha256(data).hexdigest() == package["sha256"] and len(data) == package["size"]
        )
    assert len(manifest["licenses"]) == 1 and manifest["licenses"][0]["member"] in members
    assert {t["name"] for t in manifest["tuf"]} >= {"1.root.json", "timestamp.json"}
    assert not any(t["name"].endswith(".9.0.json") for t in manifest["tuf"])


def test_an_incremental_bundle_carries_only_what_is_new(runner, vendor, tmp_path):
    export(runner, tmp_path / "one")
    assert export(runner, tmp_path / "two", "--since", "1") == 2
    assert manifest_of(tmp_path / "two")["packages"] == []


def test_the_bundles_timestamp_outlives_the_trip_and_online_clients_get_a_fresh_one(
    app, runner, vendor, tmp_path
):
    out = tmp_path / "stick"
    export(runner, out)
    members = _members(out, manifest_of(out))
    signed = json.loads(members["tuf/erp/timestamp.json"])["signed"]
    expires = datetime.fromisoformat(signed["expires"].replace("Z", "+00:00"))
    assert expires - datetime.now(UTC) > timedelta(days=89)
    with db_session(app) as session:
        product = session.scalars(select(Product).where(Product.code == "erp")).one()
        assert not repository.timestamp_is_stale(session, product)
        row = repository.latest(session, product.id, "timestamp")
        assert row.version == signed["version"]
        row.created_at -= timedelta(hours=13)  # half a day on: online clients get a new one
        session.commit()
        assert repository.timestamp_is_stale(session, product)
