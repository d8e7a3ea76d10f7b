"""The authorization matrix: every endpoint × every kind of caller, from one table.

Cells name the status a caller gets. Where the caller is allowed, the request is built
to stop at a predictable point after the permission checks (a validation error, or a
state conflict on the second attempt), so the matrix checks who may call what without
depending on the order of the cells. A route without a row fails the test.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pyotp
import pytest

from distro.accounts.models import ApiToken
from tests.conftest import cli_ok, csrf_token, db_session, grant_license, login, publish_file

CALLERS = [
    "anon",
    "expired",
    "revoked",
    "it@acme.test",
    "installer@acme",
    "it@globex.test",
    "installer@globex",
    "am@vendor.test",
    "am2@vendor.test",
    "appr@vendor.test",
    "pub@vendor.test",
    "admin@vendor.test",
]


# A staff session signed in with a password whose second-factor check is still to come
# (DISTRO_STAFF_MFA=required): only the check itself answers it; all else is 403.
UNCHECKED_ALLOWED = {
    ("GET", "/api/v1/mfa/status"): 200,
    ("POST", "/api/v1/mfa/verify"): 400,
    ("POST", "/api/v1/mfa/webauthn/assert/options"): 400,  # an app, no security key
    ("POST", "/api/v1/mfa/webauthn/assert"): 400,
}


def matrix(ids: dict) -> list[tuple[str, str, dict, dict]]:
    """(method, path, request kwargs, expected status per caller)."""
    pkg, lic, req, tok = ids["package"], ids["license"], ids["request"], ids["token"]
    inv, inst, bundle = ids["invitation"], ids["installation"], ids["bundle"]
    acme_read = {
        **{c: 200 for c in CALLERS},
        "anon": 401,
        "expired": 401,
        "revoked": 401,
        "it@globex.test": 404,
        "installer@globex": 404,
    }
    license_read = {**acme_read, "am2@vendor.test": 404}
    no_delta = {c: 404 if status == 200 else status for c, status in acme_read.items()}
    everyone = {c: 200 for c in CALLERS}
    authenticated = {**everyone, "anon": 401, "expired": 401, "revoked": 401}
    no_installer = {"installer@acme": 403, "installer@globex": 403}
    admin = "admin@vendor.test"
    # Invitations: customer admins (their own organisation's) and admins only.
    customer_admins = {**authenticated, **{c: 403 for c in CALLERS[3:]}}

    def acme_admins(status: int) -> dict:
        return {"it@acme.test": status, "it@globex.test": 404, admin: status}

    def bundle_managers(acme: int, other: int) -> dict:
        """Offline bundles: acme's customer admin, its account manager and admins;
        globex's account manager manages another organisation."""
        return {
            "it@acme.test": acme,
            "it@globex.test": acme,
            "am@vendor.test": acme,
            "am2@vendor.test": other,
            admin: acme,
        }

    return [
        ("GET", "/api/v1/keys", {}, everyone),
        ("GET", "/api/v1/openapi.json", {}, everyone),
        ("GET", "/api/v1/products", {}, authenticated),
        ("GET", "/api/v1/products/erp/packages", {}, acme_read),
        ("GET", "/api/v1/products/erp/updates?from=8.0", {}, acme_read),
        ("GET", f"/api/v1/packages/{pkg}", {}, acme_read),
        ("GET", f"/api/v1/packages/{pkg}/download", {}, acme_read),
        # No delta from the package to itself: the entitled hear 404 like everyone else.
        ("GET", f"/api/v1/packages/{pkg}/deltas/{pkg}/download", {}, no_delta),
        ("GET", "/api/v1/tuf/erp/metadata/timestamp.json", {}, acme_read),
        ("GET", f"/api/v1/tuf/erp/targets/{PATCH_TARGET}", {}, acme_read),
        (
            "POST",
            "/api/v1/packages",
            {"json": {}},
            {
                **authenticated,
                **{c: 403 for c in CALLERS[3:]},
                "pub@vendor.test": 400,
                "admin@vendor.test": 400,
            },
        ),
        (
            "PATCH",
            f"/api/v1/packages/{pkg}",
            {"json": {}},
            {
                **authenticated,
                **{c: 403 for c in CALLERS[3:]},
                "pub@vendor.test": 400,
                "admin@vendor.test": 400,
            },
        ),
        ("GET", "/api/v1/search?q=fix", {}, authenticated),
        ("GET", "/api/v1/advisories", {}, authenticated),
        (
            "POST",
            f"/api/v1/packages/{pkg}/yank",
            {"json": {}},
            {
                **authenticated,
                **{c: 403 for c in CALLERS[3:]},
                "pub@vendor.test": 400,
                "admin@vendor.test": 400,
            },
        ),
        ("GET", "/api/v1/licenses", {}, authenticated),
        ("GET", f"/api/v1/licenses/{lic}", {}, license_read),
        ("GET", f"/api/v1/licenses/{lic}/file", {}, license_read),
        (
            "POST",
            "/api/v1/license-requests",
            {"json": {"license_id": lic, "target_version": "10.0"}},
            {
                **authenticated,
                **{c: 403 for c in CALLERS[3:]},
                "am@vendor.test": 422,
                "am2@vendor.test": 404,
                "admin@vendor.test": 422,
            },
        ),
        (
            "GET",
            "/api/v1/license-requests",
            {},
            {
                **authenticated,
                **{c: 403 for c in CALLERS[3:]},
                "am@vendor.test": 200,
                "am2@vendor.test": 200,
                "appr@vendor.test": 200,
                "admin@vendor.test": 200,
            },
        ),
        (
            "POST",
            f"/api/v1/license-requests/{req}/approve",
            {"json": {}},
            {
                **authenticated,
                **{c: 403 for c in CALLERS[3:]},
                "appr@vendor.test": {200, 409},
                "admin@vendor.test": {200, 409},
            },
        ),
        (
            "POST",
            f"/api/v1/license-requests/{req}/reject",
            {"json": {}},
            {
                **authenticated,
                **{c: 403 for c in CALLERS[3:]},
                "appr@vendor.test": 400,
                "admin@vendor.test": 400,
            },
        ),
        (
            "POST",
            f"/api/v1/license-requests/{req}/cancel",
            {},
            {
                **authenticated,
                **{c: 403 for c in CALLERS[3:]},
                "am@vendor.test": {200, 409},
                "am2@vendor.test": 404,
                "admin@vendor.test": 403,
            },
        ),
        (
            "POST",
            "/api/v1/tokens",
            {"json": {}},
            # A staff token comes from the CLI or a freshly checked session, never a token.
            {
                **authenticated,
                **{c: 400 for c in CALLERS[3:]},
                **no_installer,
                **{c: 403 for c in CALLERS[7:]},
            },
        ),
        ("GET", "/api/v1/tokens", {}, {**authenticated, **no_installer}),
        (
            "DELETE",
            f"/api/v1/tokens/{tok}",
            {},
            {
                **authenticated,
                **{c: 404 for c in CALLERS[3:]},
                **no_installer,
                "it@acme.test": 200,
                "admin@vendor.test": 200,
            },
        ),
        # Second factors belong to signed-in sessions: no token manages them.
        ("GET", "/api/v1/mfa/status", {}, {**authenticated, **{c: 403 for c in CALLERS[3:]}}),
        *[
            (
                "POST",
                f"/api/v1/mfa/{path}",
                {"json": {}},
                {**authenticated, **{c: 403 for c in CALLERS[3:]}},
            )
            for path in (
                "totp",
                "totp/confirm",
                "verify",
                "webauthn/register/options",
                "webauthn/register",
                "webauthn/assert/options",
                "webauthn/assert",
                "recovery-codes",
            )
        ],
        (
            "DELETE",
            f"/api/v1/mfa/factors/{tok}",
            {},
            {**authenticated, **{c: 403 for c in CALLERS[3:]}},
        ),
        (
            "POST",
            "/api/v1/import/orgs",
            {"data": "code,name\n", "content_type": "text/csv"},
            {**authenticated, **{c: 403 for c in CALLERS[3:]}, "admin@vendor.test": 200},
        ),
        (
            "GET",
            "/api/v1/audit",
            {},
            {**authenticated, **{c: 403 for c in CALLERS[3:]}, "admin@vendor.test": 200},
        ),
        # Open: the mailed token is the credential (an unknown one is 410 for anyone).
        ("POST", "/api/v1/password-reset", {"json": {}}, {c: 400 for c in CALLERS}),
        ("POST", f"/api/v1/password-reset/{tok}", {"json": {}}, {c: 410 for c in CALLERS}),
        ("POST", f"/api/v1/invitations/{tok}/accept", {"json": {}}, {c: 410 for c in CALLERS}),
        (
            "POST",
            "/api/v1/invitations",
            {"json": {}},
            {**customer_admins, "it@acme.test": 400, "it@globex.test": 400, admin: 400},
        ),
        (
            "GET",
            "/api/v1/invitations",
            {},
            {**customer_admins, **acme_admins(200), "it@globex.test": 200},
        ),
        ("DELETE", f"/api/v1/invitations/{inv}", {}, {**customer_admins, **acme_admins(200)}),
        (
            "POST",
            f"/api/v1/invitations/{inv}/resend",
            {},
            {**customer_admins, **acme_admins(200)},
        ),
        # Installations: installers and customer admins report; customer admins plan.
        (
            "POST",
            "/api/v1/installations/report",
            {"json": {}},
            {**customer_admins, **{c: 400 for c in CALLERS[3:7]}},
        ),
        ("GET", "/api/v1/installations", {}, {**authenticated, **no_installer}),
        (
            "PUT",
            f"/api/v1/installations/{inst}",
            {"json": {}},
            {**customer_admins, "it@acme.test": 400, "it@globex.test": 404},
        ),
        (
            "PUT",
            "/api/v1/rings/test/approvals/erp",
            {"json": {}},
            {**customer_admins, "it@acme.test": 422, "it@globex.test": 404},
        ),
        (
            "DELETE",
            "/api/v1/rings/test/approvals/erp",
            {},
            {**customer_admins, "it@acme.test": 200, "it@globex.test": 404},
        ),
        (
            "PATCH",
            "/api/v1/products/erp",
            {"json": {}},
            {**authenticated, **{c: 403 for c in CALLERS[3:]}, admin: 400},
        ),
        # Offline bundles and the reports that come back: customer admins, admins.
        (
            "POST",
            "/api/v1/installations/import",
            {"json": {}},
            {**customer_admins, "it@acme.test": 400, "it@globex.test": 400, admin: 400},
        ),
        (
            "POST",
            "/api/v1/bundles",
            {"json": {"since": 0, "org": "acme"}},
            {**customer_admins, **bundle_managers(400, 404), "it@globex.test": 400},
        ),
        ("GET", "/api/v1/bundles", {}, {**customer_admins, **bundle_managers(200, 200)}),
        (
            "GET",
            f"/api/v1/bundles/{bundle}",
            {},
            {**customer_admins, **bundle_managers(200, 404), "it@globex.test": 404},
        ),
        (
            "GET",
            f"/api/v1/bundles/{bundle}/files/acme-1.part001",
            {},  # still being built
            {**customer_admins, **bundle_managers(404, 404), "it@globex.test": 404},
        ),
    ]


def logged_out_cookie(app) -> str:
    """The session cookie of an admin, saved before they logged out (review finding 3)."""
    browser = app.test_client()
    login(browser, "admin@vendor.test")
    saved = browser.get_cookie("session").value
    assert browser.get("/api/v1/audit").status_code == 200
    browser.post("/logout", data={"csrf_token": csrf_token(browser, "/")})
    return saved


def unchecked_cookie(app) -> str:
    """The session cookie of an admin who has an authenticator app and signed in again
    with the password only."""
    browser = app.test_client()
    login(browser, "admin@vendor.test")
    csrf = {"X-CSRFToken": csrf_token(browser, "/login")}
    secret = browser.post("/api/v1/mfa/totp", headers=csrf).get_json()["secret"]
    code = {"code": pyotp.TOTP(secret).now()}
    confirmed = browser.post("/api/v1/mfa/totp/confirm", json=code, headers=csrf)
    assert confirmed.status_code == 200
    again = app.test_client()
    login(again, "admin@vendor.test")
    return again.get_cookie("session").value


@pytest.fixture
def ids(app, client, world, runner, tmp_path):
    """A package acme is entitled to, acme's license, a pending request and a token."""
    license_id = grant_license(runner, expires="2099-01-01")
    path = tmp_path / "p.bin"
    path.write_bytes(b"patch")
    package = publish_file(runner, path, version="8.0.1", kind="patch", applies_to=">=8.0,<8.0.1")
    request = client.post(
        "/api/v1/license-requests",
        headers=world.auth("am@vendor.test"),
        json={"license_id": license_id, "target_version": "8.0.1"},
    ).get_json()
    token = client.post(
        "/api/v1/tokens",
        json={"name": "victim", "installer": True},
        headers=world.auth("it@acme.test"),
    ).get_json()
    for name, change in (("expired", "expire"), ("revoked", "revoke")):
        secret = cli_ok(runner, "tokens", "create", "admin@vendor.test", "--name", name)
        world.headers[name] = {"Authorization": f"Bearer {secret}"}
        with db_session(app) as session:
            row = session.query(ApiToken).filter_by(prefix=secret.split("_")[1]).one()
            if change == "expire":
                row.expires_at = row.created_at - timedelta(seconds=1)
            else:
                row.revoked_at = row.created_at
            session.commit()
    world.headers["anon"] = {}
    world.secrets["logged_out"] = logged_out_cookie(app)
    world.headers["logged_out"] = {}
    world.secrets["unchecked"] = unchecked_cookie(app)
    world.headers["unchecked"] = {}
    invitation = client.post(
        "/api/v1/invitations",
        json={"email": "colleague@acme.test", "role": "customer_user"},
        headers=world.auth("it@acme.test"),
    ).get_json()
    installation = client.post(
        "/api/v1/installations/report",
        json={"installation": "erp-prod-01", "product": "erp", "version": "8.0", "event": "check"},
        headers=world.auth("installer@acme"),
    ).get_json()
    approved = client.put(
        "/api/v1/rings/test/approvals/erp",
        json={"version": "8.0.1"},
        headers=world.auth("it@acme.test"),
    )
    assert approved.status_code == 200, approved.get_json()
    bundle = client.post("/api/v1/bundles", json={}, headers=world.auth("it@acme.test"))
    assert bundle.status_code == 202, bundle.get_json()
    return {
        "bundle": bundle.get_json()["id"],
        "package": package,
        "license": license_id,
        "request": request["id"],
        "token": token["id"],
        "invitation": invitation["id"],
        "installation": installation["id"],
    }


# The TUF target path of the patch that `ids` publishes (version, SHA-256, file name).
PATCH_TARGET = f"8.0.1/{hashlib.sha256(b'patch').hexdigest()}.p.bin"
FAKE_IDS = {
    "package": "p" * 32,
    "license": "l" * 32,
    "request": "r" * 32,
    "token": "t" * 32,
    "invitation": "i" * 32,
    "installation": "n" * 32,
    "bundle": "b" * 32,
}


def test_every_route_has_a_row(app):
    fake = FAKE_IDS
    rows = {
        (method, re.sub(r"/[plrtinb]{32}(?=/|$)", "/{id}", path.split("?")[0]))
        for method, path, _, _ in matrix(fake)
    }
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = (
                re.sub(r"<(?:\w+:)?\w+>", "{id}", rule.rule)
                .replace("products/{id}", "products/erp")
                .replace("import/{id}", "import/orgs")
                .replace("rings/{id}/approvals/{id}", "rings/test/approvals/erp")
                .replace("tuf/{id}/metadata/{id}", "tuf/erp/metadata/timestamp.json")
                .replace("bundles/{id}/files/{id}", "bundles/{id}/files/acme-1.part001")
                .replace("tuf/{id}/targets/{id}/{id}", f"tuf/erp/targets/{PATCH_TARGET}")
            )
            routed |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert rows == routed


@pytest.mark.parametrize("row", range(len(matrix(FAKE_IDS))))
def test_authorization_matrix(app, client, world, ids, row):
    method, path, kwargs, expected = matrix(ids)[row]
    app.config["STAFF_MFA"] = "required"  # tokens carry no second factor and need none
    # A cookie saved before logout is worth what no credential is worth.
    expected = {
        **expected,
        "logged_out": expected["anon"],
        "unchecked": UNCHECKED_ALLOWED.get((method, path), 403),
    }
    replays = {}
    for caller in ("logged_out", "unchecked"):
        replays[caller] = app.test_client()  # the test client sends its jar's cookies
        replays[caller].set_cookie("session", world.secrets[caller])
    got = {}
    for caller in [*CALLERS, *replays]:
        browser = replays.get(caller, client)
        answer = browser.open(path, method=method, headers=world.headers[caller], **kwargs)
        got[caller] = answer.status_code
        if answer.status_code >= 400:
            code = answer.get_json()["error"]["code"]
            assert code, (caller, path)
            if caller == "unchecked" and answer.status_code == 403:
                assert code == "mfa_required", path
    mismatches = {
        c: (got[c], expected[c])
        for c in got
        if got[c] not in (expected[c] if isinstance(expected[c], set) else {expected[c]})
    }
    assert mismatches == {}, f"{method} {path}"


def test_account_managers_list_only_their_organisations_installations(client, runner, world, ids):
    """Review finding 11: as on the fleet page."""
    grant_license(runner, org="globex", version="8.0")
    client.post(
        "/api/v1/installations/report",
        json={"installation": "gx-01", "product": "erp", "version": "8.0", "event": "check"},
        headers=world.auth("installer@globex"),
    )

    def listed(who: str) -> set:
        answer = client.get("/api/v1/installations", headers=world.auth(who)).get_json()
        return {(item["org"], item["installation"]) for item in answer["items"]}

    assert listed("am@vendor.test") == {("acme", "erp-prod-01")}
    assert listed("am2@vendor.test") == {("globex", "gx-01")}
    assert listed("admin@vendor.test") == {("acme", "erp-prod-01"), ("globex", "gx-01")}


def test_responses_with_a_secret_are_not_stored(client, world, ids):
    """Review finding 11: a new token and a license file never sit in a cache."""
    made = client.post("/api/v1/tokens", json={"name": "x"}, headers=world.auth("it@acme.test"))
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    license_file = client.get(
        f"/api/v1/licenses/{ids['license']}/file", headers=world.auth("it@acme.test")
    )
    assert license_file.status_code == 200 and license_file.headers["Cache-Control"] == "no-store"
    listed = client.get("/api/v1/tokens", headers=world.auth("it@acme.test"))
    assert "no-store" not in listed.headers.get("Cache-Control", "")
