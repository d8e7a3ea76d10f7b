"""Configuration defaults, overridden by `DISTRO_*` environment variables (contract §7)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEV_SECRET_KEY = "distro-development-secret-do-not-use-in-production"


def default_config(cwd: Path | None = None) -> dict:
    """The embedded default: everything lives under the working directory.

    Paths are made absolute once here so that a later `chdir` (gunicorn daemon, tests)
    cannot silently move the data.
    """
    base = (cwd or Path.cwd()).resolve()
    return {
        "ENV": "development",
        "SECRET_KEY": DEV_SECRET_KEY,
        "DATABASE_URL": f"sqlite:///{base / 'storage' / 'distro.db'}",
        "STORAGE_URL": (base / "storage" / "objects").as_uri(),
        "S3_ENDPOINT_URL": None,
        "S3_REGION": None,
        "SIGNING_KEYS_DIR": str(base / "signing_keys"),
        "SIGNING_KEY": None,
        "DOWNLOAD_MODE": "proxy",
        "PRESIGN_SECONDS": 300,
        # A download whose client takes nothing for this long is dropped.
        "DOWNLOAD_IDLE_SECONDS": 300,
        # The kernel receive buffer of a proxied download's connection to the store
        # (docs/deploy.md, "Memory"): a download runs at most about this much per
        # round trip to the store.
        "PROXY_BUFFER_KIB": 256,
        # How many of the root keys in signing_keys/tuf-root/ must sign a TUF root.
        "TUF_ROOT_THRESHOLD": 1,
        # How long a site mirror's installers may go on verifying an offline bundle's TUF
        # timestamp (its other metadata lives a year): the longest gap between bundles.
        "BUNDLE_VALID_DAYS": 90,
        # Deltas `distro worker` builds to each new package: from this many older ones of
        # its product, kind and release line, newest first (0: none).
        "DELTA_BASES": 3,
        # Bearer token that /metrics answers to; unset, /metrics does not exist.
        "METRICS_TOKEN": None,
        "LOG_FORMAT": "text",  # or "json": one JSON object per line
        # Mail: unset SMTP_URL keeps every message in the outbox (shown to admins).
        "SMTP_URL": None,
        "MAIL_FROM": "distro@localhost",
        "BASE_URL": "http://127.0.0.1:5000",  # the start of every link in mail
        "MAIL_MAX_ATTEMPTS": 8,  # then the message is marked failed
        "MAIL_POLL_SECONDS": 5,  # how often `distro worker` looks for due mail
        # Organisations per transaction of a publish's fan-out (each holds the embedded
        # database's write lock for about a tenth of a second at 500).
        "FANOUT_BATCH": 500,
        "PASSWORD_RESET_RATE_LIMIT": "5 per minute",  # per address asking
        "REPORT_RATE_LIMIT": "120 per minute",  # installation reports, per token
        "MAX_UPLOAD_BYTES": 10 * 1024**3,
        # Every request body but a package upload: refused with 413 before it is read
        # (a declared length) or as soon as it grows past this (a chunked one).
        "MAX_BODY_BYTES": 1024 * 1024,
        # A bulk import's table (`POST /api/v1/import/{kind}`, the admin page's form).
        "MAX_IMPORT_BYTES": 256 * 1024**2,
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_STRATEGY": "moving-window",
        "BAD_TOKEN_RATE_LIMIT": "20 per minute",
        "LOGIN_RATE_LIMIT": "10 per minute",
        # Staff need a second factor ("off" only for development demos).
        "STAFF_MFA": "required",
        "PASSWORD_HASH_METHOD": "scrypt",
        "TRUSTED_PROXIES": 0,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": False,
        "WTF_CSRF_TIME_LIMIT": None,
    }


class ConfigError(RuntimeError):
    """The configuration is unsafe or contradictory; the service must not start."""


def check_config(config: dict) -> None:
    """Refuse settings that would be dangerous in production."""
    if config["DOWNLOAD_MODE"] not in ("proxy", "redirect"):
        raise ConfigError("DISTRO_DOWNLOAD_MODE must be 'proxy' or 'redirect'")
    if config["STAFF_MFA"] not in ("required", "off"):
        raise ConfigError("DISTRO_STAFF_MFA must be 'required' or 'off'")
    if config["ENV"] == "production" and config["STAFF_MFA"] != "required":
        raise ConfigError("DISTRO_STAFF_MFA=off is for development demos, not production")
    if config["LOG_FORMAT"] not in ("text", "json"):
        raise ConfigError("DISTRO_LOG_FORMAT must be 'text' or 'json'")
    idle = config["DOWNLOAD_IDLE_SECONDS"]
    if isinstance(idle, bool) or not isinstance(idle, int) or idle < 0:
        raise ConfigError("DISTRO_DOWNLOAD_IDLE_SECONDS must be a whole number of at least 0")
    buffer = config["PROXY_BUFFER_KIB"]
    if isinstance(buffer, bool) or not isinstance(buffer, int) or not 16 <= buffer <= 65536:
        raise ConfigError("DISTRO_PROXY_BUFFER_KIB must be a whole number from 16 to 65536")
    body = config["MAX_BODY_BYTES"]
    if isinstance(body, bool) or not isinstance(body, int) or not 4096 <= body <= 64 * 1024**2:
        raise ConfigError("DISTRO_MAX_BODY_BYTES must be a whole number from 4096 to 67108864")
    for name, low, high in (
        ("FANOUT_BATCH", 1, 10_000),
        ("MAX_IMPORT_BYTES", 1024, 2**40),
        ("BUNDLE_VALID_DAYS", 1, 365),
        ("DELTA_BASES", 0, 20),
    ):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"DISTRO_{name} must be a whole number from {low} to {high}")
    if config["SMTP_URL"]:
        smtp_settings(config["SMTP_URL"])  # raises ConfigError naming what is wrong
    base = config["BASE_URL"]
    if not isinstance(base, str) or urlsplit(base).scheme not in ("http", "https"):
        raise ConfigError("DISTRO_BASE_URL must start with http:// or https://")
    if config["ENV"] == "production" and config["SECRET_KEY"] == DEV_SECRET_KEY:
        raise ConfigError(
            "DISTRO_SECRET_KEY is the development value; set a long random secret "
            "before running with DISTRO_ENV=production"
        )
    if config["ENV"] == "production":
        config["SESSION_COOKIE_SECURE"] = True
        config["REMEMBER_COOKIE_SECURE"] = True


def relative_sqlite_url(url: str) -> str:
    """Make `sqlite:///relative.db` absolute against the working directory."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + os.path.abspath(url[len(prefix) :])
    return url


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # "none", "starttls" or "tls"
    user: str | None = None
    password: str | None = None


_SMTP_SCHEMES = {"smtp": ("none", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}


def smtp_settings(url: str) -> SmtpSettings:
    """`DISTRO_SMTP_URL`: smtp://, smtp+starttls:// or smtps://, optional user:password@
    (percent-encoded), the port defaulting to the scheme's usual one."""
    parts = urlsplit(url)
    if parts.scheme not in _SMTP_SCHEMES:
        raise ConfigError("DISTRO_SMTP_URL must start with smtp://, smtp+starttls:// or smtps://")
    security, default_port = _SMTP_SCHEMES[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise ConfigError("DISTRO_SMTP_URL has a port that is not a number") from None
    if not parts.hostname:
        raise ConfigError("DISTRO_SMTP_URL names no host")
    if parts.path not in ("", "/") or parts.query:
        raise ConfigError("DISTRO_SMTP_URL takes no path or query")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return SmtpSettings(parts.hostname, port, security, user, password)
