"""The return trip: an offline site's installation reports, from its mirror's file, show
in the vendor's view of the organisation, each counted once."""

from __future__ import annotations

import io
import json

import pytest

from distro.mirror.app import create_mirror_app
from tests.bundles.conftest import export
from tests.bundles.test_mirror_import import mirror, new_mirror
from tests.conftest import cli_ok, login


@pytest.fixture
def reports_file(runner, client, vendor, tmp_path):
    """A reports file of acme's site: erp-site-01 checked, then installed the patch."""
    stick = tmp_path / "stick"
    export(runner, stick)
    folder = new_mirror(client, tmp_path)
    assert mirror("import", stick, "--dir", folder)[0] == 0
    token = mirror("tokens", "create", "--dir", folder, "--name", "site")[1].split()[-1]
    site = create_mirror_app(folder).test_client()
    auth = {"Authorization": f"Bearer {token}"}
    for event, version, package in [
        ("check", "8.0", None),
        ("installed", "8.0.1", vendor["patch"]),
    ]:
        body = {"installation": "erp-site-01", "product": "erp", "version": version, "event": event}
        if package:
            body["package_id"] = package
        answer = site.post("/api/v1/installations/report", json=body, headers=auth)
        assert answer.status_code == 201, answer.get_json()
    refused = site.post(
        "/api/v1/installations/report",
        json={"installation": "x", "product": "erp", "version": "8.0", "event": "boom"},
        headers=auth,
    )
    assert refused.status_code == 422
    for field, value, code in [
        ("product", "crm", "unknown_product"),
        ("package_id", "f" * 32, "unknown_package"),
    ]:
        body = {
            "installation": "x",
            "product": "erp",
            "version": "8.0",
            "event": "check",
            field: value,
        }
        wrong = site.post("/api/v1/installations/report", json=body, headers=auth)
        assert wrong.status_code == 422 and wrong.get_json()["error"]["code"] == code
    out = tmp_path / "reports.json"
    assert mirror("reports", "--dir", folder, "--out", out)[0] == 0
    return out


def _upload(client, world, who, path):
    return client.post(
        "/api/v1/installations/import",
        data={"file": (io.BytesIO(path.read_bytes()), "reports.json")},
        content_type="multipart/form-data",
        headers=world.auth(who),
    )


def test_imported_twice_each_report_counts_once(client, world, reports_file):
    first = _upload(client, world, "it@acme.test", reports_file)
    assert first.status_code == 200, first.get_json()
    assert first.get_json() == {"imported": 2, "already_imported": 0}
    again = _upload(client, world, "it@acme.test", reports_file)
    assert again.get_json() == {"imported": 0, "already_imported": 2}
    listed = client.get("/api/v1/installations", headers=world.auth("it@acme.test")).get_json()
    (site,) = [i for i in listed["items"] if i["installation"] == "erp-site-01"]
    assert site["version"] == "8.0.1" and site["via"] == "mirror"


def test_another_organisations_admin_cannot_import_them(runner, client, world, reports_file):
    answer = _upload(client, world, "it@globex.test", reports_file)
    assert answer.status_code == 403
    assert "reports of organisation 'acme'" in answer.get_json()["error"]["message"]
    result = runner.invoke(args=["installations", "import", str(reports_file), "--org", "globex"])
    assert result.exit_code == 1 and "cannot be imported as globex's" in result.output
    listed = client.get("/api/v1/installations", headers=world.auth("it@globex.test")).get_json()
    assert listed["items"] == []


def test_an_operator_imports_the_file_and_the_page_says_how_it_came(
    runner, client, world, reports_file, tmp_path
):
    result = runner.invoke(args=["installations", "import", str(reports_file), "--org", "acme"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "2"
    login(client, "it@acme.test")
    page = client.get("/installations").get_data(as_text=True)
    assert "erp-site-01" in page and "via offline mirror, reported" in page
    broken = tmp_path / "broken.json"
    document = json.loads(reports_file.read_bytes())
    document["reports"][0]["version"] = "eight"
    document["reports"][0]["id"] = "f" * 32
    broken.write_text(json.dumps(document))
    result = runner.invoke(args=["installations", "import", str(broken), "--org", "acme"])
    assert (
        result.exit_code == 1
        and "report 1" in result.output
        and "nothing was imported" in result.output
    )


def test_the_fleet_page_lists_the_offline_site(runner, client, world, reports_file):
    cli_ok(runner, "installations", "import", str(reports_file), "--org", "acme")
    login(client, "am@vendor.test")
    page = client.get("/fleet?product=erp").get_data(as_text=True)
    assert "Offline sites" in page and "erp-site-01" in page
    assert "via offline mirror, reported" in page
    login(client, "am2@vendor.test")  # manages globex, not acme
    assert "erp-site-01" not in client.get("/fleet?product=erp").get_data(as_text=True)
