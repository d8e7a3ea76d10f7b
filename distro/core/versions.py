"""Dotted versions (1 to 4 numeric parts), release lines and `applies_to` ranges.

Versions compare numerically part by part with missing parts as zero, so `8.0` equals
`8.0.0`. `version_key` turns a version into a fixed-width string that sorts the same
way, which lets the database order and filter packages by version.
"""

from __future__ import annotations

import operator
import re

from distro.core.errors import ValidationError

_VERSION = re.compile(r"^\d{1,9}(?:\.\d{1,9}){0,3}$")
_COMPARATOR = re.compile(r"^(>=|<=|==|!=|>|<)\s*(\S+)$")
_OPS = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}

Version = tuple[int, int, int, int]


def parse_version(text: object, field: str = "version") -> Version:
    """Parse a version; a malformed one is a 400 that names the field and the rule."""
    if not isinstance(text, str) or not _VERSION.match(text):
        raise ValidationError(
            f"{field} must be a dotted version of 1 to 4 numeric parts, like 9.0 or 8.0.2",
            code="invalid_version",
            field=field,
        )
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (4 - len(parts)))  # type: ignore[return-value]


def version_key(text: str) -> str:
    return ".".join(f"{part:09d}" for part in parse_version(text))


def release_line(text: str) -> str:
    """`9.0.0.12` -> `9.0`."""
    major, minor = parse_version(text)[:2]
    return f"{major}.{minor}"


def line_key(text: str) -> str:
    return version_key(release_line(text))


def parse_range(text: object, field: str = "applies_to") -> list[tuple[str, Version]]:
    """Parse `>=8.0,<8.0.3`: comma-separated comparators, all of which must hold."""
    if not isinstance(text, str) or not text.strip() or len(text) > 200:
        raise ValidationError(f"{field} must be a range like >=8.0,<8.0.3", field=field)
    clauses = []
    for raw in text.split(","):
        match = _COMPARATOR.match(raw.strip())
        if not match:
            raise ValidationError(
                f"{field}: '{raw.strip()}' is not a comparison like >=8.0 or <8.0.3",
                code="invalid_range",
                field=field,
            )
        clauses.append((match.group(1), parse_version(match.group(2), field)))
    return clauses


def in_range(version: str | Version, range_text: str) -> bool:
    parsed = parse_version(version) if isinstance(version, str) else version
    return all(_OPS[op](parsed, bound) for op, bound in parse_range(range_text))
