"""Two gunicorn instances on one database and one bucket behave as one service.

Runs on the suite's database: SQLite in the first pass, PostgreSQL in the second.
"""

from __future__ import annotations

import io
import os
import socket
import threading
import time

import pytest
import requests

from tests.conftest import Gunicorn, grant_license


@pytest.fixture
def app_config(app_config, s3_bucket):
    return dict(app_config, STORAGE_URL=f"s3://{s3_bucket}/shared")


@pytest.fixture
def pair(app, app_config):
    first, second = Gunicorn(app_config), Gunicorn(app_config)
    yield first, second
    first.stop()
    second.stop()


def test_publish_on_one_download_and_approve_on_the_other(pair, world, runner):
    first, second = pair
    grant_license(runner, modules="fin,hr", users="10", expires="2099-01-01")
    payload = os.urandom(3 * 1024 * 1024 + 17)
    published = requests.post(
        f"{first.url}/api/v1/packages",
        headers=world.auth("pub@vendor.test"),
        files={"file": ("erp-9.0.bin", io.BytesIO(payload))},
        data={"product": "erp", "version": "9.0", "kind": "installer"},
        timeout=60,
    )
    assert published.status_code == 201, published.text
    package = published.json()

    fetched = requests.get(
        f"{second.url}/api/v1/packages/{package['id']}/download",
        headers=world.auth("pub@vendor.test"),
        timeout=60,
    )
    assert fetched.status_code == 200 and fetched.content == payload

    request_id = _request_upgrade(second, first, world)
    results = _approve_at_once(pair, request_id, world)
    assert sorted(results) == [200] + [409] * 19
    issued = requests.get(
        f"{second.url}/api/v1/license-requests?status=issued",
        headers=world.auth("appr@vendor.test"),
        timeout=10,
    ).json()["items"]
    assert len(issued) == 1 and issued[0]["license"]["version"] == "9.0"
    new_package_list = requests.get(
        f"{first.url}/api/v1/products/erp/packages",
        headers=world.auth("installer@acme"),
        timeout=10,
    ).json()
    assert [p["id"] for p in new_package_list["items"]] == [package["id"]]


def test_a_client_that_dribbles_its_body_holds_up_no_other_writer(app, app_config, world):
    """A JSON body is read before the request authenticates, so a slow client holds no
    transaction (on SQLite: no write lock) while it takes its time."""
    server = Gunicorn(app_config, workers=1)
    try:
        # Once the token's last use is recorded, authenticating writes nothing and its
        # transaction stays open for the view.
        requests.get(f"{server.url}/api/v1/tokens", headers=world.auth("it@acme.test"), timeout=5)
        body = b'{"name": "slow"}'
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as slow:
            slow.sendall(
                b"POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                + f"Authorization: {world.auth('it@acme.test')['Authorization']}\r\n".encode()
                + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body[:5]
            )
            time.sleep(0.5)
            meanwhile = requests.post(
                f"{server.url}/api/v1/tokens",
                json={"name": "quick"},
                headers=world.auth("it@acme.test"),
                timeout=5,
            )
            assert meanwhile.status_code == 201, meanwhile.text
            slow.sendall(body[5:])
            answer = slow.makefile("rb").readline()
        assert answer.startswith(b"HTTP/1.1 201"), answer
    finally:
        server.stop()


def _request_upgrade(reader: Gunicorn, writer: Gunicorn, world) -> str:
    """The account manager asks for 9.0 on the first license; returns the request id."""
    licenses = requests.get(
        f"{reader.url}/api/v1/licenses", headers=world.auth("am@vendor.test"), timeout=10
    ).json()["items"]
    request = requests.post(
        f"{writer.url}/api/v1/license-requests",
        json={"license_id": licenses[0]["id"], "target_version": "9.0"},
        headers=world.auth("am@vendor.test"),
        timeout=10,
    )
    assert request.status_code == 201, request.text
    return request.json()["id"]


def _approve_at_once(servers, request_id: str, world) -> list[int]:
    """Twenty approvals released together, spread over the servers and two approvers."""
    results: list[int] = []
    barrier = threading.Barrier(20)

    def approve(index: int) -> None:
        server = servers[index % len(servers)]
        who = ("appr@vendor.test", "appr2@vendor.test")[index // 2 % 2]
        barrier.wait()
        answer = requests.post(
            f"{server.url}/api/v1/license-requests/{request_id}/approve",
            json={},
            headers=world.auth(who),
            timeout=120,
        )
        results.append(answer.status_code)

    threads = [threading.Thread(target=approve, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_a_session_from_one_instance_works_on_the_other(pair, world):
    import re

    first, second = pair
    browser = requests.Session()
    page = browser.get(f"{first.url}/login", timeout=10).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    answer = browser.post(
        f"{first.url}/login",
        data={"email": "it@acme.test", "password": "correct-horse-battery", "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    assert browser.get(f"{second.url}/api/v1/products", timeout=10).status_code == 200
