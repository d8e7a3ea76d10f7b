"""Prometheus metrics (prometheus-client) and the protected `/metrics` endpoint.

Under gunicorn every worker writes its samples to `PROMETHEUS_MULTIPROC_DIR` (set up by
gunicorn.conf.py) and a scrape adds all workers up; without it (one process: the dev
server, tests) the default registry is used. `/metrics` answers only a bearer token
equal to `DISTRO_METRICS_TOKEN`; with none configured it does not exist (404).
"""

from __future__ import annotations

import hmac
import os
import time

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from sqlalchemy.exc import SQLAlchemyError

from distro.accounts.auth import not_a_page
from distro.core.clock import utcnow
from distro.core.db import get_session
from distro.core.events import backlog as events_backlog
from distro.core.metrics import (
    EVENTS_WAITING,
    EVENTS_WAITING_AGE,
    FANOUT_ORGS_DONE,
    LATENCY,
    MAIL_OUTBOX,
    MAIL_OUTBOX_AGE,
    REQUESTS,
    TUF_TIMESTAMP_AGE,
)
from distro.mail.outbox import backlog
from distro.ops.health import oldest_timestamp_age

bp = Blueprint("metrics", __name__)


def init_app(app: Flask) -> None:
    app.before_request(_start_timer)
    app.after_request(_count_request)


def _start_timer() -> None:
    g.request_started = time.perf_counter()  # also read by ops.logs


def _count_request(response: Response) -> Response:
    route = request.url_rule.rule if request.url_rule else "unmatched"
    REQUESTS.labels(route, str(response.status_code)).inc()
    started = g.get("request_started")
    if started is not None:
        LATENCY.labels(route).observe(time.perf_counter() - started)
    return response


def _registry() -> CollectorRegistry | None:
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return None
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


@bp.get("/metrics")
@not_a_page
def metrics():
    expected = current_app.config.get("METRICS_TOKEN")
    if not expected:
        abort(404)
    presented = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(presented.encode(), str(expected).encode()):
        abort(401)
    _update_from_database()
    registry = _registry()
    body = generate_latest(registry) if registry is not None else generate_latest()
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


def _update_from_database() -> None:
    """The gauges read at scrape time. Metrics matter most while the database is down,
    so its failure only skips them."""
    session = get_session()
    try:
        age = oldest_timestamp_age(session)
        waiting, oldest = backlog(session)
        events = events_backlog(session)
    except SQLAlchemyError:
        session.rollback()
        return
    if age is not None:
        TUF_TIMESTAMP_AGE.set(age)
    now = utcnow()
    MAIL_OUTBOX.set(waiting)
    MAIL_OUTBOX_AGE.set((now - oldest).total_seconds() if oldest else 0)
    EVENTS_WAITING.set(events.waiting)
    EVENTS_WAITING_AGE.set((now - events.oldest).total_seconds() if events.oldest else 0)
    FANOUT_ORGS_DONE.set(events.fanout_done)
