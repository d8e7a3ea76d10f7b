"""The second-factor policy covers every route: a walk of the URL map proves that a staff
session short of the policy reaches nothing but the views marked for its step, and that
each action the contract names asks for a fresh check."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import update

from distro.accounts.models import LoginSession
from distro.core.clock import utcnow
from tests.conftest import csrf_token, db_session, login

# The views a session may reach before the policy is met, by step. Adding a view here is
# a security decision: it must be one a half-signed-in person needs.
MARKED = {
    "enrol": {
        "mfa.begin_totp",
        "mfa.confirm_totp",
        "mfa.register_options",
        "mfa.register",
        "mfa_pages.enrol",
        "mfa_pages.enrol_app",
        "mfa_pages.confirm_app",
    },
    "check": {
        "mfa.verify",
        "mfa.assert_options",
        "mfa.assert_key",
        "mfa_pages.check",
    },
    "any": {"mfa.status", "web.language", "accounts.login", "accounts.logout"},
}

# What a session must have checked within five minutes to do (contract §9): approve,
# reject, publish, yank, key rotation, token creation and user administration, by API
# and by page form.
FRESH = [
    ("POST", "/api/v1/license-requests/{id}/approve", {}),
    ("POST", "/api/v1/license-requests/{id}/reject", {"reason": "no"}),
    ("POST", "/api/v1/packages", {}),
    ("POST", "/api/v1/packages/{id}/yank", {"reason": "bad"}),
    ("POST", "/api/v1/tokens", {"name": "deploy"}),
    ("POST", "/api/v1/invitations", {"email": "new@vendor.test", "role": "approver"}),
    ("DELETE", "/api/v1/invitations/{id}", {}),
    ("PATCH", "/api/v1/products/erp", {"review": "system"}),
    ("POST", "/api/v1/import/organisations", {}),
    ("POST", "/requests/{id}/approve", None),
    ("POST", "/requests/{id}/reject", None),
    ("POST", "/packages/{id}/yank", None),
    ("POST", "/admin/keys/rotate", None),
    ("POST", "/tokens", None),
    ("POST", "/users", None),
    ("POST", "/users/{id}/disable", None),
    ("POST", "/users/{id}/reset-mfa", None),
    ("POST", "/admin/import", None),
]


@pytest.fixture
def app_config(app_config):
    return {**app_config, "STAFF_MFA": "required"}


def routes(app):
    """(endpoint, method, path) of every route but static files and machine endpoints."""
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint == "static" or getattr(view, "not_a_page", False):
            continue
        path = re.sub(r"<(?:[^:>]+:)?[^>]+>", "x" * 32, rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path


def signed_in(app, email: str):
    browser = app.test_client()
    assert login(browser, email).status_code == 302
    return browser, csrf_token(browser, "/login")


def walk(app, browser, token: str, step: str) -> dict[str, str]:
    """Call every route; returns the endpoints that let the session through, and fails on
    any that turned it away in another way than the policy's."""
    through, wrong = {}, []
    for endpoint, method, path in routes(app):
        if endpoint == "accounts.logout":
            continue  # it would end the walk's session; it is marked "any" and checked below
        # The policy sends a page back to where it came from; the marker tells its redirect
        # from a view's own.
        answer = browser.open(
            f"{path}?walked=1",
            method=method,
            data={"csrf_token": token},
            headers={"X-CSRFToken": token, "Referer": f"http://localhost{path}?walked=1"},
        )
        if path.startswith("/api/"):
            turned_away = answer.status_code == 403 and (
                answer.get_json()["error"]["code"] == "mfa_required"
            )
        else:
            expected = "/mfa/enrol" if step == "enrol" else "/mfa?"
            turned_away = (
                answer.status_code == 302
                and answer.location.startswith(expected)
                and "walked" in answer.location
            )
        if not turned_away:
            through[endpoint] = f"{method} {path} -> {answer.status_code}"
        if answer.status_code >= 500:
            wrong.append((method, path, answer.status_code))
    assert wrong == []
    return through


def test_a_staff_session_without_a_factor_reaches_only_enrolment(app, world):
    browser, token = signed_in(app, "pub@vendor.test")
    through = walk(app, browser, token, "enrol")
    assert set(through) == MARKED["enrol"] | MARKED["any"] - {"accounts.logout"}, through


def test_an_unchecked_staff_session_reaches_only_its_check(app, world):
    enrolling, token = signed_in(app, "appr@vendor.test")
    secret = enrolling.post("/api/v1/mfa/totp", headers={"X-CSRFToken": token}).get_json()
    code = {"code": pyotp.TOTP(secret["secret"]).now()}
    confirmed = enrolling.post(
        "/api/v1/mfa/totp/confirm", json=code, headers={"X-CSRFToken": token}
    )
    assert confirmed.status_code == 200
    browser, token = signed_in(app, "appr@vendor.test")
    through = walk(app, browser, token, "check")
    assert set(through) == MARKED["check"] | MARKED["any"] - {"accounts.logout"}, through
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 302
    assert browser.get("/api/v1/mfa/status").status_code == 401  # logout worked unchecked


def test_the_marked_views_are_exactly_the_reviewed_ones(app):
    marked = {}
    for endpoint, view in app.view_functions.items():
        if getattr(view, "mfa_step", None):
            marked.setdefault(view.mfa_step, set()).add(endpoint)
    assert marked == MARKED


def test_customers_are_not_held_by_the_staff_policy(app, world):
    browser, _ = signed_in(app, "it@acme.test")
    assert browser.get("/").status_code == 200
    assert browser.get("/api/v1/products").status_code == 200


@pytest.mark.parametrize("method,path,body", FRESH, ids=[f"{m} {p}" for m, p, _ in FRESH])
def test_what_matters_needs_a_check_within_five_minutes(app, world, method, path, body):
    browser, token = signed_in(app, "admin@vendor.test")
    begun = browser.post("/api/v1/mfa/totp", headers={"X-CSRFToken": token}).get_json()
    totp = pyotp.TOTP(begun["secret"])
    confirm = {"code": totp.now()}
    assert (
        browser.post(
            "/api/v1/mfa/totp/confirm", json=confirm, headers={"X-CSRFToken": token}
        ).status_code
        == 200
    )
    # Confirming enrolment counts as this session's check; make it six minutes old.
    with db_session(app) as session:
        session.execute(
            update(LoginSession)
            .where(LoginSession.checked_at.is_not(None))
            .values(checked_at=utcnow() - timedelta(minutes=6))
        )
        session.commit()
    url = path.replace("{id}", "x" * 32)
    if body is None:  # a page's form: sent to the check, to come back to the page
        stale = browser.post(url, data={"csrf_token": token})
        assert stale.status_code == 302 and stale.location.startswith("/mfa?next="), url
    else:
        stale = browser.open(url, method=method, json=body, headers={"X-CSRFToken": token})
        assert stale.status_code == 403, stale.get_json()
        assert stale.get_json()["error"]["code"] == "mfa_required"
    assert browser.get("/api/v1/mfa/status").get_json()["step"] == "ok"  # checked, not fresh
