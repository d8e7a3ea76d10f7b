"""Catalogue and entitlement: what each organisation sees, and update plans."""

from __future__ import annotations

import pytest

from tests.patches.conftest import grant, publish, published


@pytest.fixture
def catalogue(client, world, runner):
    """8.0 and 9.0 lines of erp; acme licensed for 8.0 only; globex for 9.0."""
    grant(runner, "acme", "8.0")
    grant(runner, "globex", "9.0")
    made = {}
    for version, kind, applies in [
        ("8.0", "installer", None),
        ("8.0.1", "patch", ">=8.0,<8.0.1"),
        ("8.0.2", "patch", ">=8.0.1,<8.0.2"),
        ("8.0.3", "patch", ">=8.0,<8.0.3"),
        ("8.1", "feature_pack", ">=8.0.3,<8.1"),
        ("9.0", "installer", None),
        ("9.0.1", "patch", ">=9.0,<9.0.1"),
    ]:
        made[version] = published(
            client,
            world,
            f"{version} {kind}".encode(),
            version=version,
            kind=kind,
            applies_to=applies,
            filename=f"{version}.bin",
        )
    return made


def ids(answer):
    return [item["version"] for item in answer.get_json()["items"]]


def test_products_list_only_licensed_ones(client, world, catalogue):
    acme = client.get("/api/v1/products", headers=world.auth("it@acme.test")).get_json()
    assert acme["items"] == [{"code": "erp", "name": "ERP Suite"}]
    staff = client.get("/api/v1/products", headers=world.auth("am@vendor.test")).get_json()
    assert [p["code"] for p in staff["items"]] == ["crm", "erp"]


def test_packages_are_newest_first_within_the_licensed_line(client, world, catalogue):
    acme = client.get("/api/v1/products/erp/packages", headers=world.auth("installer@acme"))
    assert ids(acme) == ["8.0.3", "8.0.2", "8.0.1", "8.0"]  # 8.1 is a newer line
    globex = client.get("/api/v1/products/erp/packages", headers=world.auth("it@globex.test"))
    assert ids(globex)[:2] == ["9.0.1", "9.0"] and len(ids(globex)) == 7


def test_filters_and_pagination(client, world, catalogue):
    headers = world.auth("pub@vendor.test")
    patches = client.get("/api/v1/products/erp/packages?kind=patch", headers=headers)
    assert ids(patches) == ["9.0.1", "8.0.3", "8.0.2", "8.0.1"]
    exact = client.get("/api/v1/products/erp/packages?version=8.0.2", headers=headers)
    assert ids(exact) == ["8.0.2"]
    seen, cursor = [], None
    while True:
        url = "/api/v1/products/erp/packages?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=headers).get_json()
        seen += [item["version"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["9.0.1", "9.0", "8.1", "8.0.3", "8.0.2", "8.0.1", "8.0"]
    for bad in ("limit=0", "limit=501", "cursor=%%%", "kind=hotfix", "version=x"):
        answer = client.get(f"/api/v1/products/erp/packages?{bad}", headers=headers)
        assert answer.status_code == 400, bad


def test_newer_line_packages_are_404_for_an_older_license(client, world, catalogue):
    newer = catalogue["9.0.1"]["id"]
    for path in (f"/api/v1/packages/{newer}", f"/api/v1/packages/{newer}/download"):
        answer = client.get(path, headers=world.auth("installer@acme"))
        assert answer.status_code == 404
        assert answer.get_json()["error"]["code"] == "not_found"


def test_an_organisation_without_license_sees_no_product(client, world, catalogue, runner):
    answer = client.get("/api/v1/products/crm/packages", headers=world.auth("it@acme.test"))
    assert answer.status_code == 404


def test_expired_license_gives_no_entitlement(client, world, runner):
    grant(runner, "acme", "7.0", product="crm", expires="2026-01-02")
    published(
        client, world, b"crm", product="crm", version="7.0", kind="installer", applies_to=None
    )
    assert (
        client.get("/api/v1/products/crm/packages", headers=world.auth("it@acme.test")).status_code
        == 404
    )


def test_update_plan_takes_the_longest_steps(client, world, catalogue):
    plan = client.get(
        "/api/v1/products/erp/updates?from=8.0", headers=world.auth("installer@globex")
    )
    assert ids(plan) == ["8.0.3", "8.1"]
    from_middle = client.get(
        "/api/v1/products/erp/updates?from=8.0.1", headers=world.auth("installer@globex")
    )
    assert ids(from_middle) == ["8.0.3", "8.1"]  # 8.0.3 also applies to 8.0.1
    latest = client.get(
        "/api/v1/products/erp/updates?from=8.1", headers=world.auth("installer@globex")
    )
    assert ids(latest) == []


def test_update_plan_stays_within_the_entitled_line(client, world, catalogue):
    plan = client.get("/api/v1/products/erp/updates?from=8.0", headers=world.auth("installer@acme"))
    assert ids(plan) == ["8.0.3"]


def test_update_plan_skips_yanked_packages(client, world, catalogue):
    client.post(
        f"/api/v1/packages/{catalogue['8.0.3']['id']}/yank",
        json={"reason": "bad"},
        headers=world.auth("pub@vendor.test"),
    )
    plan = client.get(
        "/api/v1/products/erp/updates?from=8.0", headers=world.auth("installer@globex")
    )
    assert ids(plan) == ["8.0.1", "8.0.2"]


@pytest.mark.parametrize("query", ["", "?from=", "?from=8.a", "?from=1.2.3.4.5"])
def test_update_plan_needs_a_valid_version(client, world, catalogue, query):
    answer = client.get(
        f"/api/v1/products/erp/updates{query}", headers=world.auth("installer@acme")
    )
    assert answer.status_code in (400, 422)
    assert answer.get_json()["error"]["field"] == "from"


def test_package_detail_carries_manifest_signature_and_kid(client, world, catalogue):
    detail = client.get(
        f"/api/v1/packages/{catalogue['8.0.1']['id']}", headers=world.auth("installer@acme")
    ).get_json()
    assert detail["manifest"].startswith('{"applies_to":">=8.0,<8.0.1"')
    assert detail["kid"] and detail["signature"] and detail["yanked"] is False


def test_token_of_one_org_cannot_fetch_another_orgs_entitled_package(client, world, runner):
    grant(runner, "globex", "9.0", product="crm")
    package = published(
        client, world, b"crm 9", product="crm", version="9.0", kind="installer", applies_to=None
    )
    assert (
        client.get(
            f"/api/v1/packages/{package['id']}/download", headers=world.auth("installer@globex")
        ).status_code
        == 200
    )
    assert (
        client.get(
            f"/api/v1/packages/{package['id']}/download", headers=world.auth("installer@acme")
        ).status_code
        == 404
    )


def test_staff_download_everything(client, world, catalogue):
    answer = client.get(
        f"/api/v1/packages/{catalogue['9.0.1']['id']}/download",
        headers=world.auth("appr@vendor.test"),
    )
    assert answer.status_code == 200


def test_publish_refuses_duplicates_only_on_the_same_identity(client, world, catalogue):
    again = publish(
        client, world, b"other", version="8.0.1", applies_to=">=8.0,<8.0.1", filename="8.0.1.bin"
    )
    assert again.status_code == 409
