"""Search finds the fix: by defect id or CVE exactly, by any part of a word in Chinese or
English in notes, defect titles and file names, only among what the caller may download."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distro.core.searchtext import fold, package_document, words
from distro.patches import search
from tests.finding.conftest import CORPUS


def found(client, world, who="it@acme.test", **args) -> list[str]:
    answer = client.get("/api/v1/search", query_string=args, headers=world.auth(who))
    assert answer.status_code == 200, answer.get_json()
    return [item["id"] for item in answer.get_json()["items"]]


def refusal(client, world, **args) -> dict:
    answer = client.get("/api/v1/search", query_string=args, headers=world.auth("it@acme.test"))
    assert answer.status_code == 400, answer.get_json()
    return answer.get_json()["error"]


def test_part_of_a_chinese_word_finds_the_defect_title(client, world, catalogue):
    assert found(client, world, q="过账") == [catalogue["voucher"]]
    assert found(client, world, q="凭证过账") == [catalogue["voucher"]]
    assert found(client, world, q="账龄") == [catalogue["report"]]
    assert set(found(client, world, q="账")) == {catalogue["voucher"], catalogue["report"]}


def test_an_english_word_matches_in_any_case_width_and_as_part_of_a_word(client, world, catalogue):
    for q in ("voucher", "VOUCHER", "Voucher", "ＶＯＵＣＨＥＲ", "ouche"):
        assert found(client, world, q=q) == [catalogue["voucher"]], q
    assert found(client, world, q="setup") == [catalogue["installer"]]  # the file name


def test_every_word_of_a_query_must_match(client, world, catalogue):
    assert found(client, world, q="voucher closed") == [catalogue["voucher"]]
    assert found(client, world, q="voucher TLS") == []


def test_a_defect_id_or_cve_is_found_exactly_and_ranks_first(client, world, catalogue):
    assert found(client, world, q="PT-201301") == [catalogue["voucher"]]
    assert found(client, world, q="pt-201301") == [catalogue["voucher"]]
    assert found(client, world, q="cve-2026-31337") == [catalogue["tls"]]
    assert found(client, world, q="PT-2014") == [catalogue["report"]]  # as words: a part
    # Notes that mention another package's id still match, after the package it names.
    client.patch(
        f"/api/v1/packages/{catalogue['tls']}",
        json={"notes": "Install after PT-201301."},
        headers=world.auth("pub@vendor.test"),
    )
    assert found(client, world, q="PT-201301") == [catalogue["voucher"], catalogue["tls"]]


def test_a_customer_never_sees_a_release_line_beyond_its_license(client, world, catalogue):
    assert catalogue["nine"] not in found(client, world, q="过账")
    assert found(client, world, q="CVE-2026-40001") == []
    assert catalogue["nine"] in found(client, world, who="pub@vendor.test", q="过账")
    assert found(client, world, who="it@globex.test", q="voucher") == []  # no license at all
    assert found(client, world, who="installer@acme", q="voucher") == [catalogue["voucher"]]


def test_filters_narrow_the_matches(client, world, catalogue):
    staff = {"who": "pub@vendor.test"}
    assert set(found(client, world, **staff, severity="high")) == {
        catalogue["voucher"],
        catalogue["tls"],
    }
    assert found(client, world, **staff, kind="feature_pack") == [catalogue["report"]]
    assert set(found(client, world, **staff, installed="8.0.1")) == {
        catalogue["tls"],
        catalogue["report"],
    }
    assert found(client, world, **staff, q="过账", product="erp", installed="9.0") == [
        catalogue["nine"]
    ]
    answer = client.get(
        "/api/v1/search", query_string={"product": "crm"}, headers=world.auth("it@acme.test")
    )
    assert answer.status_code == 404  # a product beyond the license is as unknown


def test_results_page_newest_first_without_repeats(client, world, catalogue):
    seen, cursor = [], None
    while True:
        args = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        answer = client.get("/api/v1/search", query_string=args, headers=world.auth("it@acme.test"))
        body = answer.get_json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    entitled = ["report", "tls", "voucher", "installer"]  # newest first; no 9.0
    assert sorted(seen) == sorted(catalogue[name] for name in entitled)
    assert len(seen) == len(set(seen)) == 4


@pytest.mark.parametrize(
    "args, field",
    [
        ({"q": "x" * 201}, "q"),
        ({"q": "bad\x00query"}, "q"),
        ({"q": "line\nbreak"}, "q"),
        ({"q": "!!!"}, "q"),
        ({"severity": "urgent"}, "severity"),
        ({"installed": "nine"}, "installed"),
        ({"kind": "hotfix"}, "kind"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_bad_queries_are_400_naming_the_field(client, world, args, field):
    assert refusal(client, world, **args)["field"] == field


def reference_matches(query: str) -> set[str]:
    """What a query must find among the entitled corpus, computed without a database."""
    wanted = words(query)
    hits = set()
    for name, entry in CORPUS.items():
        if entry.version.startswith("9."):
            continue
        defects = [
            {"id": d.split("=")[0], "title": d.split("=")[1]}
            for flag, d in zip(entry.details, entry.details[1:], strict=False)
            if flag == "--defect"
        ]
        cves = [
            c for flag, c in zip(entry.details, entry.details[1:], strict=False) if flag == "--cve"
        ]
        body = package_document(entry.filename, entry.notes, defects, cves)
        if all(word in body for word in wanted):
            hits.add(name)
    return hits


TEXT = "".join(fold(e.notes + e.filename + "".join(e.details)) for e in CORPUS.values())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_part_of_the_text_finds_exactly_what_a_substring_check_finds(
    client, world, catalogue, data
):
    """The same query gives the same set on both databases: each is held to this."""
    start = data.draw(st.integers(0, len(TEXT) - 1))
    query = TEXT[start : start + data.draw(st.integers(1, 6))]
    if not words(query):
        return
    names = {pid: name for name, pid in catalogue.items()}
    assert {names[i] for i in found(client, world, q=query)} == reference_matches(query), query


def test_the_gram_index_finds_what_reading_every_package_finds(
    client, world, catalogue, monkeypatch
):
    """Without the gram index, search reads every package's text: the same answer, in
    the same order, page by page (the index only ever saves time)."""
    queries = ["过账", "账", "voucher", "ouche", "PT-201301", "erp", "zip", "8 0"]
    who = ("it@acme.test", "pub@vendor.test")
    expected = {(q, w): found(client, world, who=w, q=q, limit=2) for q in queries for w in who}
    # PostgreSQL: past its newest packages, search reads on, or takes the GIN index's
    # matches and looks them up, or reads on when they are many.
    for setting, value in (("WINDOW", 1), ("SCAN_BUDGET", 0), ("DENSE", 0)):
        monkeypatch.setattr(search, setting, value)
        for (q, w), ids in expected.items():
            assert found(client, world, who=w, q=q, limit=2) == ids, (q, w, setting)
    monkeypatch.setattr(search, "_grams", lambda query: [])
    for (q, w), ids in expected.items():
        assert found(client, world, who=w, q=q, limit=2) == ids, (q, w)
