"""Each parser accepts its format written in ASCII (or in the full-width forms Chinese
input methods type), refuses everything else with its own ValidationError naming the
field, returns ASCII, and returns its own output unchanged."""

from __future__ import annotations

import json
import string
import unicodedata
from datetime import date, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from distro.api.inputs import MAX_JSON_DEPTH, parse_json_document
from distro.core import parsers
from distro.core.errors import ValidationError
from distro.core.versions import in_range, version_key, version_tuple

TO_FULLWIDTH = {code: code + 0xFEE0 for code in range(0x21, 0x7F)} | {0x20: 0x3000}
NON_ASCII_DIGITS = [
    chr(c)
    for c in range(0x80, 0x10000)
    if unicodedata.category(chr(c)) == "Nd" and not 0xFF10 <= c <= 0xFF19
]
anything = st.one_of(
    st.text(),
    st.text(alphabet=string.printable + "٨٠１２．，－　²①" + "\u202e\u200f\u0301"),
    st.integers(),
    st.none(),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=3),
)


def fullwidth(text: str) -> str:
    return text.translate(TO_FULLWIDTH)


def outcome(parse, value):
    """The parser's result, or None when it refused with its own error (any other
    exception fails the test)."""
    try:
        return parse(value)
    except ValidationError as exc:
        assert exc.field, "a refusal names its field"
        return None


STRING_PARSERS = {
    "version": parsers.parse_version,
    "range": parsers.parse_range,
    "code": lambda v: parsers.parse_code(v, "code", "product"),
    "email": parsers.parse_email,
    "cursor": parsers.parse_cursor,
    "sha256": parsers.parse_sha256,
    "cve": parsers.parse_cve,
    "defect_id": parsers.parse_defect_id,
    "severity": parsers.parse_severity,
}


@pytest.mark.parametrize("name", sorted(STRING_PARSERS))
@given(value=anything)
def test_text_parsers_refuse_cleanly_return_ascii_and_are_idempotent(name, value):
    parse = STRING_PARSERS[name]
    parsed = outcome(parse, value)
    if parsed is not None:
        assert parsed.isascii()
        assert parse(parsed) == parsed


@given(value=anything)
def test_module_codes_are_ascii_lower_case_sorted_and_idempotent(value):
    parsed = outcome(parsers.parse_module_codes, value)
    if parsed is not None:
        assert parsed == sorted(set(parsed)) and all(c.isascii() and c == c.lower() for c in parsed)
        assert parsers.parse_module_codes(parsed) == parsed
        assert parsers.parse_module_codes(",".join(parsed)) == parsed


@given(value=anything)
def test_integer_text_is_ascii_digits_within_bounds(value):
    parsed = outcome(lambda v: parsers.parse_integer_text(v, "limit", 1, 500), value)
    if parsed is not None:
        assert 1 <= parsed <= 500
        assert parsers.parse_integer_text(str(parsed), "limit", 1, 500) == parsed


@given(value=anything)
def test_json_integers_are_ints_not_booleans_or_text(value):
    parsed = outcome(lambda v: parsers.parse_integer(v, "n", 0, 10), value)
    if parsed is not None:
        assert type(parsed) is int and 0 <= parsed <= 10


@given(value=anything)
def test_dates_and_moments_come_back_as_they_print(value):
    day = outcome(lambda v: parsers.parse_date(v, "starts"), value)
    if day is not None:
        assert parsers.parse_date(day.isoformat(), "starts") == day
    moment = outcome(lambda v: parsers.parse_moment(v, "since"), value)
    if moment is not None:
        assert moment.tzinfo is None
        assert parsers.parse_moment(moment.isoformat(), "since") == moment


@given(value=anything, multiline=st.booleans())
def test_free_text_keeps_any_script_but_never_a_forbidden_character(value, multiline):
    parsed = outcome(lambda v: parsers.parse_text(v, "note", 500, multiline=multiline), value)
    if parsed is not None:
        assert not parsers.has_forbidden_characters(parsed, multiline=multiline)
        assert parsers.parse_text(parsed, "note", 500, multiline=multiline) == parsed


@given(st.from_regex(r"[0-9]{1,9}(\.[0-9]{1,9}){0,3}", fullmatch=True))
def test_every_ascii_version_is_accepted_as_written_and_in_full_width(version):
    assert parsers.parse_version(version) == version
    assert parsers.parse_version(fullwidth(version)) == version


@given(
    st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}", fullmatch=True),
    st.sampled_from(NON_ASCII_DIGITS),
    st.data(),
)
def test_another_scripts_digit_anywhere_in_a_version_is_refused(version, digit, data):
    at = data.draw(st.integers(0, len(version)))
    with pytest.raises(ValidationError) as refused:
        parsers.parse_version(version[:at] + digit + version[at:], "target_version")
    assert refused.value.field == "target_version"


@given(st.from_regex(r"[a-z][a-z0-9-]{1,31}", fullmatch=True))
def test_codes_in_full_width_fold_to_the_same_code(code):
    assert parsers.parse_code(fullwidth(code), "code", "product") == code


@given(st.lists(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}", fullmatch=True), min_size=1))
def test_module_codes_in_any_case_and_separator_are_one_license(codes):
    canonical = sorted({c.lower() for c in codes})
    assert parsers.parse_module_codes(codes) == canonical
    assert parsers.parse_module_codes("，".join(fullwidth(c) for c in codes)) == canonical
    assert parsers.parse_module_codes("、".join(c.upper() for c in codes)) == canonical


@example(">= 8.0 , < 8.0.3")
@given(st.from_regex(r"(>=|<=|==|!=|>|<) ?[0-9]{1,3}(\.[0-9]{1,3}){0,3}", fullmatch=True))
def test_ranges_are_stored_without_spaces_and_mean_the_same(range_text):
    canonical = parsers.parse_range(range_text)
    assert " " not in canonical
    assert parsers.parse_range(fullwidth(range_text)) == canonical
    for probe in ("0", "8.0", "8.0.2", "8.0.3", "9"):
        assert in_range(probe, canonical) == in_range(probe, range_text)


def test_the_reported_cases():
    for bad in ("²", "abc", "-1", "9" * 30, "٣", "①"):
        with pytest.raises(ValidationError):
            parsers.parse_integer_text(bad, "limit", 1, 500)
    assert parsers.parse_integer_text("２０", "limit", 1, 500) == 20
    with pytest.raises(ValidationError, match="version"):
        parsers.parse_version("٨.٠.١")
    assert parsers.parse_version("８．０．１") == "8.0.1"
    assert version_key("８．０．１") == version_key("8.0.1")
    assert version_tuple("9.0") > version_tuple("８．０．１")
    assert parsers.parse_module_codes("GL,AR,AP") == ["ap", "ar", "gl"]
    assert parsers.parse_module_codes("GL，AR") == ["ar", "gl"]
    assert parsers.parse_email("ＡＭ＠Vendor.test") == "am@vendor.test"
    with pytest.raises(ValidationError):
        parsers.parse_email("用户@例子.中国")
    assert parsers.parse_date("２０２６－１１－３０", "starts") == date(2026, 11, 30)
    with pytest.raises(ValidationError):
        parsers.parse_date("٢٠٢٦-١١-٣٠", "starts")
    # naive UTC, as the database stores time
    assert parsers.parse_moment("2026-11-27T10:00:00+08:00", "since") == datetime(
        2026, 11, 27, 2, 0
    )


@pytest.mark.parametrize(
    "text",
    ["a\u202eb", "a\u2066b", "a\u2028b", "a\x85b", "a\ud800b", "nul\x00", "bell\x07"],
)
def test_text_direction_overrides_separators_surrogates_and_controls_are_refused(text):
    with pytest.raises(ValidationError, match="text-direction"):
        parsers.parse_text(text, "name", 100)


def test_text_in_any_script_with_marks_and_combining_accents_is_kept():
    for text in ("补丁说明", "ملاحظة\u200f", "e\u0301te", "Ünïcödé"):
        assert parsers.parse_text(text, "notes", 100) == text


# Extreme values (review finding 10): each of these was a 500 before the parsers bounded
# them; now every one is either a value or the parser's own ValidationError.

offsets = st.integers(-14 * 60, 14 * 60).map(
    lambda minutes: (
        f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    )
)


@example("9999-12-31T23:59:59-14:00")
@example("0001-01-01T00:00:00+14:00")
@example("0000-01-01")
@given(
    st.builds(
        lambda year, month, day, offset: f"{year:04d}-{month:02d}-{day:02d}T12:00:00{offset}",
        st.sampled_from([0, 1, 2, 9998, 9999]) | st.integers(0, 9999),
        st.integers(1, 12),
        st.integers(1, 31),
        offsets | st.just("Z"),
    )
)
def test_moments_at_the_ends_of_the_calendar_are_values_or_refusals(text):
    moment = outcome(lambda v: parsers.parse_moment(v, "since"), text)
    if moment is not None:
        assert moment.tzinfo is None and 1 <= moment.year <= 9999


@given(st.integers() | st.text(alphabet="0123456789", min_size=15, max_size=400))
def test_extreme_integers_are_refused_not_overflowed(value):
    text = str(value)
    parsed = outcome(lambda v: parsers.parse_integer_text(v, "limit", 1, 500), text)
    assert parsed is None or 1 <= parsed <= 500
    assert outcome(lambda v: parsers.parse_integer(v, "n", 0, 2**31), value) in (None, value)


@given(value=anything)
@example("$(echo INJECTED 1>&2).bin")
@example('say"hi".bin')
@example("ERP 安装包 v9.zip")
def test_file_names_never_hold_folders_controls_or_shell_characters(value):
    parsed = outcome(parsers.parse_filename, value)
    if parsed is not None:
        assert not parsers.SHELL_CHARACTERS & set(parsed)
        assert "/" not in parsed and not parsers.has_forbidden_characters(parsed)
        assert parsers.parse_filename(parsed) == parsed


def test_letters_of_any_script_stay_allowed_in_file_names():
    for name in ("补丁 8.0.1.zip", "ملف.bin", "Überarbeitung (2).tar.gz", "a b c"):
        assert parsers.parse_filename(name) == name


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=4)
    ),
    max_leaves=40,
)


def nesting(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(nesting, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(nesting, value), default=0)
    return 0


@given(json_values, st.integers(0, 6000), st.sampled_from(["[", '{"a":']))
def test_json_of_any_depth_and_width_is_a_value_or_a_refusal(value, depth, opener):
    closer = "]" if opener == "[" else "}"
    text = opener * depth + json.dumps(value) + closer * depth
    deep = depth + nesting(value) > MAX_JSON_DEPTH
    try:
        parsed = parse_json_document(text)
    except ValidationError as exc:
        assert exc.code == "invalid_json" and deep
    else:
        assert not deep and nesting(parsed) == depth + nesting(value)


def test_the_reported_deep_body_is_refused():
    with pytest.raises(ValidationError, match="nest"):
        parse_json_document("[" * 5000 + "]" * 5000)
    assert parse_json_document("[" * 32 + "]" * 32) is not None
    assert len(parse_json_document(json.dumps(list(range(100_000))))) == 100_000


@given(
    value=st.one_of(
        anything,
        st.lists(
            st.fixed_dictionaries({"id": st.text(max_size=12), "title": st.text(max_size=20)}),
            max_size=3,
        ),
    )
)
def test_defects_come_back_sorted_by_id_with_ascii_ids_and_are_idempotent(value):
    parsed = outcome(parsers.parse_defects, value)
    if parsed is not None:
        ids = [d["id"] for d in parsed]
        assert ids == sorted(set(ids)) and all(i.isascii() and i == i.upper() for i in ids)
        assert parsers.parse_defects(parsed) == parsed
        assert parsers.parse_defects(json.dumps(parsed)) == parsed


@given(value=anything)
def test_cve_lists_are_upper_case_sorted_and_idempotent(value):
    parsed = outcome(parsers.parse_cves, value)
    if parsed is not None:
        assert parsed == sorted(set(parsed)) and all(c.startswith("CVE-") for c in parsed)
        assert parsers.parse_cves(",".join(parsed)) == parsed


@given(value=anything, severity=anything, installed=anything)
def test_search_queries_parse_or_refuse_naming_the_field(value, severity, installed):
    from distro.patches.search import parse_query

    outcome(lambda v: parse_query(v, severity=severity, installed=installed), value)


@given(text=st.text(alphabet="总账凭证过账失败ＧＬglPOST-_ 。,", max_size=30), data=st.data())
def test_every_part_of_a_word_finds_its_document_through_the_index(text, data):
    """The gram index never misses: the grams of any part of a word of a text are among
    the text's grams (the substring check then removes what only looks alike)."""
    from distro.core.searchtext import document_grams, query_grams, words

    found = words(text)
    if not found:
        return
    word = data.draw(st.sampled_from(found))
    start = data.draw(st.integers(0, len(word) - 1))
    part = word[start : data.draw(st.integers(start + 1, len(word)))]
    assert set(query_grams(part)) <= set(document_grams(text))
