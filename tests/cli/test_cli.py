"""The command line: contract forms, idempotent init, one clear error line, no tracebacks."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, cli_ok, grant_license, publish_file


def test_init_is_idempotent_and_creates_a_private_key(runner, app):
    first = runner.invoke(
        args=["init", "--admin-email", "root@vendor.test", "--admin-password", PASSWORD]
    )
    assert first.exit_code == 0, first.output
    second = runner.invoke(
        args=["init", "--admin-email", "root@vendor.test", "--admin-password", PASSWORD]
    )
    assert second.exit_code == 0 and "existing" in second.output
    assert first.output.splitlines()[-1] == second.output.splitlines()[-1]
    keys = list(Path(app.config["SIGNING_KEYS_DIR"]).glob("*.pem"))
    assert len(keys) == 1
    assert stat.S_IMODE(keys[0].stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["users", "create", "not-an-email", "--role", "admin", "--password", PASSWORD],
            "not a valid e-mail",
        ),
        (
            ["users", "create", "a@b.test", "--role", "admin", "--password", "short"],
            "at least 10 characters",
        ),
        (
            ["users", "create", "a@b.test", "--role", "customer_admin", "--password", PASSWORD],
            "needs --org",
        ),
        (["users", "create", "a@b.test", "--role", "admin"], "exactly one of --password"),
        (
            [
                "users",
                "create",
                "a@b.test",
                "--role",
                "customer_admin",
                "--org",
                "nope",
                "--password",
                PASSWORD,
            ],
            "no organisation with code 'nope'",
        ),
        (["orgs", "create", "Bad Code", "--name", "x"], "organisation code must be"),
        (["orgs", "assign", "nope", "--account-manager", "x@y.test"], "no organisation"),
        (["products", "create", "erp", "--name", "again"], "already exists"),
        (
            [
                "licenses",
                "grant",
                "--org",
                "acme",
                "--product",
                "erp",
                "--version",
                "9.x",
                "--modules",
                "a",
                "--users",
                "1",
                "--kind",
                "perpetual",
                "--deployment",
                "on_premises",
                "--starts",
                "2026-01-01",
            ],
            "dotted version",
        ),
        (
            [
                "licenses",
                "grant",
                "--org",
                "acme",
                "--product",
                "erp",
                "--version",
                "9.0",
                "--modules",
                "a",
                "--users",
                "1",
                "--kind",
                "subscription",
                "--deployment",
                "on_premises",
                "--starts",
                "2026-01-01",
            ],
            "needs an expiry date",
        ),
        (
            [
                "licenses",
                "grant",
                "--org",
                "acme",
                "--product",
                "erp",
                "--version",
                "9.0",
                "--modules",
                "A B",
                "--users",
                "1",
                "--kind",
                "perpetual",
                "--deployment",
                "on_premises",
                "--starts",
                "2026-13-01",
            ],
            "must be",
        ),
        (["tokens", "create", "ghost@vendor.test", "--name", "x"], "no user"),
        (
            ["tokens", "create", "it@acme.test", "--name", "x", "--expires-days", "0"],
            "expires_days must be",
        ),
        (["init", "--admin-email", "x@y.test"], "go together"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_1(runner, world, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: ") and message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_password_can_come_from_stdin(runner, world, client):
    user_id = cli_ok(
        runner,
        "users",
        "create",
        "new@vendor.test",
        "--role",
        "approver",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert len(user_id) == 32
    token = cli_ok(runner, "tokens", "create", "new@vendor.test", "--name", "t")
    assert token.startswith("dst_")
    assert (
        client.get("/api/v1/products", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )


def test_orgs_assign_lets_the_manager_see_the_organisation(runner, world, client):
    cli_ok(runner, "orgs", "assign", "globex", "--account-manager", "am@vendor.test")
    grant_license(
        runner, org="globex", version="9.0", users="3", kind="perpetual", deployment="public_cloud"
    )
    listed = client.get("/api/v1/licenses", headers=world.auth("am@vendor.test")).get_json()
    assert [item["org"]["code"] for item in listed["items"]] == ["globex"]
    refused = runner.invoke(args=["orgs", "assign", "globex", "--account-manager", "it@acme.test"])
    assert refused.exit_code == 1 and "not an account_manager" in refused.output


def test_key_rotation_keeps_old_keys_listed_and_signs_with_the_new(runner, world, client, tmp_path):
    old = client.get("/api/v1/keys").get_json()["items"]
    new_kid = cli_ok(runner, "keys", "rotate")
    keys = {k["kid"]: k for k in client.get("/api/v1/keys").get_json()["items"]}
    assert set(keys) == {old[0]["kid"], new_kid}
    assert keys[old[0]["kid"]]["retired_at"] and keys[new_kid]["retired_at"] is None
    listing = runner.invoke(args=["keys", "list"])
    assert new_kid in listing.output and "retired" in listing.output
    (tmp_path / "f.bin").write_bytes(b"payload")
    package_id = publish_file(runner, tmp_path / "f.bin", version="9.0")
    detail = client.get(f"/api/v1/packages/{package_id}", headers=world.auth("pub@vendor.test"))
    assert detail.get_json()["kid"] == new_kid


def test_private_keys_are_never_served(client, app):
    body = client.get("/api/v1/keys").get_data(as_text=True)
    assert "PRIVATE" not in body
    for path in Path(app.config["SIGNING_KEYS_DIR"]).glob("*.pem"):
        secret_line = path.read_text().splitlines()[1]
        assert secret_line not in body


def test_console_script_runs_outside_the_test_runner(tmp_path):
    env = dict(
        os.environ,
        DISTRO_DATABASE_URL=f"sqlite:///{tmp_path}/x.db",
        DISTRO_SIGNING_KEYS_DIR=str(tmp_path / "keys"),
        DISTRO_STORAGE_URL=(tmp_path / "objects").as_uri(),
    )
    distro = [sys.executable, "-m", "distro.cli"]
    ok = subprocess.run([*distro, "init"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [*distro, "products", "create", "X", "--name", "n"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip().startswith("error: product code must be")
    usage = subprocess.run(
        [*distro, "users", "create", "a@b.test"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert usage.returncode == 2 and "--role" in usage.stderr


def test_a_bad_setting_is_one_error_line_not_a_traceback(tmp_path):
    env = dict(
        os.environ,
        DISTRO_DATABASE_URL=f"sqlite:///{tmp_path}/x.db",
        DISTRO_DOWNLOAD_MODE="teleport",
    )
    answer = subprocess.run(
        [sys.executable, "-m", "distro.cli", "users", "list"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert answer.returncode == 1
    assert answer.stderr == "error: DISTRO_DOWNLOAD_MODE must be 'proxy' or 'redirect'\n"
