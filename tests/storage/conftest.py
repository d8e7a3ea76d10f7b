"""Storage tests run on both object stores: the local folder and S3 on loopback."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_config(app_config, storage_url):
    return dict(app_config, STORAGE_URL=storage_url)
