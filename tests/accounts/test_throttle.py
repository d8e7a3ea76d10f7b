"""Login and reset throttles kept in the database hold across processes (review finding
4): Flask-Limiter's per-process memory store is switched off or left below its limit
here, so that what refuses is the shared throttle alone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests

from distro.accounts import throttle
from distro.core.clock import utcnow
from distro.core.errors import TooManyAttempts
from tests.conftest import PASSWORD, Gunicorn, db_session, login


@pytest.fixture
def app_config(app_config):
    return {**app_config, "RATELIMIT_ENABLED": False}


def test_a_fixed_window_lets_free_hits_through_then_blocks_until_it_ends(app):
    policy = throttle.Policy("test", free=3, window=timedelta(minutes=1))
    start = utcnow()
    with db_session(app) as session:
        for _ in range(2):
            throttle.hit(session, policy, "k", now=start)
            throttle.check(session, policy, "k", now=start)
        throttle.hit(session, policy, "k", now=start)
        with pytest.raises(TooManyAttempts) as refused:
            throttle.check(session, policy, "k", now=start + timedelta(seconds=1))
        assert refused.value.retry_after == 59
        throttle.check(session, policy, "k", now=start + timedelta(minutes=1))
        assert throttle.hit(session, policy, "k", now=start + timedelta(minutes=1)) == 1
        throttle.check(session, policy, "other", now=start)


def test_back_off_doubles_with_every_failure_up_to_its_cap(app):
    policy = throttle.Policy("test", free=2, window=timedelta(hours=1), backoff=True)
    now = utcnow()
    waits = []
    with db_session(app) as session:
        for _ in range(14):
            throttle.hit(session, policy, "k", now=now)
            try:
                throttle.check(session, policy, "k", now=now)
                waits.append(0)
            except TooManyAttempts as exc:
                waits.append(exc.retry_after)
    assert waits[:6] == [0, 1, 2, 4, 8, 16]
    assert waits[-1] == 900


def test_one_address_trying_many_accounts_is_refused(client, world):
    guesses = [login(client, f"nobody{i}@acme.test", "guess-guess") for i in range(10)]
    assert [answer.status_code for answer in guesses] == [400] * 10
    refused = login(client, "it@acme.test")
    assert refused.status_code == 429


def test_reset_requests_from_one_address_are_counted_for_every_process(app, client, world):
    app.config["PASSWORD_RESET_RATE_LIMIT"] = "5 per minute"
    answers = [
        client.post("/api/v1/password-reset", json={"email": f"x{i}@acme.test"}).status_code
        for i in range(6)
    ]
    assert answers == [202] * 5 + [429]


class Browser:
    """A login form on one server process, as a browser uses it."""

    def __init__(self, server: Gunicorn):
        self.server, self.http = server, requests.Session()

    def login(self, email: str, password: str) -> int:
        page = self.http.get(f"{self.server.url}/login").text
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        answer = self.http.post(
            f"{self.server.url}/login",
            data={"email": email, "password": password, "csrf_token": token},
            allow_redirects=False,
        )
        return answer.status_code


@pytest.fixture
def two_servers(app, world, tmp_path):
    servers = [Gunicorn(app.config, workers=1) for _ in range(2)]
    yield [Browser(server) for server in servers]
    for server in servers:
        server.stop()


def test_two_processes_share_the_account_throttle(two_servers):
    first, second = two_servers
    statuses = [
        (first if i % 2 else second).login("it@acme.test", "wrong-password!") for i in range(5)
    ]
    assert statuses == [400] * 5  # three on one process, two on the other
    assert first.login("it@acme.test", PASSWORD) == 429
    assert second.login("it@acme.test", PASSWORD) == 429


def test_two_processes_share_the_address_throttle(two_servers):
    """Ten failures in a minute from one address, five on each process: each process's own
    limiter (10 a minute) would let an eleventh through, the shared count does not."""
    first, second = two_servers
    for i in range(10):
        assert (first if i % 2 else second).login(f"n{i}@acme.test", "guess-guess") == 400
    assert first.login("it@acme.test", PASSWORD) == 429
    assert second.login("it@acme.test", PASSWORD) == 429
