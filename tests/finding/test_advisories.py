"""Advisories: what closes a hole or fixes something grave, newest first, and for a
customer which of its installations each one affects and whether their ring may take it."""

from __future__ import annotations


def listed(client, world, who, **args) -> list[dict]:
    answer = client.get("/api/v1/advisories", query_string=args, headers=world.auth(who))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["items"]


def test_staff_see_every_advisory_newest_first_with_fleet_counts(client, world, catalogue, fleet):
    items = listed(client, world, "pub@vendor.test")
    assert [i["id"] for i in items] == [catalogue["nine"], catalogue["tls"], catalogue["voucher"]]
    counts = {i["id"]: i["affected_count"] for i in items}
    # 8.0 runs on erp-prod-01 and globex-erp, 8.0.1 on erp-old: below 8.0.2 are all three.
    assert counts == {catalogue["voucher"]: 2, catalogue["tls"]: 3, catalogue["nine"]: 0}


def test_a_customer_sees_its_own_affected_installations_and_what_their_ring_allows(
    client, world, catalogue, fleet
):
    items = {i["id"]: i for i in listed(client, world, "it@acme.test")}
    assert set(items) == {catalogue["tls"], catalogue["voucher"]}  # 9.0 is beyond its license
    tls = items[catalogue["tls"]]
    assert (tls["severity"], tls["cves"], tls["affected_count"]) == (
        "critical",
        ["CVE-2026-31337"],
        2,
    )
    assert tls["affected"] == [
        {
            "id": fleet["erp-old"],
            "name": "erp-old",
            "version": "8.0.1",
            "ring": "default",
            "ring_approved_version": None,
            "can_take": True,
        },
        {
            "id": fleet["erp-prod-01"],
            "name": "erp-prod-01",
            "version": "8.0",
            "ring": "prod",
            "ring_approved_version": "8.0.1",
            "can_take": False,  # the prod ring must approve 8.0.2 first
        },
    ]
    voucher = items[catalogue["voucher"]]
    assert [(a["name"], a["can_take"]) for a in voucher["affected"]] == [("erp-prod-01", True)]


def test_filters_and_bad_input(client, world, catalogue, fleet):
    assert [i["id"] for i in listed(client, world, "it@acme.test", severity="critical")] == [
        catalogue["tls"]
    ]
    assert len(listed(client, world, "it@acme.test", product="erp", severity="high")) == 2
    bad = client.get(
        "/api/v1/advisories", query_string={"severity": "bad"}, headers=world.auth("it@acme.test")
    )
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "severity"
    unknown = client.get(
        "/api/v1/advisories", query_string={"product": "crm"}, headers=world.auth("it@acme.test")
    )
    assert unknown.status_code == 404


def test_the_start_page_counts_installations_under_grave_advisories(client, world, fleet):
    from tests.conftest import login

    login(client, "it@acme.test")
    page = client.get("/").get_data(as_text=True)
    assert "Installations affected by critical or high advisories: 2" in page
    assert 'href="/advisories' in page
