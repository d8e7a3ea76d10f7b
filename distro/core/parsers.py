"""One parser per kind of value that reaches us from outside: the API, the pages and the
CLI all call these, so each kind of value is accepted or refused the same way everywhere.

Every parser is written on ASCII explicitly (`[0-9]`, `re.ASCII`, `str.isascii()`):
Python's `isdigit`, `int()`, `\\d` and `\\w` also accept other scripts' digits and
letters (`٨`, `²`), whose meaning differs from the format's. Before parsing, the
full-width forms that Chinese input methods type (`８．０`, `ＧＬ，ＡＲ`, `－`, the
ideographic space) are folded to ASCII (`fold_fullwidth`): their meaning is never in
doubt. Anything else that is not ASCII in a code, version, number or date is refused
with a `ValidationError` naming the field. What a parser returns is what is stored and
signed, always in one canonical ASCII form, and parsing that again returns it unchanged.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, date, datetime

from distro.core.errors import ValidationError

# NFKC maps exactly these to ASCII: U+FF01..U+FF5E are the full-width twins of
# U+0021..U+007E, and U+3000 is the ideographic space. Folding only these (rather than
# NFKC of the whole text) keeps `²`, `①` or `ﬁ` from quietly becoming `2`, `1`, `fi`.
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

_DIGITS = re.compile(r"[0-9]{1,18}", re.ASCII)
_VERSION = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,9}){0,3}", re.ASCII)
_COMPARATOR = re.compile(r"(>=|<=|==|!=|>|<) *([0-9.]+)", re.ASCII)
_CODE = re.compile(r"[a-z][a-z0-9-]{1,31}", re.ASCII)
_MODULE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}", re.ASCII)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", re.ASCII)
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}", re.ASCII)
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_MOMENT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})?)?",
    re.ASCII,
)
_SERIAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}", re.ASCII)
_SHA256 = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,2000}", re.ASCII)
_MODULE_SEPARATORS = re.compile(r"[,\u3001]")  # `,` and the ideographic comma `、`
_CVE = re.compile(r"CVE-[0-9]{4}-[0-9]{4,19}", re.ASCII)
_DEFECT_ID = re.compile(r"[A-Z][A-Z0-9]{0,9}-[0-9]{1,12}", re.ASCII)
MAX_DETAIL_ITEMS = 200  # defects, CVEs or modules of one package
SEVERITIES = ("critical", "high", "medium", "low", "none")  # most severe first

# Text may be in any script, but not carry characters that change how the rest of the
# line displays or that no database stores: controls, bidirectional overrides and
# isolates (the "Trojan Source" characters), line separators, unpaired surrogates.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_SEPARATORS = frozenset("\u2028\u2029\x85")


def fold_fullwidth(text: str) -> str:
    """Full-width ASCII twins and the ideographic space become ASCII; nothing else changes."""
    return text.translate(_FULLWIDTH)


def _ascii_token(value: object, field: str, what: str) -> str:
    """The value as folded, stripped ASCII text, or a 400 that says what was expected."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be {what}", field=field)
    text = fold_fullwidth(value).strip()
    if not text.isascii():
        raise ValidationError(
            f"{field} must be {what}, written with ASCII characters (0-9, a-z)", field=field
        )
    return text


def parse_integer(value: object, field: str, low: int, high: int) -> int:
    """A JSON integer from `low` to `high` (`true` and `"9"` are not integers)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{field} must be a whole number from {low} to {high}", field=field)
    return value


def parse_integer_text(value: object, field: str, low: int, high: int) -> int:
    """A whole number from `low` to `high` written in ASCII digits: a query parameter, a
    form field, a command-line argument."""
    text = _ascii_token(value, field, f"a whole number from {low} to {high}")
    if not _DIGITS.fullmatch(text):
        raise ValidationError(f"{field} must be a whole number from {low} to {high}", field=field)
    return parse_integer(int(text), field, low, high)


def parse_cursor(value: object) -> str:
    """A list cursor as we hand them out (URL-safe base64); its content is checked when
    it is decoded."""
    if not isinstance(value, str) or not _CURSOR.fullmatch(value):
        raise ValidationError(
            "cursor is not one this server handed out", code="invalid_cursor", field="cursor"
        )
    return value


def parse_version(value: object, field: str = "version") -> str:
    """A dotted version of 1 to 4 numeric parts, canonical: `٨.٠` is refused, `８．０`
    becomes `8.0`. Leading zeros are kept (`8.01` stays `8.01`, and compares as 8.1)."""
    rule = "a dotted version of 1 to 4 numeric parts, like 9.0 or 8.0.2"
    text = _ascii_token(value, field, rule)
    if not _VERSION.fullmatch(text):
        raise ValidationError(f"{field} must be {rule}", code="invalid_version", field=field)
    return text


def parse_range(value: object, field: str = "applies_to") -> str:
    """Comma-separated comparisons, all of which must hold (`>=8.0,<8.0.3`), canonical:
    no spaces, each version parsed by `parse_version`."""
    rule = "a range like >=8.0,<8.0.3"
    text = _ascii_token(value, field, rule)
    if not text or len(text) > 200:
        raise ValidationError(f"{field} must be {rule}", field=field)
    clauses = []
    for raw in text.split(","):
        match = _COMPARATOR.fullmatch(raw.strip(" "))
        if not match:
            raise ValidationError(
                f"{field}: '{raw.strip()}' is not a comparison like >=8.0 or <8.0.3",
                code="invalid_range",
                field=field,
            )
        clauses.append(match.group(1) + parse_version(match.group(2), field))
    return ",".join(clauses)


def parse_code(value: object, field: str, what: str) -> str:
    """A product or organisation code: a lower-case ASCII letter, then 1 to 31 lower-case
    letters, digits or `-` (contract §2)."""
    rule = (
        f"{what} code must be 2-32 characters: a lower-case letter, then lower-case "
        "letters, digits or '-'"
    )
    if not isinstance(value, str) or not _CODE.fullmatch(fold_fullwidth(value).strip()):
        raise ValidationError(rule, field=field)
    return fold_fullwidth(value).strip()


def parse_name(value: object, field: str) -> str:
    """A machine's name as its installer reports it (`erp-prod-01`): 1 to 64 ASCII
    letters, digits, `.`, `_` or `-`, starting with a letter or digit; case is kept."""
    rule = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
    text = _ascii_token(value, field, rule)
    if not _NAME.fullmatch(text):
        raise ValidationError(f"{field} must be {rule}", field=field)
    return text


def parse_module_codes(value: object, field: str = "modules") -> list[str]:
    """Module codes in any case, as a list or as text separated by `,` (or `，`, `、`);
    stored and signed in lower case, sorted, without repeats, so `GL,AR` and `ar,gl` are
    the same license."""
    rule = (
        "a non-empty list of module codes (letters, digits, '.', '_' or '-', "
        "starting with a letter or digit, at most 32 characters)"
    )
    if isinstance(value, str):
        items = _MODULE_SEPARATORS.split(fold_fullwidth(value))
        items = [item for item in items if item.strip(" ")]
    elif isinstance(value, list):
        items = value
    else:
        raise ValidationError(f"{field} must be {rule}", field=field)
    if not items or len(items) > 200:
        raise ValidationError(f"{field} must be {rule}", field=field)
    codes = set()
    for item in items:
        text = _ascii_token(item, field, rule).lower()
        if not _MODULE.fullmatch(text):
            raise ValidationError(f"{field}: {item!r} is not a module code; {rule}", field=field)
        codes.add(text)
    return sorted(codes)


def parse_severity(value: object, field: str = "severity") -> str:
    """One of `SEVERITIES`, in any case; nothing given is `none`."""
    if value is None or value == "":
        return "none"
    text = _ascii_token(value, field, "one of " + ", ".join(SEVERITIES)).lower()
    if text not in SEVERITIES:
        raise ValidationError(
            f"{field} must be one of {', '.join(SEVERITIES)}", code="invalid_severity", field=field
        )
    return text


def parse_cve(value: object, field: str = "cves") -> str:
    """A CVE id (`CVE-2026-12345`: the year and 4 or more digits), in upper case."""
    text = _ascii_token(value, field, "a CVE id like CVE-2026-12345").upper()
    if not _CVE.fullmatch(text):
        raise ValidationError(
            f"{field}: {value!r} is not a CVE id like CVE-2026-12345",
            code="invalid_cve",
            field=field,
        )
    return text


def parse_cves(value: object, field: str = "cves") -> list[str]:
    """CVE ids as a list or as comma-separated text, upper case, sorted, no repeats;
    nothing given is no CVE."""
    return sorted(set(_items(value, field, "a comma-separated list of CVE ids", parse_cve)))


def parse_defect_id(value: object, field: str = "defects") -> str:
    """A defect id as the vendor's tracker numbers them (`PT-201301`): 1 to 10 letters
    or digits starting with a letter, `-`, 1 to 12 digits; in upper case."""
    rule = "a defect id like PT-201301"
    text = _ascii_token(value, field, rule).upper()
    if not _DEFECT_ID.fullmatch(text):
        raise ValidationError(
            f"{field}: {value!r} is not {rule}", code="invalid_defect", field=field
        )
    return text


def parse_defects(value: object, field: str = "defects") -> list[dict]:
    """Defects a package fixes: a list (or its JSON text) of `{"id", "title"}`, or text
    with one `ID=TITLE` per line (what the CLI's `--defect` and the publish page take);
    ids parsed by `parse_defect_id`, titles free single-line text of any script; sorted by
    id, each id once."""
    if isinstance(value, str):
        value = _defect_text(value, field)
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_DETAIL_ITEMS:
        raise ValidationError(
            f'{field} must be a list of at most {MAX_DETAIL_ITEMS} {{"id", "title"}} objects',
            field=field,
        )
    found: dict[str, str] = {}
    for item in value:
        if not isinstance(item, dict) or set(item) - {"id", "title"} or "id" not in item:
            raise ValidationError(
                f'{field}: each defect is an object with "id" and "title"', field=field
            )
        defect = parse_defect_id(item["id"], field)
        found[defect] = parse_text(item.get("title"), f"{field}.title", 300)
    return [{"id": defect, "title": found[defect]} for defect in sorted(found)]


def _defect_text(text: str, field: str) -> list:
    if text.lstrip().startswith("["):
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            raise ValidationError(
                f'{field} must be a JSON list of {{"id", "title"}} objects', field=field
            ) from None
    defects = []
    for line in text.splitlines():
        if not line.strip():
            continue
        defect_id, equals, title = line.replace("\uff1d", "=").partition("=")
        if not equals or not title.strip():
            raise ValidationError(
                f"{field}: write each defect as ID=TITLE, like PT-201301=Voucher posting "
                f"fails (not {line.strip()!r})",
                field=field,
            )
        defects.append({"id": defect_id, "title": title})
    return defects


def parse_package_modules(value: object, field: str = "modules") -> list[str]:
    """The modules a package touches, as `parse_module_codes` reads them; none is allowed."""
    if value is None or (isinstance(value, str | list) and not value):
        return []
    if isinstance(value, str) and not _MODULE_SEPARATORS.sub("", fold_fullwidth(value)).strip():
        return []
    return parse_module_codes(value, field)


def _items(value: object, field: str, rule: str, parse) -> list[str]:
    """The parsed items of a list, or of text separated by `,` (`，`, `、`); nothing is []."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [item for item in _MODULE_SEPARATORS.split(fold_fullwidth(value)) if item.strip()]
    if not isinstance(value, list) or len(value) > MAX_DETAIL_ITEMS:
        raise ValidationError(f"{field} must be {rule} (at most {MAX_DETAIL_ITEMS})", field=field)
    return [parse(item, field) for item in value]


def parse_email(value: object, field: str = "email") -> str:
    """An ASCII e-mail address, stored in lower case. Addresses with non-ASCII local parts
    or domains are refused: not every mail server takes them (SMTPUTF8)."""
    text = fold_fullwidth(value).strip() if isinstance(value, str) else ""
    local, at, domain = text.rpartition("@")
    labels = domain.split(".")
    if (
        not at
        or len(text) > 254
        or not _EMAIL_LOCAL.fullmatch(local)
        or len(labels) < 2
        or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
    ):
        raise ValidationError(
            "not a valid e-mail address: write it like name@example.com, in ASCII", field=field
        )
    return text.lower()


def parse_date(value: object, field: str) -> date:
    """A calendar date written `YYYY-MM-DD`."""
    rule = "a date written YYYY-MM-DD"
    text = _ascii_token(value, field, rule)
    if _DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise ValidationError(f"{field} must be {rule}", field=field)


def parse_moment(value: object, field: str) -> datetime:
    """A date or an RFC 3339 time, as naive UTC (how the database stores time)."""
    rule = "a date or RFC 3339 time in the years 1 to 9999"
    text = _ascii_token(value, field, rule)
    if _MOMENT.fullmatch(text):
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is not None:
                # 9999-12-31T23:59:59-14:00 is after the last moment Python can hold
                moment = moment.astimezone(UTC).replace(tzinfo=None)
        except (ValueError, OverflowError):
            pass
        else:
            return moment
    raise ValidationError(f"{field} must be {rule}", field=field)


def parse_serial(value: object, field: str = "serial") -> str:
    """A license serial as a vendor numbers them (`DL-1A2B3C`, `ERP/2021/00017` is not:
    1 to 32 ASCII letters, digits, `.`, `_` or `-`, starting with a letter or digit)."""
    rule = "1-32 letters, digits, '.', '_' or '-', starting with a letter or digit"
    text = _ascii_token(value, field, rule)
    if not _SERIAL.fullmatch(text):
        raise ValidationError(f"{field} must be {rule}", field=field)
    return text


def parse_sha256(value: object, field: str = "sha256") -> str:
    """A SHA-256 digest: 64 hexadecimal characters, returned in lower case."""
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise ValidationError(f"{field} must be 64 hexadecimal characters", field=field)
    return value.lower()


# A file name is a name, not a command (review finding 9): these mean something to a shell
# even inside the double quotes a recipe might put around the name.
SHELL_CHARACTERS = frozenset("$`\"'\\;|&<>")


def parse_filename(value: object, field: str = "file") -> str:
    """A plain file name in letters of any script, as published and shown in recipes: no
    folders, no control or text-direction characters (a right-to-left override could make
    `exe.pdf` read `fdp.exe`), no shell metacharacters or quotes, at most 255 characters."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("the upload needs a file name", field=field)
    if (
        "/" in value
        or value in (".", "..")
        or len(value) > 255
        or has_forbidden_characters(value)
        or SHELL_CHARACTERS & set(value)
    ):
        raise ValidationError(
            "the file name must be a plain name of at most 255 characters, without folders, "
            "control or text-direction characters, quotes or any of $ ` \\ ; | & < >",
            code="invalid_filename",
            field=field,
        )
    return value


def has_forbidden_characters(text: str, *, multiline: bool = False) -> bool:
    """Whether `text` holds a control character (tab and line breaks allowed in
    multi-line text), a bidirectional override or isolate, a line separator, or an
    unpaired surrogate."""
    allowed = "\n\r\t" if multiline else ""
    for char in text:
        if char in allowed:
            continue
        if (
            unicodedata.category(char) in ("Cc", "Cs")
            or char in _BIDI_CONTROLS
            or char in _LINE_SEPARATORS
        ):
            return True
    return False


def parse_text(
    value: object, field: str, max_length: int, *, required: bool = False, multiline: bool = False
) -> str:
    """Free text in any script: stripped, at most `max_length` characters, without the
    characters `has_forbidden_characters` names. NUL in particular must never reach the
    database (PostgreSQL refuses it)."""
    if value is None:
        value = ""
    kind = "text" if multiline else "a single line"
    if (
        not isinstance(value, str)
        or len(value) > max_length
        or has_forbidden_characters(value, multiline=multiline)
    ):
        raise ValidationError(
            f"{field} must be {kind} of at most {max_length} characters without control "
            "or text-direction characters",
            field=field,
        )
    if required and not value.strip():
        raise ValidationError(f"{field} is required", field=field)
    return value.strip()
