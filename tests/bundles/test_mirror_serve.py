"""`distro mirror serve`: installers at the site fetch and verify as against the vendor,
with the site's own tokens, and report to the mirror."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import requests
from tuf.api.exceptions import DownloadHTTPError
from tuf.ngclient import Updater

from distro.client.trust import TokenFetcher
from tests.bundles.conftest import export
from tests.bundles.test_mirror_import import mirror, new_mirror
from tests.conftest import free_port


class MirrorProcess:
    """`distro mirror serve` in a process of its own, with no vendor setting at all."""

    def __init__(self, folder, tmp_path):
        self.url = f"http://127.0.0.1:{free_port()}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRO_")}
        bind = self.url.removeprefix("http://")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "distro.cli", "mirror", "serve", "--dir", str(folder)]
            + ["--bind", bind],
            env={**env, "PYTHONPATH": os.getcwd()},
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/api/v1/keys", timeout=2).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the mirror did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def site(runner, client, vendor, tmp_path):
    """A mirror that imported acme's full bundle, served; (server, token, vendor key)."""
    stick = tmp_path / "stick"
    export(runner, stick, "--part-mib", "1")
    folder = new_mirror(client, tmp_path)
    assert mirror("import", stick, "--dir", folder)[0] == 0
    code, output = mirror("tokens", "create", "--dir", folder, "--name", "erp-prod-01")
    assert code == 0, output
    server = MirrorProcess(folder, tmp_path)
    yield server.url, output.strip().splitlines()[-1], tmp_path / "vendor.pem", folder
    server.stop()


def test_distro_fetch_against_the_mirror_gets_the_vendors_bytes_verified(
    runner, client, world, vendor, site, tmp_path
):
    url, token, key, folder = site
    dest = tmp_path / "dest"
    result = runner.invoke(
        args=["fetch", "--server", url, "--token", token, "--product", "erp", "--dest", str(dest)]
        + ["--installer", "--version", "8.0", "--key", str(key), "--installation", "erp-prod-01"]
    )
    assert result.exit_code == 0, result.output
    vendor_bytes = client.get(
        f"/api/v1/packages/{vendor['installer']}/download", headers=world.auth("it@acme.test")
    ).data
    assert (dest / "erp-8.0-installer.zip").read_bytes() == vendor_bytes
    result = runner.invoke(
        args=["fetch", "--server", url, "--token", token, "--product", "erp", "--dest", str(dest)]
        + ["--from", "8.0", "--key", str(key), "--installation", "erp-prod-01"]
    )
    assert result.exit_code == 0, result.output
    assert (dest / "erp-8.0.1-patch.zip").is_file()
    # the reports reached the mirror, for the trip back to the vendor
    out = tmp_path / "reports.json"
    code, output = mirror("reports", "--dir", folder, "--out", out)
    assert code == 0, output
    reports = json.loads(out.read_bytes())["reports"]
    assert {r["installation"] for r in reports} == {"erp-prod-01"}
    assert {"check", "installed"} <= {r["event"] for r in reports}
    assert mirror("reports", "--dir", folder, "--out", out)[1].strip().endswith("0")


def test_a_stock_tuf_client_verifies_the_mirrors_targets(vendor, site, tmp_path, client, world):
    url, token, _key, _folder = site
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    base = f"{url}/api/v1/tuf/erp"
    root = http.get(f"{base}/metadata/1.root.json", timeout=10)
    assert root.status_code == 200
    trust = tmp_path / "trust"
    trust.mkdir()
    updater = Updater(
        metadata_dir=str(trust),
        metadata_base_url=f"{base}/metadata/",
        target_base_url=f"{base}/targets/",
        target_dir=str(tmp_path),
        fetcher=TokenFetcher(http, 10),
        bootstrap=root.content,
    )
    updater.refresh()
    target = updater.get_targetinfo("8.0.1/erp-8.0.1-patch.zip")
    assert target is not None
    path = updater.download_target(target, str(tmp_path / "patch.zip"))
    vendor_bytes = client.get(
        f"/api/v1/packages/{vendor['patch']}/download", headers=world.auth("it@acme.test")
    ).data
    assert open(path, "rb").read() == vendor_bytes
    with pytest.raises(DownloadHTTPError):  # 9.0 is not acme's: its role answers 404
        updater.get_targetinfo("9.0/erp-9.0-installer.zip")


def test_the_mirror_answers_only_its_own_tokens(runner, world, vendor, site):
    url, token, _key, _folder = site
    vendor_token = world.secrets["installer@acme"]
    for presented in (vendor_token, "", "dst_x_y"):
        answer = requests.get(
            f"{url}/api/v1/products", headers={"Authorization": f"Bearer {presented}"}, timeout=10
        )
        assert answer.status_code == 401, presented
    answer = requests.get(
        f"{url}/api/v1/products/erp/packages",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert {p["id"] for p in answer.json()["items"]} == {vendor["installer"], vendor["patch"]}
