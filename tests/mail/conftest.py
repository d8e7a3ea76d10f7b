"""Mail tests run against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_config(app_config, mailbox):
    return dict(app_config, SMTP_URL=mailbox.url, BASE_URL="https://distro.example")
