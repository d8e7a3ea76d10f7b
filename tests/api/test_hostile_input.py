"""Hostile input on every write endpoint: a clear 4xx JSON error, never a 500, nothing stored."""

from __future__ import annotations

import base64
import io
import json
import re

import pytest
from sqlalchemy import func, select

from distro.accounts.models import ApiToken
from distro.licenses.models import License, LicenseRequest
from distro.patches.models import Package
from tests.conftest import db_session, grant_license

HUGE = "x" * 100_000
SQL = "' OR 1=1; DROP TABLE users; --"


def counts(app) -> tuple:
    with db_session(app) as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (Package, ApiToken, LicenseRequest, License)
        )


def objects(app) -> list:
    return list(app.extensions["distro.storage"].list_objects())


@pytest.fixture
def license_id(runner, world):
    return grant_license(runner, expires="2099-01-01")


def assert_clean_refusal(answer, app, before):
    assert 400 <= answer.status_code < 500, answer.get_data(as_text=True)[:300]
    error = answer.get_json()["error"]
    assert error["code"] and error["message"]
    assert counts(app) == before
    assert objects(app) == []


@pytest.mark.parametrize(
    "filename",
    [
        "/etc/passwd",
        "../../x.bin",
        "a\x00b.bin",
        "tab\tname.bin",
        "x" * 300,
        "..",
        "bell\x07.bin",
        # shell metacharacters and quotes (review finding 9)
        "$(echo INJECTED 1>&2).bin",
        "`id`.bin",
        "a;b.bin",
        "a|b.bin",
        "a&b.bin",
        "<x>.bin",
        "it's.bin",
    ],
)
def test_hostile_file_names(app, client, world, filename):
    before = counts(app)
    answer = client.post(
        "/api/v1/packages",
        content_type="multipart/form-data",
        headers=world.auth("pub@vendor.test"),
        data={
            "file": (io.BytesIO(b"data"), filename),
            "product": "erp",
            "version": "9.0",
            "kind": "installer",
        },
    )
    assert_clean_refusal(answer, app, before)


@pytest.mark.parametrize("quoted", [r"..\\..\\x.bin", r"C:\\Windows\\x.bin"])
def test_backslash_paths_in_file_names(app, client, world, quoted):
    """Backslashes escaped inside the quoted filename reach the server as backslashes."""
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="product"\r\n\r\nerp\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="version"\r\n\r\n9.0\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\ninstaller\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted}"'
        f"\r\n\r\ndata\r\n--{boundary}--\r\n"
    ).encode()
    before = counts(app)
    answer = client.post(
        "/api/v1/packages",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=world.auth("pub@vendor.test"),
    )
    assert_clean_refusal(answer, app, before)
    assert answer.get_json()["error"]["code"] == "invalid_filename"


@pytest.mark.parametrize(
    "field,value",
    [
        ("product", SQL),
        ("product", "erp\x00"),
        ("product", HUGE),
        ("version", SQL),
        ("version", "9.0\x00"),
        ("version", "-1.0"),
        ("version", "99999999999.0"),
        ("version", HUGE),
        ("kind", SQL),
        ("notes", "nul\x00byte"),
        ("notes", HUGE),
        ("sha256", SQL),
        ("applies_to", SQL),
    ],
)
def test_hostile_publish_fields(app, client, world, field, value):
    before = counts(app)
    form = {
        "file": (io.BytesIO(b"data"), "ok.bin"),
        "product": "erp",
        "version": "9.0",
        "kind": "installer",
        field: value,
    }
    answer = client.post(
        "/api/v1/packages",
        data=form,
        content_type="multipart/form-data",
        headers=world.auth("pub@vendor.test"),
    )
    assert_clean_refusal(answer, app, before)


@pytest.mark.parametrize(
    "body,content_type",
    [
        (b"--nothing\r\n", "multipart/form-data"),
        (b"garbage", "multipart/form-data; boundary=abc"),
        (
            b'--abc\r\nContent-Disposition: form-data; name="file"\r\n\r\nunterminated',
            "multipart/form-data; boundary=abc",
        ),
        (b"\xff\xfe\xfd", "application/octet-stream"),
        (b'{"product": "erp"}', "application/json"),
    ],
)
def test_malformed_uploads(app, client, world, body, content_type):
    before = counts(app)
    answer = client.post(
        "/api/v1/packages",
        data=body,
        content_type=content_type,
        headers=world.auth("pub@vendor.test"),
    )
    assert_clean_refusal(answer, app, before)


def test_non_utf8_form_fields_are_refused_or_replaced_not_crashing(app, client, world):
    boundary = "b0undary"
    body = (
        (f'--{boundary}\r\nContent-Disposition: form-data; name="product"\r\n\r\n').encode()
        + b"\xff\xfeerp"
        + (
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="a.bin"\r\n\r\ndata\r\n--{boundary}--\r\n'
        ).encode()
    )
    before = counts(app)
    answer = client.post(
        "/api/v1/packages",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=world.auth("pub@vendor.test"),
    )
    assert_clean_refusal(answer, app, before)


@pytest.mark.parametrize(
    "path,body",
    [
        ("/api/v1/tokens", {"name": 123}),
        ("/api/v1/tokens", {"name": ["a"]}),
        ("/api/v1/tokens", {"name": HUGE}),
        ("/api/v1/tokens", {"name": "nul\x00"}),
        ("/api/v1/tokens", {"name": SQL, "expires_days": -1}),
        ("/api/v1/tokens", {"name": "x", "expires_days": 10**30}),
        ("/api/v1/tokens", {"name": "x", "expires_days": 1.5}),
        ("/api/v1/tokens", {"name": "x", "installer": None}),
        ("/api/v1/license-requests", {"license_id": ["x"], "target_version": "9.0"}),
        ("/api/v1/license-requests", {"license_id": "LICENSE", "target_version": 9}),
        ("/api/v1/license-requests", {"license_id": "LICENSE", "target_version": SQL}),
        ("/api/v1/license-requests", {"license_id": SQL, "target_version": "9.0"}),
        (
            "/api/v1/license-requests",
            {"license_id": "LICENSE", "target_version": "9.0", "note": {"a": 1}},
        ),
        (
            "/api/v1/license-requests",
            {"license_id": "LICENSE", "target_version": "9.0", "user_count": -5},
        ),
        (
            "/api/v1/license-requests",
            {"license_id": "LICENSE", "target_version": "9.0", "modules": "../../etc"},
        ),
        (
            "/api/v1/license-requests",
            {"license_id": "LICENSE", "target_version": "9.0", "note": "a\x00b"},
        ),
    ],
)
def test_hostile_json_bodies(app, client, world, license_id, path, body):
    body = {k: (license_id if v == "LICENSE" else v) for k, v in body.items()}
    who = "am@vendor.test" if "license" in path else "it@acme.test"
    before = counts(app)
    answer = client.post(path, json=body, headers=world.auth(who))
    assert_clean_refusal(answer, app, before)


def test_huge_json_is_413(app, client, world):
    before = counts(app)
    answer = client.post(
        "/api/v1/tokens",
        data='{"name": "' + "x" * (2 * 1024 * 1024) + '"}',
        content_type="application/json",
        headers=world.auth("it@acme.test"),
    )
    assert answer.status_code == 413
    assert_clean_refusal(answer, app, before)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/packages/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/packages/" + "a" * 5000,
        "/api/v1/packages/%00",
        "/api/v1/licenses/' OR 1=1 --",
        "/api/v1/products/%E2%80%AE/packages",
        "/api/v1/products/erp/packages?limit=-1",
        "/api/v1/products/erp/packages?limit=1e9",
        "/api/v1/products/erp/packages?limit=99999999999999999999",
        "/api/v1/products/erp/packages?cursor=" + "A" * 10_000,
        "/api/v1/products/erp/packages?version=" + SQL,
        "/api/v1/audit?since=yesterday",
        "/api/v1/license-requests?status=" + SQL,
        "/api/v1/audit?actor=%00",
    ],
)
def test_hostile_reads(app, client, world, path):
    before = counts(app)
    answer = client.get(path, headers=world.auth("admin@vendor.test"))
    assert_clean_refusal(answer, app, before)


@pytest.mark.parametrize(
    "method,path",
    [
        ("DELETE", "/api/v1/tokens/%00"),
        ("DELETE", "/api/v1/tokens/" + "f" * 31 + "%00"),
        ("POST", "/api/v1/license-requests/%00/approve"),
        ("POST", "/api/v1/license-requests/' OR 1=1 --/cancel"),
        ("POST", "/api/v1/packages/%00/yank"),
    ],
)
def test_hostile_ids_in_write_paths(app, client, world, method, path):
    before = counts(app)
    answer = client.open(
        path, method=method, json={"reason": "x"}, headers=world.auth("admin@vendor.test")
    )
    assert answer.status_code == 404
    assert_clean_refusal(answer, app, before)


def test_sql_fragments_in_login_are_just_wrong_passwords(client, world):
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    for email in (SQL, "a\x00@b.test"):
        answer = client.post("/login", data={"email": email, "password": SQL, "csrf_token": token})
        assert answer.status_code == 400


def cursor_of(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize("path", ["/api/v1/tokens", "/api/v1/licenses", "/api/v1/installations"])
@pytest.mark.parametrize(
    "values",
    [
        [["v", 10**30], ["v", "x"]],
        [["t", "2026-01-01T00:00:00"], ["v", 10**30]],
        [["t", "2026-01-01T00:00:00+14:00"], ["v", "x"]],
        [["v", "x"], ["t", "9999-12-31"]],
        [["t", "9" * 40], ["v", "x"]],
    ],
)
def test_a_forged_cursor_is_a_400_not_a_500(client, world, path, values):
    """Review finding 10: a cursor decoding to a huge integer was an OverflowError."""
    answer = client.get(
        f"{path}?cursor={cursor_of(values)}", headers=world.auth("admin@vendor.test")
    )
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    "since", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "0000-01-01"]
)
def test_audit_moments_beyond_the_calendar_are_a_400(client, world, since):
    answer = client.get(
        "/api/v1/audit", query_string={"since": since}, headers=world.auth("admin@vendor.test")
    )
    assert answer.status_code == 400
    assert answer.get_json()["error"]["field"] == "since"


def json_routes(app) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.endpoint == "packages.publish":
            continue
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH"}):
            url = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", "x", rule.rule)
            routes.append((method, url))
    return routes


def test_json_nested_5000_deep_is_a_400_on_every_json_endpoint(app, client, world):
    deep = "[" * 5000 + "]" * 5000
    answers = {}
    for method, url in json_routes(app):
        answer = client.open(
            url,
            method=method,
            data=deep,
            content_type="application/json",
            headers=world.auth("admin@vendor.test"),
        )
        answers[(method, url)] = answer.status_code
    assert len(answers) >= 15
    assert {route: status for route, status in answers.items() if status >= 500} == {}
