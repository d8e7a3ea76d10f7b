"""Pages come in Simplified Chinese and English; every message has a translation."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from distro.accounts.models import User
from tests.conftest import csrf_token, db_session, login, switch_language

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "distro/web/translations/zh/LC_MESSAGES"


def load_translations_script():
    spec = importlib.util.spec_from_file_location("translations", ROOT / "scripts/translations.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_message_is_translated_and_compiled(tmp_path):
    pot = tmp_path / "messages.pot"
    load_translations_script().extract(pot)
    wanted = {m.id for m in read_po(pot.open("rb")) if m.id}
    po = {m.id: m.string for m in read_po((CATALOG / "messages.po").open("rb")) if m.id}
    mo = {m.id: m.string for m in read_mo((CATALOG / "messages.mo").open("rb")) if m.id}
    assert sorted(wanted - {k for k, v in po.items() if v}) == []
    assert {k: po[k] for k in wanted} == {k: mo.get(k) for k in wanted}


def test_language_follows_accept_language_and_the_users_choice(client):
    chinese = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert "登录" in chinese.get_data(as_text=True) and 'lang="zh-Hans"' in chinese.get_data(
        as_text=True
    )
    english = client.get("/login", headers={"Accept-Language": "en-US"})
    assert "Log in" in english.get_data(as_text=True)
    switched = switch_language(client, "zh", "/login")
    assert switched.status_code == 302 and switched.headers["Location"] == "/login"
    assert "登录" in client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_language_switch_never_redirects_off_site(client):
    token = csrf_token(client)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example/", "evil"):
        answer = client.post("/lang/en", data={"next": target, "csrf_token": token})
        assert answer.headers["Location"] == "/"


def test_language_switch_is_a_post_with_the_pages_csrf_token(app, client, world):
    """A GET changes nothing (review finding 2): not even a signed-in user's language."""
    login(client, "it@acme.test")
    assert client.get("/lang/zh").status_code == 405
    refused = client.post("/lang/zh", data={"next": "/"})
    assert refused.status_code == 400
    with db_session(app) as session:
        assert session.get(User, world.ids["it@acme.test"]).language is None
    assert switch_language(client, "zh", "/").status_code == 302
    with db_session(app) as session:
        assert session.get(User, world.ids["it@acme.test"]).language == "zh"


def test_pages_carry_security_headers(client):
    answer = client.get("/login")
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
