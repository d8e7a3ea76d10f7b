"""gunicorn settings for distro: `gunicorn --config gunicorn.conf.py wsgi:app`.

gevent workers: a download over a slow line holds a greenlet and a few kilobytes, not one
of a handful of threads, so a thousand customers fetching an installer at once leave
logins and API calls answering (docs/deploy.md, "Serving"; bench/slow.py measures it).
"""

import logging
import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("DISTRO_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("DISTRO_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = os.environ.get("DISTRO_WORKER_CLASS", "gevent")
threads = int(os.environ.get("DISTRO_THREADS", 4))  # gthread only
# Open connections per worker (downloads, uploads, API calls, idle keep-alives).
worker_connections = int(os.environ.get("DISTRO_WORKER_CONNECTIONS", 2000))
# A worker that stops heartbeating (a CPU-bound loop, a blocked C call) is restarted;
# slow clients never block the heartbeat under gevent.
timeout = 120
graceful_timeout = 3600  # let in-flight downloads finish on SIGTERM
# Also the time a client has to send a request's headers (the first request's too):
# a client that dribbles its headers (slowloris) is dropped after it.
keepalive = int(os.environ.get("DISTRO_HEADER_SECONDS", 5))
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'
if os.environ.get("DISTRO_LOG_FORMAT") == "json":  # access and error log as JSON lines
    logger_class = "distro.ops.logs.GunicornJsonLogger"
forwarded_allow_ips = os.environ.get("DISTRO_FORWARDED_ALLOW_IPS", "127.0.0.1")

# Metrics from every worker add up at /metrics (prometheus-client's multiprocess mode):
# each worker writes to this folder, which must be empty when the server starts.
_metrics_dir = None
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    _metrics_dir = tempfile.mkdtemp(prefix="distro-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def on_exit(server):
    if _metrics_dir:  # only the folder this configuration made
        shutil.rmtree(_metrics_dir, ignore_errors=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


class _IdleClientFilter(logging.Filter):
    """A download whose client took nothing for DISTRO_DOWNLOAD_IDLE_SECONDS ends in a
    socket timeout; that is the rule working, so one line instead of a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], TimeoutError):
            record.msg, record.args, record.exc_info = "dropped an idle client", (), None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def post_worker_init(worker):
    worker.log.error_log.addFilter(_IdleClientFilter())
