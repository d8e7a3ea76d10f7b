"""The app's object store: built once from `DISTRO_STORAGE_URL`, fetched by views and
CLI commands with `get_storage()` and passed to services explicitly."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from flask import Flask, current_app

from distro.storage.base import ObjectStorage
from distro.storage.local import LocalFileStorage


def storage_from_config(config: dict) -> ObjectStorage:
    """Build the store named by `DISTRO_STORAGE_URL` (`file:///PATH` or `s3://BUCKET/PREFIX`)."""
    url = urlparse(config["STORAGE_URL"])
    if url.scheme == "file":
        return LocalFileStorage(Path(unquote(url.path)))
    if url.scheme == "s3":
        from distro.storage.s3 import S3FileStorage

        return S3FileStorage(
            bucket=url.netloc,
            prefix=url.path.strip("/"),
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region=config.get("S3_REGION"),
            receive_buffer=config["PROXY_BUFFER_KIB"] * 1024,
        )
    raise ValueError(f"DISTRO_STORAGE_URL must start with file:// or s3://, not {url.scheme!r}")


def init_app(app: Flask) -> None:
    app.extensions["distro.storage"] = storage_from_config(app.config)


def get_storage() -> ObjectStorage:
    return current_app.extensions["distro.storage"]
