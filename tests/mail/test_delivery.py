"""The five kinds of mail: who receives what, in which language, with which attachment,
and that the outbox loses nothing when the SMTP server is down."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

from sqlalchemy import func, select, update

from distro.accounts.actor import Actor
from distro.accounts.models import User
from distro.core.clock import today, utcnow
from distro.core.events import Event
from distro.licenses import upgrades
from distro.mail import outbox, worker
from distro.mail.models import OutboxMessage
from distro.signing.keys import active_signer, get_key_source
from tests.accounts.test_login import csrf_token, login
from tests.conftest import (
    PASSWORD,
    body_of,
    cli_ok,
    db_session,
    grant_license,
    publish_file,
    run_worker,
    switch_language,
)


def set_user(app, email: str, **values) -> None:
    with db_session(app) as session:
        session.execute(update(User).where(User.email == email).values(**values))
        session.commit()


def outbox_rows(app) -> list[OutboxMessage]:
    with db_session(app) as session:
        return session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)).all()


def upgrade_to_9(client, world, runner, tmp_path) -> dict:
    """acme's erp 8.0 subscription, a published 9.0, and a pending request for it."""
    license_id = grant_license(runner, modules="fin,hr", users="40", expires="2099-12-31")
    installer = tmp_path / "erp-9.0-setup.bin"
    installer.write_bytes(os.urandom(10_000))
    publish_file(runner, installer, version="9.0")
    run_worker(runner)  # its news went out while acme held 8.0: to nobody
    made = client.post(
        "/api/v1/license-requests",
        json={"license_id": license_id, "target_version": "9.0"},
        headers=world.auth("am@vendor.test"),
    )
    assert made.status_code == 201, made.get_json()
    return made.get_json()


def test_an_approved_upgrade_mails_the_license_file_to_the_customer_admins(
    app, client, world, runner, mailbox, tmp_path
):
    set_user(app, "it@acme.test", language="zh")
    request = upgrade_to_9(client, world, runner, tmp_path)
    issued = client.post(
        f"/api/v1/license-requests/{request['id']}/approve",
        json={},
        headers=world.auth("appr@vendor.test"),
    ).get_json()
    assert "sent 2" in run_worker(runner)

    to_customer = mailbox.one_to("it@acme.test")
    assert to_customer["Subject"] == "您的 ERP Suite 9.0 新许可"
    assert "distro verify license" in body_of(to_customer)
    assert "新的许可文件见附件" in body_of(to_customer, "html")
    (attachment,) = to_customer.iter_attachments()
    assert attachment.get_filename() == f"{issued['serial']}.lic"
    served = client.get(
        f"/api/v1/licenses/{issued['id']}/file", headers=world.auth("it@acme.test")
    ).data
    assert attachment.get_content() == served

    (tmp_path / "attached.lic").write_bytes(attachment.get_content())
    key = client.get("/api/v1/keys").get_json()["items"][0]["public_key_pem"]
    (tmp_path / "key.pem").write_text(key)
    verified = runner.invoke(
        args=[
            "verify",
            "license",
            str(tmp_path / "attached.lic"),
            "--key",
            str(tmp_path / "key.pem"),
        ]
    )
    assert verified.exit_code == 0, verified.output
    assert issued["serial"] in verified.output

    copy = mailbox.one_to("am@vendor.test")
    assert copy["Subject"] == f"Copy: license {issued['serial']} issued to ACME 有限公司"
    assert [a.get_content() for a in copy.iter_attachments()] == [served]
    assert mailbox.to("it@globex.test") == []


def test_a_rejection_tells_the_account_manager_why(app, client, world, runner, mailbox, tmp_path):
    request = upgrade_to_9(client, world, runner, tmp_path)
    client.post(
        f"/api/v1/license-requests/{request['id']}/reject",
        json={"reason": "the 9.0 line is not released for on-premises yet"},
        headers=world.auth("appr@vendor.test"),
    )
    run_worker(runner)
    rejected = mailbox.one_to("am@vendor.test")
    assert rejected["Subject"] == "Upgrade request for ACME 有限公司 rejected"
    assert "the 9.0 line is not released for on-premises yet" in body_of(rejected)
    assert mailbox.to("it@acme.test") == []


def test_a_publish_notifies_each_entitled_organisation_once(
    app, client, world, runner, mailbox, tmp_path
):
    grant_license(runner, version="8.0")
    for email in ("it2@acme.test", "quiet@acme.test"):
        cli_ok(
            runner,
            "users",
            "create",
            email,
            "--role",
            "customer_admin",
            "--org",
            "acme",
            "--password",
            PASSWORD,
        )
    set_user(app, "quiet@acme.test", notify_packages=False)
    patch = tmp_path / "erp-8.0.1.bin"
    patch.write_bytes(b"fix")
    publish_file(runner, patch, version="8.0.1", kind="patch", applies_to=">=8.0,<8.0.1")
    run_worker(runner)

    assert len(mailbox.received) == 1  # globex holds no erp license; one message for acme
    recipients, notice = mailbox.received[0]
    assert recipients == ["it2@acme.test", "it@acme.test"]
    assert notice["Subject"] == "New for ERP Suite: 8.0.1"
    assert "https://distro.example/products/erp" in body_of(notice)


def test_expiry_notices_go_once_at_30_and_at_7_days(app, client, world, runner, mailbox):
    grant_license(runner, expires=str(today() + timedelta(days=20)))
    grant_license(runner, product="crm", expires=str(today() + timedelta(days=3)))
    assert "queued 2 notices" in run_worker(runner)
    assert "queued 0 notices" in run_worker(runner)

    subjects = sorted(m["Subject"] for m in mailbox.to("it@acme.test"))
    assert subjects == [
        "CRM subscription of ACME 有限公司 ends in 7 days",
        "ERP Suite subscription of ACME 有限公司 ends in 30 days",
    ]
    assert len(mailbox.to("am@vendor.test")) == 2


def test_nothing_is_lost_while_the_smtp_server_is_down(
    app, client, world, runner, mailbox, tmp_path
):
    mailbox.stop()
    request = upgrade_to_9(client, world, runner, tmp_path)
    client.post(
        f"/api/v1/license-requests/{request['id']}/approve",
        json={},
        headers=world.auth("appr@vendor.test"),
    )
    assert "retrying 2" in run_worker(runner)
    waiting = outbox_rows(app)
    assert [(m.status, m.attempts) for m in waiting] == [("pending", 1), ("pending", 1)]
    assert all("Connection refused" in m.last_error for m in waiting)
    assert all(m.next_attempt_at > utcnow() for m in waiting)  # backing off

    mailbox.start()
    assert "sent 0" in run_worker(runner)  # not due yet
    with db_session(app) as session:
        session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
        session.commit()
    assert "sent 2" in run_worker(runner)
    assert len(mailbox.to("it@acme.test")) == 1 and len(mailbox.to("am@vendor.test")) == 1


def test_after_the_last_attempt_a_message_is_failed_shown_and_retried_by_an_admin(
    app, client, world, runner, mailbox
):
    app.config["MAIL_MAX_ATTEMPTS"] = 1
    mailbox.stop()
    client.post("/api/v1/password-reset", json={"email": "it@acme.test"})
    assert "failed 1" in run_worker(runner)

    login(client, "admin@vendor.test")
    page = client.get("/admin/mail?status=failed").get_data(as_text=True)
    assert "it@acme.test" in page and "Connection refused" in page
    (failed,) = outbox_rows(app)
    answer = client.post(
        f"/admin/mail/{failed.id}/retry", data={"csrf_token": csrf_token(client, "/admin/mail")}
    )
    assert answer.status_code == 302
    mailbox.start()
    assert "sent 1" in run_worker(runner)
    assert mailbox.one_to("it@acme.test")["Subject"] == "Set a new password"


def test_without_an_smtp_server_mail_waits_in_the_outbox_for_admins_to_see(
    app, client, world, runner, mailbox
):
    app.config["SMTP_URL"] = None
    client.post("/api/v1/password-reset", json={"email": "it@acme.test"})
    assert "sent 0" in run_worker(runner)
    (waiting,) = outbox_rows(app)
    assert waiting.status == "pending" and mailbox.received == []

    login(client, "admin@vendor.test")
    listing = client.get("/admin/mail").get_data(as_text=True)
    assert "No SMTP server is configured" in listing and "Set a new password" in listing
    shown = client.get(f"/admin/mail/{waiting.id}").get_data(as_text=True)
    assert "/password-reset/" not in shown  # a reset link is someone's credential


def test_two_workers_send_each_message_once(app, client, world, runner, mailbox):
    with app.test_request_context():
        with db_session(app) as session:
            for n in range(30):
                outbox.enqueue(
                    session,
                    "password_reset",
                    [(f"user{n}@example.test", "en")],
                    {"user": {"email": f"user{n}@example.test"}, "reset_url": "https://x/"},
                )
            session.commit()
    threads = [threading.Thread(target=worker.run_once, args=(app,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [message["Message-ID"] for _, message in mailbox.received]
    assert len(ids) == 30 and len(set(ids)) == 30
    with db_session(app) as session:
        assert session.scalar(select(func.count()).where(OutboxMessage.status == "sent")) == 30


def test_mail_comes_only_of_events_that_committed(app, client, world, runner, tmp_path):
    """An approval records its event in its own transaction; rolled back (the commit
    failed, say), it leaves no event, so the worker has nothing to mail."""
    request = upgrade_to_9(client, world, runner, tmp_path)
    with app.test_request_context():
        with db_session(app) as session:
            approver = Actor(
                user=session.scalars(select(User).filter_by(email="appr@vendor.test")).one()
            )
            signer = active_signer(session, get_key_source())
            upgrades.approve_request(session, signer, approver, request["id"])
            pending = select(func.count()).select_from(Event).where(Event.done_at.is_(None))
            assert session.scalar(pending) == 1
            session.rollback()
    run_worker(runner)
    assert outbox_rows(app) == []


def test_mail_follows_the_language_last_used_and_the_choices_on_the_account_page(
    app, client, world, runner, mailbox, tmp_path
):
    grant_license(runner, version="8.0")
    switch_language(client, "zh")  # the page language before logging in
    login(client, "it@acme.test")
    patch = tmp_path / "erp-8.0.1.bin"
    patch.write_bytes(b"fix")
    publish_file(runner, patch, version="8.0.1", kind="patch", applies_to=">=8.0,<8.0.1")
    run_worker(runner)
    assert mailbox.one_to("it@acme.test")["Subject"] == "ERP Suite 新版本：8.0.1"

    saved = client.post(
        "/account",
        data={"language": "en", "csrf_token": csrf_token(client, "/account")},
    )  # an unticked box is absent from the form: notices off
    assert saved.status_code == 302
    second = tmp_path / "erp-8.0.2.bin"
    second.write_bytes(b"fix2")
    publish_file(runner, second, version="8.0.2", kind="patch", applies_to=">=8.0.1,<8.0.2")
    client.post("/api/v1/password-reset", json={"email": "it@acme.test"})
    run_worker(runner)
    subjects = [m["Subject"] for m in mailbox.to("it@acme.test")]
    assert subjects == ["ERP Suite 新版本：8.0.1", "Set a new password"]

    chinese_browser = app.test_client()
    switch_language(chinese_browser, "zh")
    login(chinese_browser, "it@acme.test")  # last used: zh; but the choice was en
    client.post("/api/v1/password-reset", json={"email": "it@acme.test"})
    run_worker(runner)
    assert mailbox.to("it@acme.test")[-1]["Subject"] == "Set a new password"


def test_a_stopping_worker_finishes_the_message_in_hand_and_gives_the_rest_back(
    app, client, world, runner, mailbox
):
    stop = threading.Event()
    handle = mailbox.handle_DATA

    async def stop_after_one(server, session, envelope):
        stop.set()  # SIGTERM arrives while the first message is being sent
        return await handle(server, session, envelope)

    mailbox.handle_DATA = stop_after_one
    for email in ("it@acme.test", "am@vendor.test", "appr@vendor.test", "pub@vendor.test"):
        client.post("/api/v1/password-reset", json={"email": email})
    done = worker.run_once(app, stop)
    assert (done.sent, len(mailbox.received)) == (1, 1)
    statuses = sorted((m.status, m.lease_until) for m in outbox_rows(app))
    assert statuses == [("pending", None)] * 3 + [("sent", None)]
