"""The vendor's fleet view against a seeded fleet, and the account manager's eligible
upgrades with a bulk request where one line fails."""

from __future__ import annotations

from sqlalchemy import select

from distro.accounts.actor import Actor
from distro.accounts.models import User
from distro.installations import fleet
from distro.licenses.models import LicenseRequest
from distro.patches.products import find_product
from tests.accounts.test_login import csrf_token, login
from tests.conftest import db_session, grant_license, publish_file, run_worker
from tests.installations.conftest import report


def seed_fleet(client, world, runner, nine) -> None:
    """acme: two installations on 9.0.2, one on 9.0; globex: one on 9.0.1 whose 9.0.2
    install failed."""
    grant_license(runner, org="globex", version="9.0", expires="2099-12-31")
    for name, version in (("a1", "9.0.2"), ("a2", "9.0.2"), ("a3", "9.0")):
        report(client, world, installation=name, version=version)
    report(client, world, who="installer@globex", installation="g1", version="9.0.1")
    report(
        client,
        world,
        who="installer@globex",
        installation="g1",
        version="9.0.1",
        event="failed",
        package_id=nine["9.0.2"],
        error="disk full",
    )


def view_for(app, email: str):
    with app.test_request_context(), db_session(app) as session:
        user = session.scalars(select(User).filter_by(email=email)).one()
        return fleet.fleet(session, Actor(user=user), find_product(session, "erp"))


def test_the_fleet_counts_versions_currency_and_failures(app, client, world, runner, nine):
    seed_fleet(client, world, runner, nine)
    everyone = view_for(app, "pub@vendor.test")
    assert (everyone.installations, everyone.on_newest, everyone.percent_on_newest) == (4, 2, 50)
    assert [(r.version, r.installations, r.orgs, r.on_newest) for r in everyone.versions] == [
        ("9.0.2", 2, 1, True),
        ("9.0.1", 1, 1, False),
        ("9.0", 1, 1, False),
    ]
    (failure,) = everyone.failures
    assert (failure.package.version, failure.failures, failure.orgs, failure.last_error) == (
        "9.0.2",
        1,
        1,
        "disk full",
    )
    mine = view_for(app, "am@vendor.test")  # acme only
    assert (mine.installations, mine.percent_on_newest, mine.failures) == (3, 67, [])

    login(client, "pub@vendor.test")
    page = client.get("/fleet?product=erp").get_data(as_text=True)
    assert "4 installations; 50% on the newest patch of their release line." in page
    assert "disk full" in page


def test_a_bulk_upgrade_request_reports_each_line(app, world, runner, nine, tmp_path):
    installer = tmp_path / "erp-9.1.bin"
    installer.write_bytes(b"nine one")
    publish_file(runner, installer, version="9.1")
    grant_license(runner, org="globex", version="9.0", expires="2099-12-31")
    api, client = app.test_client(), app.test_client()
    login(client, "am@vendor.test")
    page = client.get("/fleet").get_data(as_text=True)
    acme_license = api.get("/api/v1/licenses", headers=world.auth("am@vendor.test")).get_json()[
        "items"
    ][0]
    assert acme_license["serial"] in page and ">9.1<" in page
    globex_license = api.get("/api/v1/licenses", headers=world.auth("am2@vendor.test")).get_json()[
        "items"
    ][0]

    answer = client.post(
        "/fleet/upgrades",
        data={
            "license_id": [acme_license["id"], globex_license["id"]],
            "csrf_token": csrf_token(client, "/fleet"),
        },
    )
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "1 of 2 upgrade requests were submitted." in text
    assert "not eligible" in text
    with db_session(app) as session:
        made = session.scalars(select(LicenseRequest)).all()
    assert [(r.license_id, r.target_version, r.status) for r in made] == [
        (acme_license["id"], "9.1", "pending")
    ]
    # Requested now, so no longer eligible.
    assert acme_license["serial"] not in client.get("/fleet").get_data(as_text=True)


def test_the_fleet_page_draws_its_numbers_and_offers_them_as_csv(app, client, world, runner, nine):
    seed_fleet(client, world, runner, nine)
    run_worker(runner)  # copies today's counts for the adoption curves
    login(client, "pub@vendor.test")
    page = client.get("/fleet?product=erp").get_data(as_text=True)
    assert page.count('<rect x="110"') == 3  # one bar per version in use
    assert 'class="curve s0"' in page and 'class="failed' in page  # 9.0.2 failed today
    versions = client.get("/fleet.csv?product=erp&table=versions").get_data(as_text=True)
    assert versions.splitlines()[1:] == ["9.0.2,2,1,True", "9.0.1,1,1,False", "9.0,1,1,False"]
    adoption = client.get("/fleet.csv?product=erp&table=adoption").get_data(as_text=True)
    rows = [line.split(",") for line in adoption.splitlines()[1:]]
    shares = {row[1]: float(row[3]) for row in rows}
    assert shares == {"9.0.2": 0.5, "9.0.1": 0.75}  # of the four installations on 9.0
    assert {row[1]: int(row[4]) for row in rows}["9.0.2"] == 1
    assert client.get("/fleet.csv?product=nope").status_code == 404
