"""A staff member's security key in a real browser: Chromium's virtual WebAuthn
authenticator (over CDP) registers a key, signs in with it, and gives the fresh check an
approval asks for, in place; a key that cannot verify its user is refused. Both
languages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from distro.accounts.models import LoginSession, SecondFactor
from distro.core.clock import utcnow
from distro.licenses.models import LicenseRequest
from tests.conftest import PASSWORD, db_session, grant_license, publish_file

TEXT = {
    "en": {
        "add_key": "Add a security key",
        "go_on": "Go on",
        "use_key": "Use my security key",
        "approve": "Approve",
        "approved": "Approved: license",
        "reject": "Reject",
        "cancel": "Cancel",
        "log_out": "Log out",
    },
    "zh": {
        "add_key": "添加安全密钥",
        "go_on": "继续",
        "use_key": "使用我的安全密钥",
        "approve": "批准",
        "approved": "已批准：许可证",
        "reject": "驳回",
        "cancel": "取消",
        "log_out": "退出登录",
    },
}


@pytest.fixture
def app_config(app_config):
    return {**app_config, "STAFF_MFA": "required"}


@pytest.fixture
def site(app, live_server):
    """The live server by name: WebAuthn takes a domain as relying party, not an IP."""
    url = live_server.url.replace("127.0.0.1", "localhost")
    app.config["BASE_URL"] = url
    live_server.url = url
    return url


def two_requests(client, world, runner, tmp_path) -> list[str]:
    """Two pending upgrade requests to 8.0.1 an account manager submitted."""
    patch = tmp_path / "p.bin"
    patch.write_bytes(b"patch")
    publish_file(runner, patch, version="8.0.1", kind="patch", applies_to=">=8.0,<8.0.1")
    ids = []
    for _ in range(2):
        license_id = grant_license(runner, expires="2099-01-01")
        made = client.post(
            "/api/v1/license-requests",
            headers=world.auth("am@vendor.test"),
            json={"license_id": license_id, "target_version": "8.0.1"},
        )
        assert made.status_code == 201, made.get_json()
        ids.append(made.get_json()["id"])
    return ids


def authenticator(watched, user_verified: bool = True) -> tuple:
    """Chromium's virtual platform authenticator on this page's browser context."""
    cdp = watched.context.new_cdp_session(watched.page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": user_verified,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def age_the_check(app, minutes: int = 6) -> None:
    with db_session(app) as session:
        session.execute(
            update(LoginSession)
            .where(LoginSession.checked_at.is_not(None))
            .values(checked_at=utcnow() - timedelta(minutes=minutes))
        )
        session.commit()


def status_of(app, request_id: str) -> str:
    with db_session(app) as session:
        return session.get(LicenseRequest, request_id).status


def sign_in(watched, site: str, email: str):
    page = watched.open("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    return page


@pytest.mark.parametrize("language", ["en", "zh"])
def test_an_approver_signs_in_and_approves_with_a_security_key(
    app, person, world, runner, client, site, tmp_path, language
):
    words = TEXT[language]
    first, second = two_requests(client, world, runner, tmp_path)
    approver = person(language)
    cdp, key = authenticator(approver)
    page = sign_in(approver, site, "appr@vendor.test")
    # No factor yet: enrolment only.
    page.wait_for_url(re.compile(re.escape(site) + r"/mfa/enrol\?next="))
    page.click(f"button:has-text('{words['add_key']}')")
    codes = page.locator("[data-recovery-codes] pre")
    expect(codes).to_be_visible()
    assert len(codes.inner_text().split()) == 10
    approver.shot(f"{language}-mfa-key-added")
    page.click(f"a:has-text('{words['go_on']}')")
    page.wait_for_url(f"{site}/")
    with db_session(app) as session:
        kinds = session.scalars(select(SecondFactor.kind)).all()
    assert kinds == ["webauthn"]

    # A new session starts with the check; the key answers it.
    page.click(f"button:has-text('{words['log_out']}')")
    page = sign_in(approver, site, "appr@vendor.test")
    page.wait_for_url(re.compile(re.escape(site) + r"/mfa\?next="))
    page.click(f"button:has-text('{words['use_key']}')")
    page.wait_for_url(f"{site}/")

    # Six minutes later an approval asks the key again, in place, and goes through.
    age_the_check(app)
    page = approver.open("/requests")
    page.click(f"#req-{first} button:has-text('{words['approve']}')")
    expect(page.locator("p.flash")).to_contain_text(words["approved"])
    assert status_of(app, first) == "issued"

    # A key that cannot verify its user (no PIN, no fingerprint) is not enough (the options
    # ask for user verification and the server requires it): the page falls back to
    # asking for a code, and cancelling it leaves the request pending.
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": key, "isUserVerified": False})
    age_the_check(app)
    page = approver.open("/requests")
    page.fill(f"#reason-{second}", "not now")
    page.click(f"#req-{second} button:has-text('{words['reject']}')")
    dialog = page.locator("#check-dialog")
    expect(dialog).to_be_visible()
    dialog.locator(f"button:has-text('{words['cancel']}')").click()
    expect(dialog).to_be_hidden()
    assert status_of(app, second) == "pending"
    assert approver.problems == []
