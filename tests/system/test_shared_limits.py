"""Two app processes share their rate limits through a real Redis server, and keep
serving when Redis is down (Flask-Limiter unthrottled, with a log line and a count; the
login throttles kept in the database still hold).

Runs on the suite's database: SQLite in the first pass, PostgreSQL in the second.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest
import redis
import requests

from tests.conftest import Gunicorn, free_port

LIMITS = {"DISTRO_LOGIN_RATE_LIMIT": "3 per minute", "DISTRO_BAD_TOKEN_RATE_LIMIT": "3 per minute"}


@pytest.fixture
def redis_url(tmp_path):
    binary = shutil.which("redis-server")
    assert binary, "scripts/test.sh installs redis-server"
    port = free_port()
    server = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url, server
    server.terminate()
    server.wait()


@pytest.fixture
def pair(app, app_config, redis_url):
    url, _ = redis_url
    settings = dict(LIMITS, DISTRO_RATELIMIT_STORAGE_URI=url, DISTRO_METRICS_TOKEN="m")
    first = Gunicorn(app_config, workers=1, **settings)
    second = Gunicorn(app_config, workers=1, **settings)
    yield first, second
    first.stop()
    second.stop()


def wrong_login(server: Gunicorn) -> int:
    session = requests.Session()
    page = session.get(f"{server.url}/login", timeout=10).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    answer = session.post(
        f"{server.url}/login",
        data={"email": "it@acme.test", "password": "wrong password", "csrf_token": token},
        timeout=10,
    )
    return answer.status_code


def bad_token(server: Gunicorn) -> int:
    answer = requests.get(
        f"{server.url}/api/v1/products",
        headers={"Authorization": "Bearer dst_nothing_wrongwrongwrong"},
        timeout=10,
    )
    return answer.status_code


def test_login_and_bad_token_limits_count_across_both_processes(pair, world):
    first, second = pair
    assert [wrong_login(s) for s in (first, second, first)] == [400, 400, 400]
    assert wrong_login(second) == 429  # the fourth attempt, whichever process gets it
    assert [bad_token(s) for s in (second, first, second)] == [401, 401, 401]
    assert bad_token(first) == 429


def test_with_redis_down_requests_are_served_unthrottled(pair, world, redis_url):
    first, second = pair
    _, server = redis_url
    server.terminate()
    server.wait()
    products = requests.get(
        f"{first.url}/api/v1/products", headers=world.headers["installer@acme"], timeout=10
    )
    assert products.status_code == 200
    # never a 500; Flask-Limiter lets them through, and the throttle kept in the database
    # (DISTRO_LOGIN_RATE_LIMIT per address) still refuses the fourth failure
    assert [wrong_login(s) for s in (first, second) * 3] == [400, 400, 400, 429, 429, 429]
    assert [bad_token(s) for s in (first, second) * 3] == [401] * 6
    metrics = requests.get(
        f"{first.url}/metrics", headers={"Authorization": "Bearer m"}, timeout=10
    ).text
    counted = re.search(
        r'distro_errors_total\{code="rate_limit_store_unavailable"\} ([0-9.]+)', metrics
    )
    assert counted and float(counted.group(1)) >= 6  # logged and counted, for alerting
