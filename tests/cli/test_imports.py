"""Bulk import of a vendor's customer base: every row parsed as the API would, a file with
any bad row imports nothing and names each one (line, field, reason), a second run
changes nothing, and the same import works at the command line, over the API and on the
admin page."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select, text

from distro.accounts.models import Organisation, User
from distro.audit.models import AuditEvent
from distro.core.versions import line_key
from distro.licenses.models import License
from tests.conftest import PASSWORD, cli_ok, csrf_token, db_session, login


def count(app, model, *where) -> int:
    with db_session(app) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def orgs_csv(n: int, start: int = 0) -> str:
    lines = ["code,name,account_managers"]
    lines += [f"org-{i:05d},Customer {i} 有限公司,am@vendor.test" for i in range(start, start + n)]
    return "\n".join(lines) + "\n"


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_organisations_come_in_once_however_often_the_file_is_imported(
    app, runner, world, tmp_path
):
    path = write(tmp_path, "orgs.csv", orgs_csv(2500))
    assert (
        cli_ok(runner, "import", "orgs", str(path)) == "orgs: 2500 rows, 2500 created, 0 existing"
    )
    assert (
        cli_ok(runner, "import", "orgs", str(path)) == "orgs: 2500 rows, 0 created, 2500 existing"
    )
    assert count(app, Organisation, Organisation.code.like("org-%")) == 2500
    assert count(app, AuditEvent, AuditEvent.action == "org.create") == 2500 + 2  # + acme, globex
    with db_session(app) as session:
        org = session.scalars(select(Organisation).where(Organisation.code == "org-00042")).one()
        assert org.name == "Customer 42 有限公司"
        assert [m.email for m in org.account_managers] == ["am@vendor.test"]


def test_a_file_with_bad_rows_imports_nothing_and_names_each_of_them(app, runner, world, tmp_path):
    text = (
        "code,name,account_managers\n"
        "good-one,Good,\n"
        "Bad Code,Bad,\n"
        "good-two,,\n"
        "good-three,Three,nobody@vendor.test\n"
        "good-one,Again,\n"
    )
    result = runner.invoke(args=["import", "orgs", str(write(tmp_path, "o.csv", text))])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "orgs: line 3, code: organisation code must be 2-32 characters" in lines[0]
    assert lines[1] == "orgs: line 4, name: name is required"
    assert "line 6, code: 'good-one' is on line 2 already" in result.output
    assert "line 5, account_managers: nobody@vendor.test is no account manager" in result.output
    assert lines[-1] == "error: 4 bad rows; nothing was imported"
    assert count(app, Organisation, Organisation.code.like("good-%")) == 0


def test_users_come_in_json_lines_without_a_password_until_they_set_one(
    app, client, runner, world, tmp_path
):
    rows = [
        {"email": "Chen@Customer.test", "role": "customer_admin", "org": "acme", "language": "zh"},
        {"email": "ops@vendor.test", "role": "publisher"},
    ]
    path = write(tmp_path, "users.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    assert cli_ok(runner, "import", "users", str(path)) == "users: 2 rows, 2 created, 0 existing"
    with db_session(app) as session:
        chen = session.scalars(select(User).where(User.email == "chen@customer.test")).one()
        assert (chen.role, chen.org.code, chen.language) == ("customer_admin", "acme", "zh")
    assert login(client, "chen@customer.test", "!").status_code == 400
    assert login(client, "chen@customer.test", PASSWORD).status_code == 400


def test_a_user_row_is_parsed_as_the_api_would(app, runner, world, tmp_path):
    text = (
        "email,role,org\n"
        "x@y.test,root,\n"
        "not-an-address,customer_user,acme\n"
        "a@b.test,customer_user,\n"
        "c@d.test,approver,acme\n"
        "e@f.test,customer_user,nowhere\n"
    )
    result = runner.invoke(args=["import", "users", str(write(tmp_path, "u.csv", text))])
    assert result.exit_code == 1
    fields = [line.split(":")[1].split(",")[1].strip() for line in result.output.splitlines()[:-1]]
    assert fields == ["role", "email", "org", "org", "org"]


def test_licenses_are_signed_as_granted_ones_and_matched_by_serial(app, runner, world, tmp_path):
    text = (
        "serial,org,product,version,modules,users,kind,deployment,starts,expires\n"
        'ERP-0001,acme,erp,9.0,"GL,AR",50,subscription,on_premises,2026-01-01,2027-12-31\n'
        "ERP-0002,globex,erp,8.0,fin,5,perpetual,private_cloud,2025-06-01,\n"
    )
    path = write(tmp_path, "licenses.csv", text)
    assert cli_ok(runner, "import", "licenses", str(path)).endswith("2 created, 0 existing")
    assert cli_ok(runner, "import", "licenses", str(path)).endswith("0 created, 2 existing")
    with db_session(app) as session:
        first = session.scalars(select(License).where(License.serial == "ERP-0001")).one()
        assert (first.modules, first.user_count, first.line_key) == (
            ["ar", "gl"],
            50,
            line_key("9.0"),
        )
        file_text = first.file_text
    key = tmp_path / "key.pem"
    keys = app.test_client().get("/api/v1/keys").get_json()["items"]
    key.write_text(keys[0]["public_key_pem"])
    lic = tmp_path / "ERP-0001.lic"
    lic.write_text(file_text)
    verified = runner.invoke(args=["verify", "license", str(lic), "--key", str(key)])
    assert verified.exit_code == 0 and "ERP-0001" in verified.output


def test_the_api_imports_for_admins_and_lists_refused_rows(app, client, world):
    def post(who: str, text: str, kind: str = "orgs"):
        return client.post(
            f"/api/v1/import/{kind}",
            data={"file": (io.BytesIO(text.encode()), "orgs.csv")},
            content_type="multipart/form-data",
            headers=world.auth(who),
        )

    done = post("admin@vendor.test", orgs_csv(3))
    assert done.status_code == 200
    assert done.get_json() | {"notes": []} == {
        "kind": "orgs",
        "rows": 3,
        "created": 3,
        "existing": 0,
        "errors": [],
        "error_count": 0,
        "notes": [],
    }
    refused = post("admin@vendor.test", "code,name\nBAD CODE,x\n")
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["code"] == "invalid_rows"
    assert error["rows"][0]["line"] == 2 and error["rows"][0]["field"] == "code"
    assert post("pub@vendor.test", orgs_csv(1)).status_code == 403
    assert post("admin@vendor.test", orgs_csv(1), kind="tokens").status_code == 400
    raw = client.post(
        "/api/v1/import/orgs",
        data=orgs_csv(2, start=10).encode(),
        content_type="text/csv",
        headers=world.auth("admin@vendor.test"),
    )
    assert raw.status_code == 200 and raw.get_json()["created"] == 2


@pytest.mark.parametrize("ok", [True, False])
def test_the_admin_page_imports_an_uploaded_file(app, client, world, ok):
    login(client, "admin@vendor.test")
    text = orgs_csv(2) if ok else "code,name\nBAD CODE,x\n"
    answer = client.post(
        "/admin/import",
        data={
            "i-kind": "orgs",
            "i-file": (io.BytesIO(text.encode()), "orgs.csv"),
            "i-csrf_token": csrf_token(client, "/admin/"),
        },
        content_type="multipart/form-data",
    )
    if ok:
        assert answer.status_code == 302
        assert count(app, Organisation, Organisation.code.like("org-%")) == 2
    else:
        page = answer.get_data(as_text=True)
        assert "nothing was imported" in page and "BAD CODE" not in page
        assert "<td>2</td><td>code</td>" in page


def test_an_import_leaves_the_planner_knowing_the_tables_it_filled(app, runner, world, tmp_path):
    """On PostgreSQL the next import's foreign-key checks against a table that just went
    from empty to full scan it whole per row until it is analysed (issue 23's bench:
    users after 100,000 organisations came in at 191 rows/s). SQLite plans them by its
    indexes without statistics, so there it only has to import."""
    path = write(tmp_path, "orgs.csv", orgs_csv(300))
    cli_ok(runner, "import", "orgs", str(path))
    with db_session(app) as session:
        if session.get_bind().dialect.name == "postgresql":
            analysed = session.execute(
                text(
                    "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
                    "WHERE relname = 'organisations'"
                )
            ).scalar_one()
            assert analysed
            assert (
                session.execute(
                    text("SELECT reltuples FROM pg_class WHERE relname = 'organisations'")
                ).scalar_one()
                >= 300
            )
        assert count(app, Organisation, Organisation.code.like("org-%")) == 300
