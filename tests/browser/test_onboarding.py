"""Invitation, password reset and the Users page in a real browser, in both languages:
the links arrive by mail (a real SMTP server) and the pages they open work."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, body_of, run_worker

TEXT = {
    "en": {
        "invite": "Send invitation",
        "sent": "The invitation is on its way",
        "accept": "Accept the invitation",
        "create": "Create my account",
        "ready": "Your account is ready",
        "forgot": "Forgot your password?",
        "send_link": "Send me a link",
        "on_its_way": "a link to set a new password is on its way",
        "save": "Save the password",
        "changed": "Your password is changed",
        "subject": "You are invited to ACME 有限公司 on the distribution service",
        "disable": "Disable",
        "disabled": "The user is disabled.",
    },
    "zh": {
        "invite": "发送邀请",
        "sent": "邀请邮件已发往",
        "accept": "接受邀请",
        "create": "创建我的账户",
        "ready": "账户已创建",
        "forgot": "忘记密码？",
        "send_link": "发送链接给我",
        "on_its_way": "设置新密码的链接已发出",
        "save": "保存密码",
        "changed": "密码已更改",
        "subject": "您受邀加入分发服务上的 ACME 有限公司",
        "disable": "停用",
        "disabled": "该用户已停用。",
    },
}
NEW = "browser-password-42"


@pytest.fixture
def app_config(app_config, mailbox):
    return dict(app_config, SMTP_URL=mailbox.url)


def mailed_path(runner, mailbox, email: str, kind: str) -> str:
    """Send the queued mail; the path of the `kind` link in the newest one to `email`."""
    run_worker(runner)
    link = re.search(rf"https?://\S+/{kind}/\S+", body_of(mailbox.to(email)[-1])).group(0)
    return urlsplit(link).path


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_customer_admin_invites_a_colleague_who_joins_and_is_disabled(
    person, world, runner, mailbox, live_server, language
):
    words = TEXT[language]
    admin = person(language)
    page = admin.login("it@acme.test", PASSWORD)
    page = admin.open("/users")
    page.fill("input[name=email]", "colleague@acme.test")
    page.select_option("select[name=role]", "customer_user")
    page.click(f"button:has-text('{words['invite']}')")
    expect(page.locator("p.flash")).to_contain_text(words["sent"])
    admin.shot(f"{language}-users-invited")

    path = mailed_path(runner, mailbox, "colleague@acme.test", "invitations")
    assert mailbox.one_to("colleague@acme.test")["Subject"] == words["subject"]
    newcomer = person(language)
    page = newcomer.open(path)
    expect(page.locator("h1")).to_have_text(words["accept"])
    page.fill("input[name=password]", NEW)
    page.fill("input[name=confirm]", NEW)
    page.click(f"button:has-text('{words['create']}')")
    expect(page.locator("p.flash")).to_contain_text(words["ready"])
    newcomer.shot(f"{language}-invitation-accepted")
    page = newcomer.login("colleague@acme.test", NEW)
    expect(page.locator("nav a[href='/tokens']")).to_have_count(0)

    page = admin.open("/users")
    row = page.locator("tr", has_text="colleague@acme.test")
    row.locator(f"button:has-text('{words['disable']}')").click()
    expect(page.locator("p.flash")).to_contain_text(words["disabled"])
    assert admin.problems == [] and newcomer.problems == []


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_forgotten_password_is_reset_from_the_mailed_link(
    person, world, runner, mailbox, live_server, language
):
    words = TEXT[language]
    visitor = person(language)
    page = visitor.open("/login")
    page.click(f"a:has-text('{words['forgot']}')")
    page.fill("input[name=email]", "it@globex.test")
    page.click(f"button:has-text('{words['send_link']}')")
    expect(page.locator("main")).to_contain_text(words["on_its_way"])
    visitor.shot(f"{language}-password-reset-asked")

    page = visitor.open(mailed_path(runner, mailbox, "it@globex.test", "password-reset"))
    page.fill("input[name=password]", NEW)
    page.fill("input[name=confirm]", NEW)
    visitor.shot(f"{language}-password-reset-form")
    page.click(f"button:has-text('{words['save']}')")
    expect(page.locator("p.flash")).to_contain_text(words["changed"])
    visitor.login("it@globex.test", NEW)
    assert visitor.problems == []
