"""File names are names, not commands (review finding 9): shell metacharacters and
quotes are refused at publish, letters of any script stay allowed, and whatever a "how to
verify" recipe prints is quoted, so pasting it never runs anything but the recipe."""

from __future__ import annotations

import html
import io
import re
import subprocess

import pytest
from sqlalchemy import update

from distro.patches.models import Package
from tests.conftest import db_session, grant_license, login, publish_file


def publish_named(client, world, filename: str):
    return client.post(
        "/api/v1/packages",
        content_type="multipart/form-data",
        headers=world.auth("pub@vendor.test"),
        data={
            "file": (io.BytesIO(b"bytes"), filename),
            "product": "erp",
            "version": "9.0",
            "kind": "installer",
        },
    )


@pytest.mark.parametrize("name", ["$(echo INJECTED 1>&2).bin", "x;rm -rf ~.bin", "a'b.bin"])
def test_shell_metacharacters_are_refused_naming_the_field(client, world, name):
    answer = publish_named(client, world, name)
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert (error["code"], error["field"]) == ("invalid_filename", "file")


def test_the_cli_refuses_them_too(runner, world, tmp_path):
    path = tmp_path / "$(id).bin"
    path.write_bytes(b"x")
    result = runner.invoke(
        args=[
            "packages",
            "publish",
            str(path),
            "--product",
            "erp",
            "--version",
            "9.0",
            "--kind",
            "installer",
        ]
    )
    assert result.exit_code == 1
    assert "file name" in result.output


def test_names_in_any_script_with_spaces_are_kept(client, world):
    answer = publish_named(client, world, "ERP 安装包 (完整版) v9.zip")
    assert answer.status_code == 201
    assert answer.get_json()["filename"] == "ERP 安装包 (完整版) v9.zip"


def test_the_recipe_quotes_what_it_prints(app, client, runner, world, tmp_path):
    """A name from before the rule (written to the database directly here) still cannot
    run: the recipe's check line, pasted into bash, only checks the file."""
    grant_license(runner, version="9.0")
    path = tmp_path / "erp.bin"
    path.write_bytes(b"installer bytes")
    package_id = publish_file(runner, path, version="9.0")
    legacy = "$(touch PWNED).bin"
    with db_session(app) as session:
        session.execute(update(Package).where(Package.id == package_id).values(filename=legacy))
        session.commit()
    login(client, "it@acme.test")
    page = client.get("/products/erp").get_data(as_text=True)
    recipe = html.unescape(re.search(rf'id="recipe-{package_id}">(.*?)</pre>', page, re.S)[1])
    check_line = recipe.strip().splitlines()[-1]
    work = tmp_path / "work"
    work.mkdir()
    (work / legacy).write_bytes(b"installer bytes")
    done = subprocess.run(["bash", "-c", check_line], cwd=work, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"{legacy}: OK" in done.stdout
    assert not (work / "PWNED").exists()
