"""/metrics: Prometheus text for a bearer of DISTRO_METRICS_TOKEN only (absent without
one), with every gunicorn worker's counts added up."""

from __future__ import annotations

import time
from datetime import timedelta

import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from distro.app import create_app
from distro.core.clock import utcnow
from distro.tuf.models import TufMetadata
from tests.conftest import Gunicorn, db_session, grant_license, make_app, publish_file


def samples(text: str, name: str, **labels) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def test_metrics_do_not_exist_without_a_token(client):
    assert client.get("/metrics").status_code == 404


def test_metrics_answer_only_the_token(app_config):
    client = make_app(dict(app_config, METRICS_TOKEN="scrape-me")).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    client.get("/healthz")
    answer = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    assert samples(answer.text, "distro_http_requests_total", route="/healthz", status="200") >= 1


def test_metrics_are_served_while_the_database_is_down(app_config):
    config = dict(
        app_config,
        METRICS_TOKEN="scrape-me",
        DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none",
    )
    client = create_app(config).test_client()
    answer = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert answer.status_code == 200 and "distro_http_requests_total" in answer.text


def test_every_workers_counts_add_up(app, app_config, runner, world, tmp_path):
    grant_license(runner, version="9.0")
    payload = tmp_path / "erp-9.0.bin"
    payload.write_bytes(b"x" * 12345)
    package_id = publish_file(runner, payload, version="9.0")
    with db_session(app) as session:  # the seeded world's products date from the session's start
        session.execute(update(TufMetadata).values(created_at=utcnow() - timedelta(minutes=2)))
        session.commit()
    server = Gunicorn(app_config, workers=2, DISTRO_METRICS_TOKEN="scrape-me")
    try:
        for _ in range(40):  # a new connection each time, spread over both workers
            assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
        download = requests.get(
            f"{server.url}/api/v1/packages/{package_id}/download",
            headers=world.headers["installer@acme"],
            timeout=10,
        )
        assert download.status_code == 200
        for _ in range(50):  # the worker closes the download just after its last byte
            text = requests.get(
                f"{server.url}/metrics", headers={"Authorization": "Bearer scrape-me"}, timeout=10
            ).text
            if samples(text, "distro_downloads_in_flight") == 0:
                break
            time.sleep(0.1)
    finally:
        server.stop()
    assert samples(text, "distro_http_requests_total", route="/healthz", status="200") == 40
    assert samples(text, "distro_download_bytes_total", mode="local") == 12345
    assert samples(text, "distro_events_total", action="package.download") == 1
    assert samples(text, "distro_downloads_in_flight") == 0
    assert 120 <= samples(text, "distro_tuf_timestamp_age_seconds") < 600
    assert samples(text, "distro_http_request_seconds_count", route="/healthz") == 40
