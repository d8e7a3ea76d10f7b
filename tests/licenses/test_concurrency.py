"""Concurrent approvals over real HTTP: exactly one license, everyone else 409."""

from __future__ import annotations

import threading

import requests
from sqlalchemy import select

from distro.licenses.models import License
from tests.conftest import db_session
from tests.licenses.conftest import submitted

THREADS = 20


def test_twenty_concurrent_approvals_issue_exactly_one_license(
    app, client, world, source, live_server
):
    request = submitted(client, world, source)
    approvers = ["appr@vendor.test", "appr2@vendor.test", "admin@vendor.test"]
    barrier = threading.Barrier(THREADS)
    statuses: list[tuple[int, str]] = []

    def approve(index: int) -> None:
        headers = world.auth(approvers[index % len(approvers)])
        barrier.wait()
        answer = requests.post(
            f"{live_server.url}/api/v1/license-requests/{request['id']}/approve",
            json={},
            headers=headers,
            timeout=120,
        )
        code = answer.json().get("error", {}).get("code", "ok")
        statuses.append((answer.status_code, code))

    threads = [threading.Thread(target=approve, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [(200, "ok")] + [(409, "invalid_state")] * (THREADS - 1)
    with db_session(app) as session:
        issued = session.scalars(select(License).where(License.request_id == request["id"])).all()
        assert len(issued) == 1
        assert session.get(License, source).status == "superseded"
