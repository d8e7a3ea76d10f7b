"""The service's Prometheus metrics, defined once (prometheus-client; no Flask here, so
that services can count what they do). distro.ops.metrics serves them."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "distro_http_requests_total", "HTTP requests by route and status", ["route", "status"]
)
LATENCY = Histogram(
    "distro_http_request_seconds",
    "Time to the response headers, by route",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DOWNLOAD_BYTES = Counter(
    "distro_download_bytes_total", "Package bytes answered, by delivery", ["mode"]
)
DOWNLOADS_IN_FLIGHT = Gauge(
    "distro_downloads_in_flight", "Downloads being sent now", multiprocess_mode="livesum"
)
UPLOADS_IN_FLIGHT = Gauge(
    "distro_uploads_in_flight", "Publish uploads streaming in now", multiprocess_mode="livesum"
)
EVENTS = Counter(
    "distro_events_total",
    "Audited events by action: package.publish, package.yank, package.download, "
    "request.submit, request.approve, license.issue, auth.token_failure, login.failure, ...",
    ["action"],
)
ERRORS = Counter(
    "distro_errors_total",
    "Refusals and failures by error code (storage_unavailable, no_signing_key, ...)",
    ["code"],
)
TUF_TIMESTAMP_AGE = Gauge(
    "distro_tuf_timestamp_age_seconds",
    "Age of the stalest product's newest TUF timestamp, as of the last scrape",
    multiprocess_mode="mostrecent",
)
MAIL_OUTBOX = Gauge(
    "distro_mail_outbox_messages",
    "Messages waiting to be sent (pending or being sent), as of the last scrape",
    multiprocess_mode="mostrecent",
)
MAIL_OUTBOX_AGE = Gauge(
    "distro_mail_outbox_oldest_age_seconds",
    "How long the oldest waiting message has waited (0 when none), as of the last scrape",
    multiprocess_mode="mostrecent",
)
MAIL_ATTEMPTS = Counter(
    "distro_mail_attempts_total",
    "Attempts to hand a message to the SMTP server, by outcome (sent, retry, failed)",
    ["outcome"],
)
EVENTS_WAITING = Gauge(
    "distro_worker_events_waiting",
    "Events the worker has yet to turn into mail (a publish's fan-out counts until its "
    "last organisation), as of the last scrape",
    multiprocess_mode="mostrecent",
)
EVENTS_WAITING_AGE = Gauge(
    "distro_worker_events_oldest_age_seconds",
    "How long the oldest waiting event has waited (0 when none), as of the last scrape",
    multiprocess_mode="mostrecent",
)
FANOUT_ORGS_DONE = Gauge(
    "distro_worker_fanout_organisations_done",
    "Organisations already notified by the publish fan-outs still running",
    multiprocess_mode="mostrecent",
)
