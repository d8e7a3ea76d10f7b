"""Atom feeds: a feed reader (feedparser) follows a product's packages with a per-user
feed key; the key is stored hashed, opens feeds only, is audited, and revocable."""

from __future__ import annotations

import re

import feedparser
from sqlalchemy import select

from distro.accounts.models import FeedKey
from distro.audit.models import AuditEvent
from tests.conftest import csrf_token, db_session, login


def new_key(client) -> str:
    page = client.post("/account/feed-key", data={"csrf_token": csrf_token(client, "/account")})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    return re.search(r'id="feed-key">(dfk_[A-Za-z0-9_-]+)<', page.get_data(as_text=True)).group(1)


def test_a_feed_reader_follows_what_the_keys_owner_may_download(app, client, catalogue):
    login(client, "it@acme.test")
    key = new_key(client)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    answer = client.get("/feeds/erp.atom", query_string={"key": key})
    assert answer.status_code == 200 and answer.mimetype == "application/atom+xml"
    feed = feedparser.parse(answer.data)
    assert not feed.bozo, feed.bozo_exception
    titles = [entry.title for entry in feed.entries]
    assert titles[:2] == [
        "erp 8.0 installer: erp-8.0-setup.exe",  # newest first
        "erp 8.0.5 feature_pack: 报表增强包.zip",
    ]
    assert any("gl-voucher-fix.zip [high]" in t for t in titles)
    assert not any("gl-posting-9.zip" in t for t in titles)  # beyond acme's license
    voucher = next(e for e in feed.entries if "gl-voucher-fix" in e.title)
    assert "PT-201301 总账凭证过账失败" in voucher.content[0].value
    with db_session(app) as session:
        assert session.scalars(select(FeedKey.key_hash)).one() != key  # hashed
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert "feed_key.create" in actions and "feed.read" in actions


def test_a_feed_key_opens_nothing_but_feeds(client, catalogue):
    login(client, "it@acme.test")
    key = new_key(client)
    assert client.get("/feeds/crm.atom", query_string={"key": key}).status_code == 404
    other = client.application.test_client()
    api = other.get("/api/v1/products", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 401


def test_a_revoked_or_replaced_key_is_refused(client, catalogue):
    login(client, "it@acme.test")
    first = new_key(client)
    second = new_key(client)  # replaces the first
    assert client.get("/feeds/erp.atom", query_string={"key": first}).status_code == 401
    assert client.get("/feeds/erp.atom", query_string={"key": second}).status_code == 200
    account = client.get("/account").get_data(as_text=True)
    assert "Revoke the feed key" in account
    client.post("/account/feed-key/revoke", data={"csrf_token": csrf_token(client, "/account")})
    assert client.get("/feeds/erp.atom", query_string={"key": second}).status_code == 401
    for bad in ("", "dfk_", "x" * 500, "dst_abc_def"):
        assert client.get("/feeds/erp.atom", query_string={"key": bad}).status_code == 401
