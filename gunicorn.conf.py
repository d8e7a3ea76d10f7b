"""gunicorn settings for distro: `gunicorn --config gunicorn.conf.py wsgi:app`."""

import multiprocessing
import os

bind = os.environ.get("DISTRO_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("DISTRO_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("DISTRO_THREADS", 4))
# Long uploads and downloads: a worker is only killed when it stops heartbeating, and
# sync/gthread workers heartbeat independently of a slow client.
timeout = 120
graceful_timeout = 3600  # let in-flight downloads finish on SIGTERM
keepalive = 5
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'
forwarded_allow_ips = os.environ.get("DISTRO_FORWARDED_ALLOW_IPS", "127.0.0.1")
