"""Deltas on the server: `distro worker` builds them to each new package from the older
ones of its product, kind and release line; they are listed in the package's JSON, TUF
targets of their own, downloaded under the package's rule, audited, kept by the sweep."""

from __future__ import annotations

import hashlib
import io
import random
import zipfile

import pytest
from sqlalchemy import delete, select

from distro.audit.models import AuditEvent
from distro.deltas.apply import apply_delta
from distro.patches.models import PackageDelta
from tests.conftest import (
    cli_ok,
    db_session,
    grant_license,
    login,
    publish_file,
    run_worker,
    switch_language,
)
from tests.tuf.test_repository import updater_for


@pytest.fixture
def app_config(app_config, storage_url):
    return dict(app_config, STORAGE_URL=storage_url)


def _release(rng_seed: int, changed: int, modules: int = 30) -> bytes:
    """An installer zip of `modules` modules, `changed` of them edited, a build date
    of its own."""
    rng = random.Random(0)
    words = "ledger posting invoice tax module user period close".split()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(modules):
            text = "\n".join(" ".join(rng.choices(words, k=10)) for _ in range(300))
            if n < changed:
                text = text.replace("tax", f"vat{rng_seed}", 3)
            info = zipfile.ZipInfo(f"erp/m{n}.py", date_time=(2026, 1 + rng_seed, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
    return out.getvalue()


@pytest.fixture
def releases(runner, world, tmp_path):
    """acme holds erp 9.0; 9.0.1 and 9.0.2 are patches of the 9.0 line, 9.0.2 a few
    edits away from 9.0.1; the worker has run."""
    grant_license(runner, version="9.0")
    made = {}
    for version, seed, changed in (("9.0.1", 1, 0), ("9.0.2", 2, 2)):
        path = tmp_path / f"erp-{version}.zip"
        path.write_bytes(_release(seed, changed))
        made[version] = publish_file(
            runner, path, version=version, kind="patch", applies_to=f">=9.0,<{version}"
        )
        made[f"{version} bytes"] = path.read_bytes()
    assert "built the deltas of 2 packages" in run_worker(runner)
    return made


def test_the_worker_builds_a_delta_that_rebuilds_the_new_release(client, world, releases):
    auth = world.auth("installer@acme")
    body = client.get(f"/api/v1/packages/{releases['9.0.2']}", headers=auth).get_json()
    (delta,) = body["deltas"]
    assert delta["from"] == releases["9.0.1"]
    assert delta["size"] < len(releases["9.0.2 bytes"]) / 4
    url = f"/api/v1/packages/{releases['9.0.2']}/deltas/{releases['9.0.1']}/download"
    answer = client.get(url, headers=auth)
    assert answer.status_code == 200 and hashlib.sha256(answer.data).hexdigest() == delta["sha256"]
    rebuilt = io.BytesIO()
    apply_delta(io.BytesIO(releases["9.0.1 bytes"]), io.BytesIO(answer.data), rebuilt)
    assert rebuilt.getvalue() == releases["9.0.2 bytes"]
    ranged = client.get(url, headers={**auth, "Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.data == answer.data[:10]
    first = client.get(f"/api/v1/packages/{releases['9.0.1']}", headers=auth).get_json()
    assert first["deltas"] == []  # nothing older in its line


def test_delta_downloads_are_audited_and_follow_the_packages_rule(app, client, world, releases):
    url = f"/api/v1/packages/{releases['9.0.2']}/deltas/{releases['9.0.1']}/download"
    assert client.get(url, headers=world.auth("installer@acme")).status_code == 200
    with db_session(app) as session:
        (row,) = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "package.delta_download")
        ).all()
        assert row.target_id == releases["9.0.2"] and row.details["base"] == releases["9.0.1"]
    assert client.get(url, headers=world.auth("it@globex.test")).status_code == 404
    unknown = f"/api/v1/packages/{releases['9.0.2']}/deltas/{releases['9.0.2']}/download"
    assert client.get(unknown, headers=world.auth("installer@acme")).status_code == 404
    yank = client.post(
        f"/api/v1/packages/{releases['9.0.2']}/yank",
        json={"reason": "breaks GL"},
        headers=world.auth("pub@vendor.test"),
    )
    assert yank.status_code == 200
    assert client.get(url, headers=world.auth("installer@acme")).status_code == 410


def test_a_delta_is_a_tuf_target_a_stock_client_verifies(live_server, world, releases, tmp_path):
    updater = updater_for(live_server, world, tmp_path)
    updater.refresh()
    name = f"erp-9.0.2.zip.from-{releases['9.0.1']}.delta"
    info = updater.get_targetinfo(f"9.0.2/{name}")
    assert info.custom["from"] == releases["9.0.1"]
    assert info.custom["to"]["sha256"] == hashlib.sha256(releases["9.0.2 bytes"]).hexdigest()
    rebuilt = io.BytesIO()
    with open(updater.download_target(info), "rb") as delta:
        apply_delta(io.BytesIO(releases["9.0.1 bytes"]), delta, rebuilt)
    assert rebuilt.getvalue() == releases["9.0.2 bytes"]


def test_the_sweep_keeps_deltas_and_finds_one_whose_row_is_gone(app, runner, releases):
    assert "0 unreferenced" in cli_ok(runner, "storage", "sweep", "--older-than", "0")
    with db_session(app) as session:
        key = session.scalars(select(PackageDelta.storage_key)).one()
        session.execute(delete(PackageDelta))
        session.commit()
    swept = cli_ok(runner, "storage", "sweep", "--older-than", "0", "--delete")
    assert "1 unreferenced, 1 deleted" in swept
    assert not app.extensions["distro.storage"].exists(key)


def test_a_delta_larger_than_half_its_package_is_not_kept(client, world, runner, tmp_path):
    grant_license(runner, version="9.0")
    ids = []
    for version in ("9.0.1", "9.0.2"):
        path = tmp_path / f"erp-{version}.bin"
        path.write_bytes(random.Random(version).randbytes(200_000))  # nothing in common
        applies = f">=9.0,<{version}"
        ids.append(publish_file(runner, path, version=version, kind="patch", applies_to=applies))
    assert "built the deltas of 2 packages" in run_worker(runner)
    body = client.get(f"/api/v1/packages/{ids[1]}", headers=world.auth("installer@acme"))
    assert body.get_json()["deltas"] == []


def test_the_product_page_offers_the_update_from_the_previous_release(client, releases):
    login(client, "it@acme.test")
    page = client.get("/products/erp").get_data(as_text=True)
    assert "Update from 9.0.1" in page and " instead of " in page
    url = f"/api/v1/packages/{releases['9.0.2']}/deltas/{releases['9.0.1']}/download"
    assert f'href="{url}"' in page
    switch_language(client, "zh", "/products/erp")
    assert "从 9.0.1 更新" in client.get("/products/erp").get_data(as_text=True)
