"""Probes: /healthz is alive, /readyz checks the database and the object store."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from distro.app import create_app
from distro.core.config import DEV_SECRET_KEY, ConfigError


def test_healthz_and_readyz_answer_ok(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": "ok", "storage": "ok", "signing_key": "ok"}
    assert ready.get_json()["tuf_timestamp_age_seconds"] is None  # no product yet


def test_readyz_reports_the_tuf_timestamp_age(client, world, app):
    from sqlalchemy import update

    from distro.core.clock import utcnow
    from distro.tuf.models import TufMetadata
    from tests.conftest import db_session

    def reported_after(age: timedelta):
        """The age /readyz reports once the metadata was made `age` ago (the seeded
        world's products were made when the test session began)."""
        with db_session(app) as session:
            session.execute(update(TufMetadata).values(created_at=utcnow() - age))
            session.commit()
        return client.get("/readyz").get_json()["tuf_timestamp_age_seconds"]

    assert 5 <= reported_after(timedelta(seconds=5)) < 60
    assert reported_after(timedelta(hours=30)) >= 30 * 3600


def test_readyz_is_503_when_this_host_lacks_the_signing_key(app_config, tmp_path):
    from tests.conftest import make_app

    app = make_app(app_config)
    for key in Path(app_config["SIGNING_KEYS_DIR"]).glob("*.pem"):
        key.rename(tmp_path / key.name)  # the key file never reached this host
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    assert "no usable signing key" in answer.get_json()["checks"]["signing_key"]


def test_readyz_is_503_when_the_database_is_unreachable(app_config):
    config = dict(app_config, DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none")
    answer = create_app(config).test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["checks"]["database"] == "unreachable"


def test_readyz_is_503_when_the_object_store_is_unreachable(app_config):
    config = dict(
        app_config, STORAGE_URL="s3://no-such-bucket", S3_ENDPOINT_URL="http://127.0.0.1:1"
    )
    answer = create_app(config).test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["checks"]["storage"] != "ok"


def test_database_outage_on_an_api_call_is_a_503_envelope(app_config):
    config = dict(app_config, DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none")
    answer = (
        create_app(config)
        .test_client()
        .get("/api/v1/products", headers={"Authorization": "Bearer dst_abc_def"})
    )
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "database_unavailable"


def test_production_refuses_the_development_secret(app_config):
    production = dict(app_config, ENV="production", STAFF_MFA="required")
    with pytest.raises(ConfigError, match="DISTRO_SECRET_KEY"):
        create_app(dict(production, SECRET_KEY=DEV_SECRET_KEY))
    hardened = create_app(dict(production, SECRET_KEY="a-long-random-secret"))
    assert hardened.config["SESSION_COOKIE_SECURE"] is True


def test_production_refuses_staff_without_a_second_factor(app_config):
    with pytest.raises(ConfigError, match="DISTRO_STAFF_MFA=off is for development demos"):
        create_app(dict(app_config, ENV="production", SECRET_KEY="a-long-random-secret"))


def test_an_sqlite_too_old_for_the_conditional_updates_is_refused_at_start(app_config, monkeypatch):
    if not app_config["DATABASE_URL"].startswith("sqlite"):
        app_config = dict(app_config, DATABASE_URL="sqlite:///:memory:")
    # The machine's SQLite is new enough; an old one can only be pretended.
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 31, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.31.1")
    with pytest.raises(ConfigError, match=r"SQLite 3\.35 or newer; this Python has 3\.31\.1"):
        create_app(app_config)


@pytest.mark.parametrize("value", [0, 8, 100000, "256", True])
def test_a_proxy_buffer_out_of_range_is_refused_at_start(app_config, value):
    with pytest.raises(ConfigError, match="DISTRO_PROXY_BUFFER_KIB must be a whole number"):
        create_app(dict(app_config, PROXY_BUFFER_KIB=value))
