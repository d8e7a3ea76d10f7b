"""DISTRO_SMTP_URL: the forms it takes, what it refuses, and logging in to the server."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from distro.core.config import ConfigError, SmtpSettings, smtp_settings
from distro.mail.models import OutboxMessage
from tests.conftest import Mailbox, db_session, make_app, run_worker


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example", SmtpSettings("mail.example", 25, "none")),
        ("smtp+starttls://mail.example", SmtpSettings("mail.example", 587, "starttls")),
        (
            "smtps://u%40x:p%3Aw@mail.example:2465",
            SmtpSettings("mail.example", 2465, "tls", "u@x", "p:w"),
        ),
    ],
)
def test_the_three_schemes_with_usual_ports_and_encoded_credentials(url, expected):
    assert smtp_settings(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mail.example", "must start with smtp://"),
        ("smtp://mail.example:port", "port that is not a number"),
        ("smtp://", "names no host"),
        ("smtp://mail.example/inbox", "takes no path"),
    ],
)
def test_a_wrong_url_stops_the_start_with_a_clear_message(app_config, url, message):
    with pytest.raises(ConfigError, match=message):
        make_app(dict(app_config, SMTP_URL=url))


def test_the_worker_logs_in_with_the_credentials_of_the_url(app_config):
    box = Mailbox(credentials=("mailer", "s3cret:pw"))
    box.start()
    try:
        wrong = make_app(dict(app_config, SMTP_URL=box.url.replace("//", "//mailer:nope@")))
        wrong.test_client().post("/api/v1/password-reset", json={"email": "x@y.test"})
        _seed_user(wrong)
        wrong.test_client().post("/api/v1/password-reset", json={"email": "it@acme.test"})
        assert "retrying 1" in run_worker(wrong.test_cli_runner())
        with db_session(wrong) as session:
            (message,) = session.scalars(select(OutboxMessage)).all()
        assert "SMTP 535" in message.last_error and box.received == []

        right = make_app(dict(app_config, SMTP_URL=box.url.replace("//", "//mailer:s3cret%3Apw@")))
        with db_session(right) as session:
            session.get(OutboxMessage, message.id).next_attempt_at = message.created_at
            session.commit()
        assert "sent 1" in run_worker(right.test_cli_runner())
        assert len(box.to("it@acme.test")) == 1
    finally:
        box.stop()


def _seed_user(app) -> None:
    from tests.conftest import cli_ok

    runner = app.test_cli_runner()
    cli_ok(runner, "orgs", "create", "acme", "--name", "ACME")
    cli_ok(
        runner,
        "users",
        "create",
        "it@acme.test",
        "--role",
        "customer_admin",
        "--org",
        "acme",
        "--password",
        "correct-horse-battery",
    )
