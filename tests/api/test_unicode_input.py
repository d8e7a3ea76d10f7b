"""Unusual but ordinary input from outside, on every write endpoint and list parameter:
other scripts' digits are refused with a 4xx naming the field, the full-width forms a
Chinese keyboard types mean their ASCII twins, and what is stored and signed is ASCII."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from distro.licenses.models import License
from distro.patches.models import Package
from tests.api.test_hostile_input import assert_clean_refusal, counts, objects
from tests.conftest import cli_ok, db_session, grant_license, publish_upload

ARABIC_INDIC = "٨.٠.١"  # 8.0.1 in Arabic-Indic digits
DEVANAGARI = "९.०"
FULLWIDTH = "８．０．１"  # what a Chinese input method types for 8.0.1
SUPERSCRIPT = "²"
COMBINING = "9\u0301.0"
RIGHT_TO_LEFT = "\u202e9.0"
RTL_MARK = "9.0\u200f"
UNICODE_CORPUS = [ARABIC_INDIC, DEVANAGARI, SUPERSCRIPT, COMBINING, RIGHT_TO_LEFT, RTL_MARK]
LISTS = [
    "/api/v1/licenses",
    "/api/v1/products/erp/packages",
    "/api/v1/license-requests",
    "/api/v1/tokens",
    "/api/v1/audit",
]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("limit", ["²", "٣", "①", "1\u0301", "\u202e5"])
def test_a_limit_in_other_digits_is_a_400_on_every_list(client, world, path, limit):
    answer = client.get(
        path, query_string={"limit": limit}, headers=world.auth("admin@vendor.test")
    )
    assert answer.status_code == 400
    assert answer.get_json()["error"]["message"].startswith("limit must be a whole number")


@pytest.mark.parametrize("path", LISTS)
def test_a_full_width_limit_means_its_digits(client, world, path):
    answer = client.get(path, query_string={"limit": "５"}, headers=world.auth("admin@vendor.test"))
    assert answer.status_code == 200


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("cursor", ["²", "ÿÿ", "\u202eAAAA", "AAAA\u0301"])
def test_a_cursor_with_non_ascii_is_a_400(client, world, path, cursor):
    answer = client.get(
        path, query_string={"cursor": cursor}, headers=world.auth("admin@vendor.test")
    )
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize("value", UNICODE_CORPUS)
@pytest.mark.parametrize(
    "path,arg",
    [
        ("/api/v1/products/erp/packages", "version"),
        ("/api/v1/products/erp/updates", "from"),
        ("/api/v1/audit", "since"),
    ],
)
def test_version_and_time_parameters_refuse_other_scripts(client, world, path, arg, value):
    answer = client.get(path, query_string={arg: value}, headers=world.auth("admin@vendor.test"))
    assert answer.status_code == 400
    assert answer.get_json()["error"]["field"] == arg


def test_a_version_in_arabic_indic_digits_is_refused_and_nothing_is_published(app, client, world):
    assert publish_upload(client, world, "8.0.1").status_code == 201
    before = counts(app), objects(app)
    answer = publish_upload(client, world, ARABIC_INDIC)
    assert answer.status_code == 400
    assert (counts(app), objects(app)) == before
    assert answer.get_json()["error"]["field"] == "version"


def test_a_full_width_version_is_the_same_version_so_a_duplicate(app, client, world):
    assert publish_upload(client, world, "8.0.1").status_code == 201
    again = publish_upload(client, world, FULLWIDTH)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "duplicate_package"


def test_full_width_fields_are_stored_and_signed_in_ascii(app, client, world):
    answer = publish_upload(
        client, world, "８．０．２", applies_to="＞＝８．０，＜８．０．２", product="ｅｒｐ"
    )
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert (body["version"], body["applies_to"], body["product"]) == (
        "8.0.2",
        ">=8.0,<8.0.2",
        "erp",
    )
    with db_session(app) as session:
        package = session.get(Package, body["id"])
        assert package.manifest.isascii()
        assert json.loads(package.manifest)["version"] == "8.0.2"


@pytest.mark.parametrize("value", UNICODE_CORPUS)
@pytest.mark.parametrize("field", ["version", "applies_to", "product", "sha256"])
def test_publish_fields_refuse_the_unicode_corpus(app, client, world, field, value):
    before = counts(app)
    assert_clean_refusal(publish_upload(client, world, **{field: value}), app, before)


@pytest.mark.parametrize("value", [RIGHT_TO_LEFT, "\u2066x\u2069", "a\u2028b"])
def test_publish_file_names_and_notes_refuse_text_direction_and_separators(
    app, client, world, value
):
    before = counts(app)
    named = {"file": (io.BytesIO(b"x"), f"fix{value}.bin")}
    assert_clean_refusal(publish_upload(client, world, "8.0.1", **named), app, before)
    assert_clean_refusal(publish_upload(client, world, "8.0.1", notes=f"note {value}"), app, before)


@pytest.mark.parametrize(
    "body",
    [
        {"target_version": "٩.٠"},
        {"target_version": DEVANAGARI},
        {"target_version": SUPERSCRIPT},
        {"target_version": RIGHT_TO_LEFT},
        {"target_version": "9.0", "user_count": "٥"},
        {"target_version": "9.0", "modules": ["fin\u0301"]},
        {"target_version": "9.0", "modules": "ｆｉｎ，\u202eerp"},
        {"target_version": "9.0", "note": "see \u202eattached"},
    ],
)
def test_upgrade_requests_refuse_other_scripts(app, client, world, runner, body):
    license_id = grant_license(runner)
    before = counts(app)
    answer = client.post(
        "/api/v1/license-requests",
        json={"license_id": license_id, **body},
        headers=world.auth("am@vendor.test"),
    )
    assert_clean_refusal(answer, app, before)


def test_an_upgrade_request_in_full_width_targets_the_ascii_version(
    app, client, world, runner, tmp_path
):
    license_id = grant_license(runner, modules="FIN,HR")
    (tmp_path / "i.bin").write_bytes(b"installer")
    cli_ok(
        runner,
        "packages",
        "publish",
        str(tmp_path / "i.bin"),
        "--product",
        "erp",
        "--version",
        "9.0",
        "--kind",
        "installer",
    )
    answer = client.post(
        "/api/v1/license-requests",
        json={"license_id": license_id, "target_version": "９．０", "modules": "ｈｒ，ＦＩＮ"},
        headers=world.auth("am@vendor.test"),
    )
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["target_version"] == "9.0"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "expires_days": "٣"},
        {"name": "\u202eexe.pdf"},
        {"name": "line\u2028break"},
        {"name": "x", "installer": "ｔｒｕｅ"},
    ],
)
def test_token_creation_refuses_other_scripts_and_direction_marks(app, client, world, body):
    before = counts(app)
    answer = client.post("/api/v1/tokens", json=body, headers=world.auth("it@acme.test"))
    assert_clean_refusal(answer, app, before)


def test_module_codes_in_upper_case_or_full_width_commas_are_one_license(app, runner, world):
    ids = [
        grant_license(runner, modules="GL,AR,AP"),
        grant_license(runner, modules="gl,ar,ap"),
        grant_license(runner, modules="ＧＬ，ar、Ap"),
    ]
    with db_session(app) as session:
        stored = [session.get(License, i) for i in ids]
        assert [row.modules for row in stored] == [["ap", "ar", "gl"]] * 3
        assert len({row.user_count for row in stored}) == 1


@pytest.mark.parametrize(
    "args,message",
    [
        (["--users", "٥"], "--users must be a whole number"),
        (["--users", "²"], "--users must be a whole number"),
        (["--version", ARABIC_INDIC], "version must be a dotted version"),
        (["--modules", "fin\u0301"], "modules"),
        (["--starts", "٢٠٢٦-٠١-٠١"], "--starts must be a date"),
    ],
)
def test_the_command_line_refuses_other_scripts_with_one_line(runner, world, args, message):
    base = {
        "--org": "acme",
        "--product": "erp",
        "--version": "8.0",
        "--modules": "fin",
        "--users": "5",
        "--kind": "perpetual",
        "--deployment": "on_premises",
        "--starts": "2026-01-01",
    }
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = runner.invoke(args=["licenses", "grant", *[x for kv in base.items() for x in kv]])
    assert result.exit_code in (1, 2)
    assert message in result.output


def test_the_command_line_takes_full_width_numbers_and_dates(app, runner, world):
    license_id = grant_license(
        runner, users="１２", starts="２０２６－０１－０１", version="８．０"
    )
    with db_session(app) as session:
        row = session.get(License, license_id)
        assert (row.user_count, row.version, row.starts.isoformat()) == (12, "8.0", "2026-01-01")
        assert session.scalars(select(License.id)).all()


def test_an_unpaired_surrogate_escaped_in_json_is_a_400_not_a_database_error(app, client, world):
    before = counts(app)
    answer = client.post(
        "/api/v1/tokens",
        data='{"name": "half \\ud800 a pair"}',
        content_type="application/json",
        headers=world.auth("it@acme.test"),
    )
    assert_clean_refusal(answer, app, before)
    assert answer.get_json()["error"]["field"] == "name"
