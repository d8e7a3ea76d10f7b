"""Downloads: full and ranged, conditional, safe names, audited, yanked answers 410."""

from __future__ import annotations

import pytest

from tests.patches.conftest import grant, published, sha


@pytest.fixture
def package(client, world, runner, payload):
    grant(runner, "acme", "8.0")
    return published(client, world, payload, filename="补丁 8.0.1.bin")


def get(client, world, package, who="installer@acme", **headers):
    return client.get(
        f"/api/v1/packages/{package['id']}/download", headers={**world.auth(who), **headers}
    )


def test_full_download_has_bytes_and_headers(client, world, package, payload):
    answer = get(client, world, package)
    assert answer.status_code == 200
    assert answer.data == payload
    assert answer.headers["Content-Length"] == str(len(payload))
    assert answer.headers["Accept-Ranges"] == "bytes"
    assert answer.headers["ETag"] == f'"{sha(payload)}"'
    assert answer.headers["X-Checksum-Sha256"] == sha(payload)
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="8.0.1.bin"')
    assert "filename*=UTF-8''%E8%A1%A5%E4%B8%81%208.0.1.bin" in disposition


@pytest.mark.parametrize(
    "header,start,end",
    [
        ("bytes=0-0", 0, 0),
        ("bytes=0-99", 0, 99),
        ("bytes=299999-", 299999, 299999),
        ("bytes=-10", 299990, 299999),
        ("bytes=100-", 100, 299999),
        ("bytes=299990-500000", 299990, 299999),
        ("bytes=-999999", 0, 299999),
    ],
)
def test_single_ranges_at_the_edges(client, world, package, payload, header, start, end):
    answer = get(client, world, package, Range=header)
    assert answer.status_code == 206
    assert answer.data == payload[start : end + 1]
    assert answer.headers["Content-Range"] == f"bytes {start}-{end}/{len(payload)}"
    assert answer.headers["Content-Length"] == str(end - start + 1)


@pytest.mark.parametrize(
    "header",
    [
        "bytes=300000-",
        "bytes=400000-400010",
        "bytes=5-1",
        "bytes=0-1,5-6",
        "bytes=-0",
        "lines=1-2",
        "bytes=abc",
    ],
)
def test_unsatisfiable_or_bogus_ranges_are_416(client, world, package, payload, header):
    answer = get(client, world, package, Range=header)
    assert answer.status_code == 416
    assert answer.headers["Content-Range"] == f"bytes */{len(payload)}"
    assert answer.get_json()["error"]["code"] == "range_not_satisfiable"


def test_if_none_match_gives_304(client, world, package, payload):
    answer = get(client, world, package, **{"If-None-Match": f'"{sha(payload)}"'})
    assert answer.status_code == 304
    assert answer.data == b""


def test_if_range_with_a_stale_etag_sends_the_whole_file(client, world, package, payload):
    fresh = get(client, world, package, Range="bytes=10-", **{"If-Range": f'"{sha(payload)}"'})
    assert fresh.status_code == 206 and fresh.data == payload[10:]
    stale = get(client, world, package, Range="bytes=10-", **{"If-Range": '"0000"'})
    assert stale.status_code == 200 and stale.data == payload


def test_every_download_is_audited(client, world, package):
    get(client, world, package)
    get(client, world, package, Range="bytes=0-9")
    events = client.get(
        "/api/v1/audit?action=package.download", headers=world.auth("admin@vendor.test")
    ).get_json()["items"]
    assert len(events) == 2
    assert {e["target_id"] for e in events} == {package["id"]}
    assert {e["token_id"] for e in events} != {None}


def test_yanked_package_answers_410_and_leaves_listings(client, world, package):
    answer = client.post(
        f"/api/v1/packages/{package['id']}/yank",
        json={"reason": "breaks GL"},
        headers=world.auth("pub@vendor.test"),
    )
    assert answer.status_code == 200 and answer.get_json()["yanked"] is True
    gone = get(client, world, package)
    assert gone.status_code == 410
    assert "breaks GL" in gone.get_json()["error"]["message"]
    listing = client.get("/api/v1/products/erp/packages", headers=world.auth("installer@acme"))
    assert listing.get_json()["items"] == []
    detail = client.get(f"/api/v1/packages/{package['id']}", headers=world.auth("it@acme.test"))
    assert detail.get_json()["yank_reason"] == "breaks GL"


def test_yank_needs_a_reason_and_a_publisher(client, world, package):
    url = f"/api/v1/packages/{package['id']}/yank"
    assert client.post(url, json={}, headers=world.auth("pub@vendor.test")).status_code == 400
    assert (
        client.post(url, json={"reason": "x"}, headers=world.auth("it@acme.test")).status_code
        == 403
    )


def test_redirect_mode_sends_a_presigned_url(app, client, world, package, payload, backend):
    import requests

    app.config["DOWNLOAD_MODE"] = "redirect"
    answer = get(client, world, package)
    if backend == "local":  # the local store has no URLs to hand out: it serves the bytes
        assert answer.status_code == 200 and answer.data == payload
        return
    assert answer.status_code == 302
    fetched = requests.get(answer.headers["Location"], timeout=10)
    assert fetched.status_code == 200 and fetched.content == payload
    assert "8.0.1.bin" in fetched.headers["Content-Disposition"]
    events = client.get(
        "/api/v1/audit?action=package.download", headers=world.auth("admin@vendor.test")
    ).get_json()["items"]
    assert events[0]["details"]["redirect"] is True
