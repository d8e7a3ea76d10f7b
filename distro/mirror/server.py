"""gunicorn for `distro mirror serve`, as its documented custom application: the
mirror's app, threads for slow clients (a site has tens of installers, not thousands),
access log to standard output."""

from __future__ import annotations

from pathlib import Path

from gunicorn.app.base import BaseApplication

from distro.mirror.app import create_mirror_app


class MirrorServer(BaseApplication):
    def __init__(self, folder: Path, options: dict):
        self.folder = folder
        self.options = {
            "worker_class": "gthread",
            "threads": 8,
            "accesslog": "-",
            "timeout": 120,
            **options,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return create_mirror_app(self.folder)
