"""The application factory: `create_app` builds the app in named steps.

Nothing is built at import time; `wsgi.py` is `app = create_app()`.
"""

from __future__ import annotations

from flask import Flask

from distro.core.config import check_config, default_config


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app from defaults, then `DISTRO_*` variables, then `test_config`."""
    app = Flask(
        "distro",
        template_folder="web/templates",
        static_folder="web/static",
    )
    app.config.from_mapping(default_config())
    app.config.from_prefixed_env("DISTRO")
    if test_config:
        app.config.from_mapping(test_config)
    check_config(app.config)
    limit_bodies(app)
    register_logging(app)
    register_proxy(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def limit_bodies(app: Flask) -> None:
    """Werkzeug refuses a declared body over `DISTRO_MAX_BODY_BYTES` (413) and stops
    reading a chunked one just past it (`distro.api.inputs.read_small_body` then refuses
    it), before a form or JSON parser holds it. Package uploads raise their own limit."""
    limit = app.config["MAX_BODY_BYTES"]
    app.config["MAX_CONTENT_LENGTH"] = limit + 1
    app.config["MAX_FORM_MEMORY_SIZE"] = limit


def register_logging(app: Flask) -> None:
    """Log to stderr, as text or as JSON lines (`DISTRO_LOG_FORMAT`), with request ids."""
    from distro.ops import logs

    logs.init_app(app)


def register_proxy(app: Flask) -> None:
    """Trust X-Forwarded-* from `DISTRO_TRUSTED_PROXIES` reverse proxies (0: none), so the
    audit log records the client's address rather than the proxy's."""
    hops = int(app.config.get("TRUSTED_PROXIES", 0))
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_extensions(app: Flask) -> None:
    """Database, object store, keys, login, CSRF, rate limiting and metrics."""
    from distro.accounts import auth, passwords
    from distro.api import inputs
    from distro.core import db, i18n, limits
    from distro.ops import metrics
    from distro.signing import keys
    from distro.storage import factory
    from distro.web import filters, headers

    inputs.init_app(app)
    passwords.init_app(app)
    headers.init_app(app)
    filters.init_app(app)
    i18n.init_app(app)
    db.init_app(app)
    factory.init_app(app)
    keys.init_app(app)
    auth.init_app(app)
    limits.init_app(app)
    metrics.init_app(app)


def register_blueprints(app: Flask) -> None:
    """One blueprint per feature; the API ones live under /api/v1."""
    from distro.accounts import (
        mfa_pages,
        mfa_views,
        onboarding_pages,
        onboarding_views,
        people_pages,
    )
    from distro.accounts import pages as account_pages
    from distro.accounts import views as account_views
    from distro.accounts.auth import API_PREFIX, csrf
    from distro.api import views as api_views
    from distro.bundles import pages as bundle_pages
    from distro.bundles import views as bundle_views
    from distro.installations import pages as installation_pages
    from distro.installations import views as installation_views
    from distro.licenses import pages as license_pages
    from distro.licenses import views as license_views
    from distro.mail import pages as mail_pages
    from distro.ops import audit_api, health, import_api, metrics
    from distro.patches import feeds
    from distro.patches import pages as package_pages
    from distro.patches import views as package_views
    from distro.signing import views as key_views
    from distro.tuf import views as tuf_views
    from distro.web import admin, pages

    for blueprint in (
        health.bp,
        metrics.bp,
        pages.bp,
        account_pages.bp,
        api_views.bp,
        account_views.bp,
        mfa_views.bp,
        mfa_pages.bp,
        onboarding_views.bp,
        onboarding_pages.bp,
        people_pages.bp,
        mail_pages.bp,
        key_views.bp,
        audit_api.bp,
        import_api.bp,
        package_views.bp,
        license_views.bp,
        installation_views.bp,
        installation_pages.bp,
        bundle_views.bp,
        bundle_pages.bp,
        tuf_views.bp,
        package_pages.bp,
        feeds.bp,
        license_pages.bp,
        admin.bp,
    ):
        app.register_blueprint(blueprint)
        if (blueprint.url_prefix or "").startswith(API_PREFIX):
            # API writes check CSRF themselves, from a header and only for cookie
            # sessions (`api_access`): the form check would read a streamed upload.
            csrf.exempt(blueprint)


def register_errorhandlers(app: Flask) -> None:
    """Domain errors and HTTP errors become the JSON envelope (or an error page)."""
    from distro.api import errorhandlers

    errorhandlers.register(app)


def register_commands(app: Flask) -> None:
    """The `distro` command-line group."""
    from distro import cli

    cli.init_app(app)
