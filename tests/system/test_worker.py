"""`distro worker` as operators run it: a separate process that sends what the app
queued, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from distro.cli.mail import StopSignal
from tests.conftest import ROOT, body_of


def test_the_worker_process_sends_queued_mail_and_stops_on_sigterm(
    app, app_config, client, world, mailbox
):
    env = {
        **os.environ,
        "DISTRO_DATABASE_URL": app_config["DATABASE_URL"],
        "DISTRO_SIGNING_KEYS_DIR": app_config["SIGNING_KEYS_DIR"],
        "DISTRO_STORAGE_URL": app_config["STORAGE_URL"],
        "DISTRO_SMTP_URL": mailbox.url,
        "DISTRO_MAIL_POLL_SECONDS": "0.2",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "distro.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert (
            client.post("/api/v1/password-reset", json={"email": "it@acme.test"}).status_code == 202
        )
        deadline = time.monotonic() + 30
        while not mailbox.to("it@acme.test") and time.monotonic() < deadline:
            time.sleep(0.1)
        (reset,) = mailbox.to("it@acme.test")
        assert "/password-reset/" in body_of(reset)  # rendered by the app that queued it
    finally:
        worker.send_signal(signal.SIGTERM)
        _out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert "mail worker stopped" in err


def test_the_stop_signal_ends_a_wait_at_once_and_takes_no_lock():
    stop = StopSignal(signal.SIGUSR1)
    try:
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        started = time.monotonic()
        assert stop.wait(30) is True and stop.is_set()
        assert time.monotonic() - started < 5  # woke by the signal, not the timeout
    finally:
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)
