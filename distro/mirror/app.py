"""The mirror's web app (`distro mirror serve`): the installer API over one mirror
folder, with the vendor API's error envelope and body limit, and nothing else."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy.orm import sessionmaker
from werkzeug.exceptions import HTTPException

from distro.api import inputs
from distro.api.errorhandlers import envelope
from distro.core.errors import DistroError
from distro.mirror.site import open_site
from distro.mirror.views import bp

MAX_BODY_BYTES = 1024 * 1024


def create_mirror_app(folder: Path) -> Flask:
    site = open_site(folder)
    app = Flask("distro.mirror")
    app.config.update(MAX_BODY_BYTES=MAX_BODY_BYTES, MAX_CONTENT_LENGTH=MAX_BODY_BYTES + 1)
    app.extensions["mirror.site"] = site
    app.extensions["mirror.session"] = sessionmaker(site.engine, expire_on_commit=False)
    inputs.init_app(app)
    app.register_blueprint(bp)
    register_errorhandlers(app)
    return app


def register_errorhandlers(app: Flask) -> None:
    """Every error as the vendor API's JSON envelope."""

    @app.errorhandler(DistroError)
    def _domain_error(exc: DistroError):
        extra = {"field": exc.field} if exc.field else {}
        return envelope(exc.status, exc.code, exc.message, **extra)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        return envelope(exc.code or 500, code, exc.description or exc.name)
