"""Browser tests: Debian's Chromium driven by Playwright against a live server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("DISTRO_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(items):
    """Every browser test is one_database: what a browser does with the pages does not
    depend on the database, and the feature tests render the same pages on both."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.one_database)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


class Watched:
    """A page whose console errors, CSP violations and JavaScript errors are collected."""

    def __init__(self, context, base_url: str):
        self.context, self.base_url, self.problems = context, base_url, []
        self.page = context.new_page()
        self.page.set_default_timeout(10_000)
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(m.text))
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))

    def open(self, path: str):
        self.page.goto(self.base_url + path)
        return self.page

    def login(self, email: str, password: str):
        page = self.open("/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(self.base_url + "/")
        return page

    def shot(self, name: str):
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def person(browser, live_server):
    """Open a fresh browser session (own cookies) in a language: person('zh')."""
    contexts = []

    def open_as(language: str = "en") -> Watched:
        context = browser.new_context(
            locale="zh-CN" if language == "zh" else "en-US",
            accept_downloads=True,
            viewport={"width": 1280, "height": 900},
        )
        contexts.append(context)
        return Watched(context, live_server.url)

    yield open_as
    for context in contexts:
        context.close()
