"""The fleet summary that reports keep up to date says what counting every installation
and event would say, whatever the order of the reports; the worker copies it into the
day-by-day history that the adoption curves are drawn from."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from distro.core.clock import today
from distro.core.versions import version_key
from distro.installations import summary
from distro.installations.models import Installation, InstallationEvent
from distro.installations.summary import FleetDay, FleetFailure, FleetOrgVersion, FleetVersion
from tests.conftest import db_session, grant_license, publish_file, run_worker


def report(client, world, who, name, version, event="check", package_id=None):
    body = {"installation": name, "product": "erp", "version": version, "event": event}
    if package_id:
        body["package_id"] = package_id
    answer = client.post("/api/v1/installations/report", json=body, headers=world.auth(who))
    assert answer.status_code == 201, answer.get_json()


def recount(session) -> tuple[dict, dict, dict]:
    versions = {
        (key): (n, orgs)
        for key, n, orgs in session.execute(
            select(
                Installation.version_key,
                func.count(),
                func.count(func.distinct(Installation.org_id)),
            ).group_by(Installation.version_key)
        )
    }
    pairs = {
        (key, org): n
        for key, org, n in session.execute(
            select(Installation.version_key, Installation.org_id, func.count()).group_by(
                Installation.version_key, Installation.org_id
            )
        )
    }
    failures = {
        package: (n, orgs)
        for package, n, orgs in session.execute(
            select(
                InstallationEvent.package_id,
                func.count(),
                func.count(func.distinct(Installation.org_id)),
            )
            .join(Installation, Installation.id == InstallationEvent.installation_id)
            .where(InstallationEvent.event == "failed", InstallationEvent.package_id.is_not(None))
            .group_by(InstallationEvent.package_id)
        )
    }
    return versions, pairs, failures


def summarised(session) -> tuple[dict, dict, dict]:
    versions = {
        row.version_key: (row.installations, row.orgs)
        for row in session.scalars(select(FleetVersion))
        if row.installations
    }
    pairs = {
        (r.version_key, r.org_id): r.installations for r in session.scalars(select(FleetOrgVersion))
    }
    failures = {r.package_id: (r.failures, r.orgs) for r in session.scalars(select(FleetFailure))}
    return versions, pairs, failures


def test_the_summary_matches_a_recount_after_reports_in_any_order(
    app, client, runner, world, tmp_path
):
    for org in ("acme", "globex"):
        grant_license(runner, org=org, version="9.0")
    patches = []
    for n in (1, 2):
        path = tmp_path / f"p{n}.bin"
        path.write_bytes(f"patch {n}".encode())
        patches.append(
            publish_file(runner, path, version=f"9.0.{n}", kind="patch", applies_to=">=9.0,<9.1")
        )
    chance = random.Random(20261201)
    for _ in range(80):
        who = chance.choice(["installer@acme", "installer@globex"])
        name = f"host-{chance.randrange(6)}"
        version = chance.choice(["9.0", "9.0.1", "9.0.2", "9.0.0"])  # 9.0 and 9.0.0: one key
        if chance.random() < 0.25:
            report(client, world, who, name, version, "failed", chance.choice(patches))
        else:
            report(client, world, who, name, version)
    with db_session(app) as session:
        assert summarised(session) == recount(session)
        assert sum(n for n, _orgs in summarised(session)[0].values()) == session.scalar(
            select(func.count()).select_from(Installation)
        )


def test_the_worker_copies_todays_counts_for_the_adoption_curves(app, client, runner, world):
    grant_license(runner, version="9.0")
    for name, version in (("a", "9.0"), ("b", "9.0"), ("c", "9.0.1")):
        report(client, world, "installer@acme", name, version)
    run_worker(runner)
    assert counts_today(app) == {version_key("9.0"): 2, version_key("9.0.1"): 1}
    report(client, world, "installer@acme", "a", "9.0.1")
    with db_session(app) as session:
        assert summary.copy_today(session, today()) == 2
        session.commit()
    assert counts_today(app) == {version_key("9.0"): 1, version_key("9.0.1"): 2}


def counts_today(app) -> dict[str, int]:
    with db_session(app) as session:
        rows = session.scalars(select(FleetDay).where(FleetDay.day == today())).all()
        return {r.version_key: r.installations for r in rows}
