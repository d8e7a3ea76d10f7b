"""Shared fixtures: a real app on a migrated database, a real S3 server on loopback,
seeded accounts, and live HTTP servers for the tests that need a socket.

Set DISTRO_TEST_DATABASE_URL to a PostgreSQL server URL (a maintenance database the
tests may create databases from) to run everything on PostgreSQL; each test gets a
fresh database there.
"""

from __future__ import annotations

import copy
import gc
import io
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

import boto3
import pytest
import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from moto.server import ThreadedMotoServer
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from distro.app import create_app
from distro.core.db import make_engine
from distro.migrations import upgrade
from distro.signing.keys import KeySource, ensure_signing_key

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
PASSWORD = "correct-horse-battery"


def pytest_collection_finish(session):
    """Everything imported so far lives as long as the test run: frozen, the garbage
    collector stops walking it at every collection (which took a fifth of a second per
    collection with Hypothesis, moto and boto3 loaded, and a sixth of the run)."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def s3_endpoint():
    """A moto S3 server on loopback, shared by the session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint):
    name = f"distro-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    return name


def _postgres_database(template: str | None = None):
    """Create a throwaway PostgreSQL database (a copy of `template` when given); returns
    (url, drop)."""
    admin_url = make_url(os.environ["DISTRO_TEST_DATABASE_URL"])
    name = f"distro_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        copy = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory):
    """A database migrated once per test session, which each test's database copies:
    migrating takes most of a second on PostgreSQL, copying a template a tenth."""
    if os.environ.get("DISTRO_TEST_DATABASE_URL"):
        url, drop = _postgres_database()
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        yield make_url(url).database
        drop()
    else:
        path = tmp_path_factory.mktemp("template") / "distro.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        with closing(sqlite3.connect(path)) as conn:  # the whole database in the one file
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        yield path


@pytest.fixture
def blank_database_url(tmp_path):
    """An empty database, for the tests of the migrations themselves."""
    if os.environ.get("DISTRO_TEST_DATABASE_URL"):
        url, drop = _postgres_database()
        yield url
        drop()
    else:
        yield f"sqlite:///{tmp_path / 'blank.db'}"


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory, migrated_template):
    """The migrated template with the `world` seeded in it, once per session: a test
    that takes `world` copies this instead of seeding its own, which took a third of a
    second per test (twenty CLI commands) and most of the suite's set-up. The seeding
    runs the CLI as before; the signing key it makes (products get TUF metadata) goes
    with each copy, into the test's SIGNING_KEYS_DIR."""
    folder = tmp_path_factory.mktemp("seeded")
    if os.environ.get("DISTRO_TEST_DATABASE_URL"):
        url, drop = _postgres_database(template=migrated_template)
    else:
        shutil.copyfile(migrated_template, folder / "distro.db")
        url, drop = f"sqlite:///{folder / 'distro.db'}", None
    app = make_app(_base_config(folder, url, None))
    world = seed_world(app.test_cli_runner())
    app.extensions["distro.engine"].dispose()
    if drop is None:
        with closing(sqlite3.connect(folder / "distro.db")) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        yield folder / "distro.db", folder / "keys", world
    else:
        yield make_url(url).database, folder / "keys", world
        drop()


_SEEDED = pytest.StashKey["World"]()


@pytest.fixture
def database_url(request, tmp_path, migrated_template):
    """A fresh database at the newest revision, copied from the session's template (the
    seeded one where the test takes `world`)."""
    template = migrated_template
    if "world" in request.fixturenames:
        template, keys, world = request.getfixturevalue("seeded_template")
        shutil.copytree(keys, tmp_path / "keys")  # app_config's SIGNING_KEYS_DIR
        request.node.stash[_SEEDED] = world
    if os.environ.get("DISTRO_TEST_DATABASE_URL"):
        url, drop = _postgres_database(template=template)
        yield url
        drop()
    else:
        path = tmp_path / "distro.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"


@pytest.fixture(params=["local", "s3"])
def backend(request):
    """Run the test once per object store."""
    return request.param


@pytest.fixture
def storage_url(request, tmp_path, backend):
    if backend == "s3":
        return f"s3://{request.getfixturevalue('s3_bucket')}/pkgs"
    return (tmp_path / "objects").as_uri()


@pytest.fixture
def app_config(tmp_path, database_url, s3_endpoint):
    """Test configuration on the local store; tests that take `backend` override it."""
    return _base_config(tmp_path, database_url, s3_endpoint)


def _base_config(tmp_path: Path, database_url: str, s3_endpoint: str | None) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "STORAGE_URL": (tmp_path / "objects").as_uri(),
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_REGION": "us-east-1",
        "SIGNING_KEYS_DIR": str(tmp_path / "keys"),
        "WTF_CSRF_ENABLED": True,
        "RATELIMIT_ENABLED": True,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # The second factor is tested in tests/accounts/test_mfa*.py and the browser;
        # elsewhere staff sign in with a password alone.
        "STAFF_MFA": "off",
        # Suites call these endpoints many times; tests/accounts/test_resets.py checks
        # the production limit.
        "PASSWORD_RESET_RATE_LIMIT": "1000 per minute",
    }


def make_app(config: dict):
    app = create_app(config)
    with app.app_context():
        upgrade(app.extensions["distro.engine"])
        session = app.extensions["distro.sessionmaker"]()
        ensure_signing_key(session, KeySource.from_config(app.config))
        session.commit()
        session.close()
    return app


@pytest.fixture
def app(app_config):
    app = make_app(app_config)
    yield app
    # Responses and sessions a test still holds go now, while their database exists:
    # collected later, a connection's finalizer would run at a random point of another
    # test (once inside ast.parse, which CPython 3.11 then fails with a SystemError).
    gc.collect()
    app.extensions["distro.engine"].dispose()


@contextmanager
def db_session(app):
    """A session on the app's database for assertions; closed (and its lock released)
    when the block ends."""
    session = app.extensions["distro.sessionmaker"]()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class World:
    """Seeded accounts; `headers[name]` authenticates as that account by bearer token."""

    ids: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    secrets: dict = field(default_factory=dict)

    def auth(self, name: str) -> dict:
        return self.headers[name]


def cli_ok(runner, *args, input=None) -> str:
    result = runner.invoke(args=list(args), input=input)
    assert result.exit_code == 0, (args, result.output)
    return result.output.strip().splitlines()[-1]


def seed_world(runner) -> World:
    """Two customer organisations and one account of every role, each with a token."""
    world = World()
    for email, role in [
        ("admin@vendor.test", "admin"),
        ("pub@vendor.test", "publisher"),
        ("am@vendor.test", "account_manager"),
        ("am2@vendor.test", "account_manager"),
        ("appr@vendor.test", "approver"),
        ("appr2@vendor.test", "approver"),
    ]:
        world.ids[email] = cli_ok(
            runner, "users", "create", email, "--role", role, "--password", PASSWORD
        )
    world.ids["acme"] = cli_ok(
        runner,
        "orgs",
        "create",
        "acme",
        "--name",
        "ACME 有限公司",
        "--account-manager",
        "am@vendor.test",
    )
    world.ids["globex"] = cli_ok(
        runner,
        "orgs",
        "create",
        "globex",
        "--name",
        "Globex",
        "--account-manager",
        "am2@vendor.test",
    )
    for email, org in [("it@acme.test", "acme"), ("it@globex.test", "globex")]:
        world.ids[email] = cli_ok(
            runner,
            "users",
            "create",
            email,
            "--role",
            "customer_admin",
            "--org",
            org,
            "--password",
            PASSWORD,
        )
    world.ids["erp"] = cli_ok(runner, "products", "create", "erp", "--name", "ERP Suite")
    world.ids["crm"] = cli_ok(runner, "products", "create", "crm", "--name", "CRM")
    for name in list(world.ids):
        if "@" in name:
            secret = cli_ok(runner, "tokens", "create", name, "--name", "test")
            world.secrets[name] = secret
            world.headers[name] = {"Authorization": f"Bearer {secret}"}
    for name, email in [("installer@acme", "it@acme.test"), ("installer@globex", "it@globex.test")]:
        secret = cli_ok(runner, "tokens", "create", email, "--name", name, "--installer")
        world.secrets[name] = secret
        world.headers[name] = {"Authorization": f"Bearer {secret}"}
    return world


@pytest.fixture
def world(request, runner) -> World:
    """The seeded accounts: those of the session's seeded template where the database was
    copied from it, else seeded now (a test whose app does not use `database_url`)."""
    seeded = request.node.stash.get(_SEEDED, None)
    return copy.deepcopy(seeded) if seeded is not None else seed_world(runner)


class LiveServer:
    """The app served over real HTTP on loopback in a thread."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def live_server(app):
    server = LiveServer(app)
    yield server
    server.stop()


class MultipartUpload:
    """A publish request body streamed in 1 MiB chunks, never held whole in memory.

    `during(sent_bytes)` is called before each file chunk, so a test can break things
    half-way through an upload.
    """

    boundary = "distroTESTboundary7MA4YWxkTrZu0gW"

    def __init__(
        self, size: int, fields: dict, filename: str = "big.bin", during=None, byte: bytes = b"\x5a"
    ):
        head = "".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in fields.items()
        )
        head += (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        self.head, self.tail = head.encode(), f"\r\n--{self.boundary}--\r\n".encode()
        self.size, self.during, self.byte = size, during, byte
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        self.length = len(self.head) + size + len(self.tail)

    def chunks(self):
        yield self.head
        sent, block = 0, self.byte * (1024 * 1024)
        while sent < self.size:
            if self.during:
                self.during(sent)
            count = min(len(block), self.size - sent)
            yield block[:count]
            sent += count
        yield self.tail

    def post(self, base_url: str, headers: dict, path: str = "/api/v1/packages"):
        """Send over a real socket with Content-Length; returns (status, parsed JSON)."""
        import http.client
        import json
        from urllib.parse import urlparse

        url = urlparse(base_url)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
        try:
            conn.putrequest("POST", path)
            for name, value in {
                **headers,
                "Content-Type": self.content_type,
                "Content-Length": str(self.length),
            }.items():
                conn.putheader(name, value)
            conn.endheaders()
            for chunk in self.chunks():
                conn.send(chunk)
            answer = conn.getresponse()
            return answer.status, json.loads(answer.read() or b"null")
        finally:
            conn.close()


ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """`gunicorn wsgi:app` with the shipped config, started as a separate process on a
    free loopback port, configured only through DISTRO_* variables."""

    def __init__(self, config: dict, workers: int = 2, log_path: Path | None = None, **extra_env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        settings = dict(
            DISTRO_DATABASE_URL=config["DATABASE_URL"],
            DISTRO_STORAGE_URL=config["STORAGE_URL"],
            DISTRO_S3_ENDPOINT_URL=config["S3_ENDPOINT_URL"],
            DISTRO_SIGNING_KEYS_DIR=config["SIGNING_KEYS_DIR"],
            DISTRO_SECRET_KEY="shared-test-secret",
            DISTRO_WORKERS=str(workers),
            DISTRO_STAFF_MFA=config.get("STAFF_MFA", "off"),
        )
        settings.update(extra_env)
        env = {**os.environ, **{k: v for k, v in settings.items() if v is not None}}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                str(ROOT / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--access-logfile",
                str(log_path or "/dev/null"),
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_path.open("ab") if log_path else subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                # not listening yet, or a worker still importing on a busy machine
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn on {self.url} did not become ready")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def grant_license(
    runner,
    *,
    org: str = "acme",
    product: str = "erp",
    version: str = "8.0",
    modules: str = "fin",
    users: int | str = 5,
    kind: str = "subscription",
    deployment: str = "on_premises",
    starts: str = "2026-01-01",
    expires: str | None = "2099-01-01",
) -> str:
    """`distro licenses grant`; a perpetual license gets no expiry. Returns the id."""
    args = [
        "licenses",
        "grant",
        "--org",
        org,
        "--product",
        product,
        "--version",
        version,
        "--modules",
        modules,
        "--users",
        str(users),
        "--kind",
        kind,
        "--deployment",
        deployment,
        "--starts",
        starts,
    ]
    if kind == "subscription" and expires:
        args += ["--expires", expires]
    return cli_ok(runner, *args)


def publish_file(
    runner,
    path,
    *,
    version: str,
    kind: str = "installer",
    product: str = "erp",
    applies_to: str | None = None,
    notes: str | None = None,
    details: tuple = (),
) -> str:
    """`distro packages publish` (`details`: more of its options); returns the package id."""
    args = [
        "packages",
        "publish",
        str(path),
        "--product",
        product,
        "--version",
        version,
        "--kind",
        kind,
    ]
    if applies_to:
        args += ["--applies-to", applies_to]
    if notes:
        args += ["--notes", notes]
    return cli_ok(runner, *args, *details)


def publish_upload(client, world, version="8.0.1", **fields):
    """`POST /api/v1/packages` of a small 8.0.x patch by the publisher, with `fields`."""
    form = {
        "file": (io.BytesIO(b"patch bytes"), "fix.bin"),
        "product": "erp",
        "version": version,
        "kind": "patch",
        "applies_to": ">=8.0,<8.0.1",
        **fields,
    }
    return client.post(
        "/api/v1/packages",
        data=form,
        content_type="multipart/form-data",
        headers=world.auth("pub@vendor.test"),
    )


class Mailbox:
    """A real SMTP server (aiosmtpd) on a loopback port, keeping what it receives.
    `stop()` takes it down (connections are then refused) and `start()` brings it back
    on the same port."""

    def __init__(self, credentials: tuple[str, str] | None = None):
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.received: list = []  # (envelope recipients, parsed message)
        self.credentials = credentials  # then AUTH is required (on this plain connection)
        self._controller = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        given = (auth_data.login.decode(), auth_data.password.decode())
        return AuthResult(success=given == self.credentials, handled=False)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        message = message_from_bytes(envelope.content, policy=email_policy.default)
        self.received.append((sorted(envelope.rcpt_tos), message))
        return "250 OK"

    def start(self) -> None:
        auth = {}
        if self.credentials:
            auth = dict(
                authenticator=self._authenticate, auth_required=True, auth_require_tls=False
            )
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **auth)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list:
        return [message for rcpt, message in self.received if address in rcpt]

    def one_to(self, address: str):
        found = self.to(address)
        assert len(found) == 1, [m["Subject"] for m in found]
        return found[0]


@pytest.fixture
def mailbox():
    box = Mailbox()
    box.start()
    yield box
    box.stop()


def csrf_token(client, path="/login") -> str:
    """The CSRF token of the page at `path`, as a browser's form would send it."""
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def login(client, email, password=PASSWORD):
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)}
    )


def switch_language(client, code: str, next_path: str = "/login"):
    """The header's language switch: a POST with the page's CSRF token."""
    return client.post(
        f"/lang/{code}", data={"next": next_path, "csrf_token": csrf_token(client, next_path)}
    )


def run_worker(runner) -> str:
    """`distro worker --once`; returns its summary line."""
    return cli_ok(runner, "worker", "--once")


def body_of(message, subtype: str = "plain") -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()


def tamper_stored(app, key: str, backend: str, s3_endpoint: str) -> None:
    """Flip one bit of a stored object behind the application's back."""
    storage = app.extensions["distro.storage"]
    if backend == "local":
        path = storage.local_path(key)
        data = bytearray(path.read_bytes())
        data[100] ^= 0x01
        path.write_bytes(bytes(data))
    else:
        client = boto3.client("s3", endpoint_url=s3_endpoint)
        full = storage.full(key)
        data = bytearray(client.get_object(Bucket=storage.bucket, Key=full)["Body"].read())
        data[100] ^= 0x01
        client.put_object(Bucket=storage.bucket, Key=full, Body=bytes(data))
