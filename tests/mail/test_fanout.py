"""A publish's news goes to every entitled organisation exactly once, fanned out by the
worker in pages after the publish committed: never from a rolled-back publish, once
across two workers, once across a worker killed half-way, while downloads keep going."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests
from sqlalchemy import func, select

from distro.accounts.actor import Actor
from distro.accounts.models import User
from distro.core.events import Event
from distro.mail import events as mail_events
from distro.mail import worker
from distro.mail.models import OutboxMessage
from distro.patches import services as package_services
from distro.signing.keys import active_signer, get_key_source
from distro.storage.factory import get_storage
from tests.conftest import ROOT, Gunicorn, cli_ok, db_session, publish_file


@pytest.fixture
def app_config(app_config):
    return {**app_config, "FANOUT_BATCH": 100}  # several pages of few organisations


def seed_customers(runner, tmp_path, count: int) -> None:
    """`count` organisations, each with a customer admin and an erp 9.0 subscription,
    brought in by the bulk import (as a vendor would)."""
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("code,name\n" + "".join(f"c{i:05d},Customer {i}\n" for i in range(count)))
    users = tmp_path / "users.csv"
    users.write_text(
        "email,role,org\n"
        + "".join(f"admin@c{i:05d}.test,customer_admin,c{i:05d}\n" for i in range(count))
    )
    licenses = tmp_path / "licenses.csv"
    licenses.write_text(
        "serial,org,product,version,modules,users,kind,deployment,starts,expires\n"
        + "".join(
            f"S{i:05d},c{i:05d},erp,9.0,fin,10,subscription,on_premises,2026-01-01,2099-01-01\n"
            for i in range(count)
        )
    )
    for kind, path in (("orgs", orgs), ("users", users), ("licenses", licenses)):
        cli_ok(runner, "import", kind, str(path))


def publish_patch(runner, tmp_path, version: str = "9.0.1") -> str:
    path = tmp_path / f"erp-{version}.bin"
    path.write_bytes(os.urandom(1024))
    return publish_file(runner, path, version=version, kind="patch", applies_to=">=9.0,<9.0.9")


def notices_per_org(app) -> dict[str, int]:
    with db_session(app) as session:
        return dict(
            session.execute(
                select(OutboxMessage.org_id, func.count())
                .where(OutboxMessage.kind == "package_published")
                .group_by(OutboxMessage.org_id)
            ).all()
        )


def the_event(app) -> Event:
    with db_session(app) as session:
        return session.scalars(select(Event).where(Event.kind == "package.published")).one()


def test_every_entitled_organisation_is_told_once_in_pages(app, runner, world, tmp_path):
    seed_customers(runner, tmp_path, 350)
    publish_patch(runner, tmp_path)
    with db_session(app) as session:  # the publish itself queued no mail
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert "handled 1 events" in cli_ok(runner, "worker", "--once")
    sent = notices_per_org(app)
    assert len(sent) == 350 and set(sent.values()) == {1}
    event = the_event(app)
    assert event.done_at is not None and event.done_count == 350
    assert "handled 0 events" in cli_ok(runner, "worker", "--once")
    assert notices_per_org(app) == sent


def test_two_workers_at_once_still_tell_each_organisation_once(app, runner, world, tmp_path):
    seed_customers(runner, tmp_path, 350)
    publish_patch(runner, tmp_path)
    threads = [threading.Thread(target=worker.run_until_idle, args=(app,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = notices_per_org(app)
    assert len(sent) == 350 and set(sent.values()) == {1}


def test_a_fan_out_that_failed_half_way_goes_on_where_it_stood(
    app, runner, world, tmp_path, monkeypatch
):
    seed_customers(runner, tmp_path, 350)
    publish_patch(runner, tmp_path)
    real, pages = mail_events.notices.package_published, []

    def second_page_fails(session, package, org_ids):
        pages.append(len(org_ids))
        if len(pages) == 2:
            raise ConnectionError("the database went away")
        return real(session, package, org_ids)

    monkeypatch.setattr(mail_events.notices, "package_published", second_page_fails)
    cli_ok(runner, "worker", "--once")
    event = the_event(app)
    assert (event.done_at, event.done_count) == (None, 100)
    assert "ConnectionError" in event.last_error
    assert len(notices_per_org(app)) == 100
    monkeypatch.setattr(mail_events.notices, "package_published", real)
    expire_leases(app)
    cli_ok(runner, "worker", "--once")
    sent = notices_per_org(app)
    assert len(sent) == 350 and set(sent.values()) == {1}


def expire_leases(app) -> None:
    """What the clock does for a dead worker's claim after `core.events.LEASE`."""
    with db_session(app) as session:
        for event in session.scalars(select(Event).where(Event.lease_until.is_not(None))):
            event.lease_until = event.created_at
        session.commit()


def worker_process(app_config, **settings) -> subprocess.Popen:
    env = {
        **settings,
        **os.environ,
        "DISTRO_DATABASE_URL": app_config["DATABASE_URL"],
        "DISTRO_SIGNING_KEYS_DIR": app_config["SIGNING_KEYS_DIR"],
        "DISTRO_STORAGE_URL": app_config["STORAGE_URL"],
        "DISTRO_MAIL_POLL_SECONDS": "0.2",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "distro.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_killed_worker_loses_nothing_and_repeats_nothing(
    app, app_config, runner, world, tmp_path
):
    seed_customers(runner, tmp_path, 600)
    publish_patch(runner, tmp_path)
    process = worker_process(app_config, DISTRO_FANOUT_BATCH="10")  # 60 pages: killed early
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and the_event(app).done_count == 0:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        process.kill()
    half = the_event(app).done_count
    assert 0 < half < 600, half
    expire_leases(app)
    cli_ok(runner, "worker", "--once")
    sent = notices_per_org(app)
    assert len(sent) == 600 and set(sent.values()) == {1}


def test_a_publish_that_rolled_back_tells_nobody(app, runner, world, tmp_path):
    seed_customers(runner, tmp_path, 5)
    with app.test_request_context(), db_session(app) as session:
        publisher = session.scalars(select(User).where(User.email == "pub@vendor.test")).one()
        storage = get_storage()
        upload = storage.open_writer(1024)
        upload.write(b"a patch that never was")
        fields = package_services.check_fields(
            session,
            product="erp",
            version="9.0.1",
            kind="patch",
            filename="p.bin",
            applies_to=">=9.0,<9.0.1",
        )
        signer = active_signer(session, get_key_source())
        package_services.publish_package(
            session, storage, signer, Actor(user=publisher), fields, upload
        )
        assert session.scalar(select(func.count()).select_from(Event)) == 1
        session.rollback()
    cli_ok(runner, "worker", "--once")
    assert notices_per_org(app) == {}


@pytest.fixture
def server(app, world):
    server = Gunicorn(app.config, workers=1)
    yield server
    server.stop()


def test_downloads_keep_answering_while_a_fan_out_of_5000_runs(
    app, app_config, server, runner, world, tmp_path
):
    """One gevent worker on the embedded database, a worker fanning out to 5,000
    organisations, and an installer downloading a range every 50 ms meanwhile: every
    download answers (each writes its audit row, so each needs the write lock)."""
    seed_customers(runner, tmp_path, 5000)
    cli_ok(
        runner,
        "licenses",
        "grant",
        "--org",
        "acme",
        "--product",
        "erp",
        "--version",
        "9.0",
        "--modules",
        "fin",
        "--users",
        "5",
        "--kind",
        "subscription",
        "--deployment",
        "on_premises",
        "--starts",
        "2026-01-01",
        "--expires",
        "2099-01-01",
    )
    package_id = publish_patch(runner, tmp_path)
    process = worker_process(app_config)
    answers, waits = [], []
    try:
        deadline = time.monotonic() + 120
        with requests.Session() as http:
            while time.monotonic() < deadline:
                started = time.monotonic()
                answer = http.get(
                    f"{server.url}/api/v1/packages/{package_id}/download",
                    headers={**world.auth("installer@acme"), "Range": "bytes=0-1023"},
                    timeout=60,
                )
                waits.append(time.monotonic() - started)
                answers.append(answer.status_code)
                event = the_event(app)
                if event.done_at is not None:
                    break
                time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert the_event(app).done_count == 5001  # with acme
    assert len(answers) > 5 and set(answers) == {206}, answers
    print(f"{len(answers)} downloads during the fan-out, worst wait {max(waits):.3f} s")
