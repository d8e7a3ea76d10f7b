"""The app's shared resources besides the database: the object store and the key source.

Built once per app from configuration; views and CLI commands fetch them here and pass
them to services explicitly.
"""

from __future__ import annotations

from flask import Flask, current_app

from .keys import KeySource
from .storage import ObjectStorage, storage_from_config


def init_app(app: Flask) -> None:
    app.extensions["distro.storage"] = storage_from_config(app.config)
    app.extensions["distro.keys"] = KeySource.from_config(app.config)


def get_storage() -> ObjectStorage:
    return current_app.extensions["distro.storage"]


def get_key_source() -> KeySource:
    return current_app.extensions["distro.keys"]
