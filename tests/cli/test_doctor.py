"""`distro doctor` shows the settings in effect without their secrets and checks each
dependency with one line; a failing one makes the exit status 1."""

from __future__ import annotations

from distro.app import create_app
from distro.cli.doctor import masked
from tests.conftest import make_app


def test_doctor_on_a_working_installation(app, runner, world):
    result = runner.invoke(args=["doctor"])
    assert result.exit_code == 0, result.output
    checks = [line for line in result.output.splitlines() if line.startswith("  ok ")]
    assert [line.split(":")[0].split(maxsplit=1)[1] for line in checks] == [
        "database",
        "store",
        "keys",
        "rate limits",
        "smtp",
        "stored values",
    ]
    assert "DISTRO_SECRET_KEY=*** (set)" in result.output
    assert app.config["SECRET_KEY"] not in result.output
    assert "6 of 6 checks passed" in result.output


def test_doctor_fails_on_an_unreachable_rate_limit_store(app_config):
    make_app(app_config)
    app = create_app(dict(app_config, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0"))
    result = app.test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 1
    assert "  FAIL  rate limits: the rate-limit store does not answer" in result.output
    assert "5 of 6 checks passed" in result.output


def test_passwords_and_secrets_are_masked():
    assert masked("DATABASE_URL", "postgresql+psycopg://distro:s3cret@db:5432/distro") == (
        "postgresql+psycopg://distro:***@db:5432/distro"
    )
    assert (
        masked("RATELIMIT_STORAGE_URI", "redis://:pw@cache:6379/0") == "redis://:***@cache:6379/0"
    )
    assert masked("SIGNING_KEY", "-----BEGIN PRIVATE KEY-----") == "*** (set)"
    assert masked("SIGNING_KEY", None) == "(not set)"


def test_doctor_checks_the_smtp_server_and_masks_its_password(app_config, mailbox):
    make_app(app_config)
    url = mailbox.url.replace("smtp://", "smtp://mailer:hunter22@")
    app = create_app(dict(app_config, SMTP_URL=url))
    result = app.test_cli_runner().invoke(args=["doctor"])
    # aiosmtpd does not offer AUTH on a plain connection, so the login is refused:
    # doctor says so on the smtp line, and never shows the password.
    assert "hunter22" not in result.output
    assert f"DISTRO_SMTP_URL=smtp://mailer:***@127.0.0.1:{mailbox.port}" in result.output
    assert "  FAIL  smtp: 127.0.0.1:" in result.output

    plain = create_app(dict(app_config, SMTP_URL=mailbox.url)).test_cli_runner()
    answered = plain.invoke(args=["doctor"])
    assert f"  ok    smtp: 127.0.0.1:{mailbox.port} answers (none); 0 message(s) waiting" in (
        answered.output
    )


def test_doctor_fails_when_the_smtp_server_is_down(app_config):
    make_app(app_config)
    app = create_app(dict(app_config, SMTP_URL="smtp://127.0.0.1:1"))
    result = app.test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 1
    assert "  FAIL  smtp: 127.0.0.1:1 does not answer" in result.output
