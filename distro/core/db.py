"""Database engine and the per-request session.

One engine per app; one session per request (or CLI command) kept on `g` and closed in
teardown. Services receive the session explicitly and commit once per use case.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from distro.core.config import ConfigError, relative_sqlite_url

READS_AUTOCOMMIT = "distro_reads_autocommit"
# How long a SQLite writer waits for the write lock before the request fails with 503.
BUSY_SECONDS = 30.0
# Request decisions are conditional UPDATE ... RETURNING statements (SQLite 3.35, 2021).
MIN_SQLITE = (3, 35)


class Base(DeclarativeBase):
    """Declarative base of every model."""


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and write-intent transactions.

    SQLite cannot upgrade a read transaction to a write one when another writer got in
    between (it fails at once with "database is locked"), so every transaction starts
    with BEGIN IMMEDIATE. The embedded default serialises writers that way; PostgreSQL,
    the production database, uses ordinary transactions with row locks.

    The wait for the write lock is ours, not SQLite's (see `begin_immediate`); SQLite's
    own busy timeout is kept for the rare reader that meets a checkpoint.
    """
    url = relative_sqlite_url(url)
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise ConfigError(
            f"the embedded database needs SQLite {'.'.join(map(str, MIN_SQLITE))} or newer; "
            f"this Python has {sqlite3.sqlite_version}. Use PostgreSQL "
            "(DISTRO_DATABASE_URL) or a Python built with a newer SQLite"
        )
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if not conn.get_execution_options().get(READS_AUTOCOMMIT):
            try:
                begin_immediate(conn.connection.dbapi_connection)
            except sqlite3.OperationalError as error:
                raise exc.OperationalError("BEGIN IMMEDIATE", None, error) from error

    return engine


def begin_immediate(dbapi_conn: sqlite3.Connection, busy_seconds: float = BUSY_SECONDS) -> None:
    """BEGIN IMMEDIATE, waiting for another writer with `time.sleep` between tries.

    SQLite's busy handler waits inside C. A gevent worker runs all its requests in one
    thread, so that wait would freeze every request of the worker, including one that
    holds the lock and only waits for the network to finish its transaction: the worker
    would stall until the waiter gave up. `time.sleep` is cooperative under gevent (and a
    plain sleep in a thread), so the holder gets on with its work meanwhile.
    """
    dbapi_conn.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + busy_seconds
        pause = 0.001
        while True:
            try:
                dbapi_conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
    finally:
        dbapi_conn.execute("PRAGMA busy_timeout=30000")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def ensure_sqlite_folder(engine: Engine) -> None:
    """Create the folder of a SQLite file (called by `distro init`, not at start-up, so
    that commands which never touch the database leave no folders behind)."""
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def init_app(app: Flask) -> None:
    """Create the engine and session factory and close the request's session on teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["distro.engine"] = engine
    app.extensions["distro.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.extensions["distro.read_sessionmaker"] = sessionmaker(
        engine.execution_options(**{READS_AUTOCOMMIT: True}), expire_on_commit=False
    )
    app.teardown_appcontext(close_session)


def get_session() -> Session:
    """The session of the current request or CLI command (see `make_engine` for GETs)."""
    if "db_session" not in g:
        reading = has_request_context() and request.method in ("GET", "HEAD")
        kind = "distro.read_sessionmaker" if reading else "distro.sessionmaker"
        g.db_session = current_app.extensions[kind]()
    return g.db_session


def write_session() -> Session:
    """A separate session with a write transaction, for the rare write a GET makes."""
    return current_app.extensions["distro.sessionmaker"]()


def release_session() -> None:
    """Give the connection back early, e.g. before streaming a long download."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def close_session(_exc: BaseException | None = None) -> None:
    release_session()
