"""Every error under /api/v1 is the contract's JSON envelope; no internals leak."""

from __future__ import annotations

import pytest


def test_unknown_route_answers_the_envelope(client):
    answer = client.get("/api/v1/nothing-here")
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "not_found"


def test_wrong_method_answers_405_with_allow(client):
    answer = client.put("/api/v1/keys")
    assert answer.status_code == 405
    assert answer.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in answer.headers["Allow"]


def test_anonymous_api_call_is_401(client):
    answer = client.get("/api/v1/products")
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(
    "body,content_type",
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"name": "x"}', "text/plain"),
        (b"\xff\xfe", "application/json"),
        (b"", "application/json"),
    ],
)
def test_malformed_json_is_a_clear_400(client, world, body, content_type):
    answer = client.post(
        "/api/v1/tokens", data=body, content_type=content_type, headers=world.auth("it@acme.test")
    )
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "invalid_json"


def test_unexpected_exception_is_500_without_internals(app, client, caplog):
    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    answer = client.get("/api/v1/boom")
    assert answer.status_code == 500
    error = answer.get_json()["error"]
    assert error["code"] == "internal_error"
    assert "secret internal detail" not in answer.get_data(as_text=True)
    assert error["request_id"] in caplog.text
