"""`distro worker [--once]` sends mail; `distro mail list|show|retry` lets an operator
see and requeue it from the console (where, unlike on the admin pages, the text of reset
and invitation mail is shown: the operator can read the database anyway)."""

from __future__ import annotations

import signal
import time

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from distro.accounts.actor import CLI
from distro.cli.errors import fail_cleanly
from distro.core.clock import rfc3339
from distro.core.db import get_session
from distro.core.errors import NotFound
from distro.core.ids import is_id
from distro.mail import outbox, worker
from distro.mail.models import STATUSES, OutboxMessage

mail_group = AppGroup("mail", help="The mail outbox.")


class StopSignal:
    """Set by the given signals, waited on like a threading.Event, but without a lock.

    A handler that calls Event.set() takes the event's lock, and a signal that lands
    while the main thread holds that same lock inside Event.wait() deadlocks the process:
    seen once, `distro worker` asleep in a futex forever after serve.sh's SIGTERM. Here
    the handler only sets a flag, and waiting sleeps in steps of at most 0.2 s.
    """

    STEP = 0.2

    def __init__(self, *signals: signal.Signals):
        self._set = False
        for sig in signals:
            signal.signal(sig, self._on_signal)

    def _on_signal(self, *_) -> None:
        self._set = True

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self._set and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, self.STEP))
        return self._set


@click.command("worker")
@click.option("--once", is_flag=True, help="Send what is due, then exit.")
@with_appcontext
@fail_cleanly
def worker_command(once: bool):
    """Send queued mail and queue subscription-expiry notices, until stopped."""
    app = current_app._get_current_object()
    if not app.config.get("SMTP_URL"):
        click.echo("no DISTRO_SMTP_URL: mail stays in the outbox (shown to admins)", err=True)
    if once:
        done = worker.run_until_idle(app)
        click.echo(
            f"handled {done.events} events; built {done.bundles} bundles; "
            f"built the deltas of {done.deltas} packages; "
            f"queued {done.queued} notices; sent {done.sent}, "
            f"retrying {done.retrying}, failed {done.failed}"
        )
        return
    stop = StopSignal(signal.SIGTERM, signal.SIGINT)
    click.echo(f"mail worker running (every {app.config['MAIL_POLL_SECONDS']} s)", err=True)
    worker.run_forever(app, stop)
    click.echo("mail worker stopped", err=True)


@mail_group.command("list")
@click.option("--status", type=click.Choice(STATUSES))
@fail_cleanly
def list_mail(status: str | None):
    for m in reversed(outbox.recent(get_session(), status)):
        error = f"  ({m.last_error})" if m.last_error else ""
        click.echo(
            f"{m.id}  {rfc3339(m.created_at)}  {m.status:<7}  {m.kind:<22}  "
            f"{m.recipients}  {m.subject}{error}"
        )


@mail_group.command("show")
@click.argument("message_id")
@fail_cleanly
def show_mail(message_id: str):
    message = get_session().get(OutboxMessage, message_id) if is_id(message_id) else None
    if message is None:
        raise NotFound(f"no message {message_id!r}")
    click.echo(f"To: {message.recipients}\nSubject: {message.subject}\n")
    click.echo(message.text_body)


@mail_group.command("retry")
@click.argument("message_id")
@fail_cleanly
def retry_mail(message_id: str):
    session = get_session()
    message = outbox.retry(session, CLI, message_id)
    session.commit()
    click.echo(message.id)
