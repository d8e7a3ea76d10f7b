"""Pages are for people in a session: a bearer token on any page route is 401 (review
finding 2), so an installer's token cannot read the organisation's people, tokens or
licenses through the pages, nor change anything there. Walks the whole URL map, so a
page added later is covered without a new line here."""

from __future__ import annotations

import re

import pytest

from tests.conftest import login

NOT_PAGES = {"static", "health.healthz", "health.readyz", "metrics.metrics"}


def page_routes(app) -> list[tuple[str, str]]:
    """(method, URL) of every page route, placeholders filled with a plausible id."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.endpoint in NOT_PAGES:
            continue
        url = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: f"x{m.group(1)}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, url))
    return routes


def test_the_walk_finds_the_pages_the_review_named(app):
    urls = {url for _method, url in page_routes(app)}
    assert {"/users", "/tokens", "/installations", "/licenses", "/account", "/"} <= urls
    assert ("POST", "/lang/xcode") in page_routes(app)


@pytest.mark.parametrize("caller", ["installer@acme", "it@acme.test", "admin@vendor.test"])
def test_a_bearer_token_on_any_page_route_is_401(app, client, world, caller):
    answers = {
        (method, url): client.open(url, method=method, headers=world.auth(caller)).status_code
        for method, url in page_routes(app)
    }
    assert {route: status for route, status in answers.items() if status != 401} == {}


def test_a_token_beside_a_session_cookie_is_refused_too(client, world):
    login(client, "it@acme.test")
    assert client.get("/users").status_code == 200
    assert client.get("/users", headers=world.auth("installer@acme")).status_code == 401


def test_tokens_keep_working_where_they_belong(client, world):
    assert client.get("/api/v1/products", headers=world.auth("installer@acme")).status_code == 200
    assert client.get("/healthz", headers=world.auth("installer@acme")).status_code == 200
