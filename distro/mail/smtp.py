"""Handing one outbox message to the SMTP server (`DISTRO_SMTP_URL`)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from distro.core.config import SmtpSettings
from distro.mail.models import OutboxMessage

TIMEOUT_SECONDS = 30


class SendFailed(Exception):
    """The server did not take the message; `permanent` when retrying cannot help
    (every recipient refused with a 5xx)."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def build(message: OutboxMessage, sender: str) -> EmailMessage:
    """Plain text plus HTML, and the attachment as bytes (a license file must arrive
    byte for byte as the download serves it)."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = ", ".join(message.recipients.split(","))
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(idstring=message.id, domain=sender.rpartition("@")[2] or None)
    mail["Content-Language"] = "zh-Hans" if message.language == "zh" else message.language
    mail.set_content(message.text_body)
    mail.add_alternative(message.html_body, subtype="html")
    if message.attachment is not None:
        mail.add_attachment(
            message.attachment,
            maintype="application",
            subtype="octet-stream",
            filename=message.attachment_name,
        )
    return mail


def send(settings: SmtpSettings, sender: str, message: OutboxMessage) -> None:
    """Deliver or raise SendFailed; never lets an SMTP or socket error escape."""
    try:
        with _connect(settings) as server:
            if settings.user:
                server.login(settings.user, settings.password or "")
            server.send_message(build(message, sender))
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _text in exc.recipients.values()]
        refused = f"recipients refused: {exc.recipients}"
        raise SendFailed(refused, all(c >= 500 for c in codes)) from None
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        # Only the message itself can be refused for good; a refused login or sender
        # is our configuration, which an operator will fix, so those wait and retry.
        permanent = isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500
        raise SendFailed(f"SMTP {exc.smtp_code}: {text}", permanent) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendFailed(f"{type(exc).__name__}: {exc}") from None


def check(settings: SmtpSettings) -> None:
    """Connect, log in if configured, and say NOOP (for `distro doctor`)."""
    with _connect(settings) as server:
        if settings.user:
            server.login(settings.user, settings.password or "")
        server.noop()


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.security == "tls":
        return smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=TIMEOUT_SECONDS,
            context=ssl.create_default_context(),
        )
    server = smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT_SECONDS)
    if settings.security == "starttls":
        try:
            server.starttls(context=ssl.create_default_context())
        except BaseException:
            server.close()
            raise
    return server
