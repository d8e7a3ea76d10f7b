"""Dotted versions (1 to 4 numeric parts), release lines and `applies_to` ranges.

Versions compare numerically part by part with missing parts as zero, so `8.0` equals
`8.0.0`. `version_key` turns a version into a fixed-width string that sorts the same
way, which lets the database order and filter packages by version. The text itself is
parsed by `distro.core.parsers`, the one place that decides what a version may be.
"""

from __future__ import annotations

import operator

from distro.core import parsers

_OPS = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}

Version = tuple[int, int, int, int]


def version_tuple(text: object, field: str = "version") -> Version:
    """The version as four numbers for comparison; a malformed one is a 400 naming the
    field and the rule."""
    parts = [int(part) for part in parsers.parse_version(text, field).split(".")]
    return tuple(parts + [0] * (4 - len(parts)))  # type: ignore[return-value]


def version_key(text: str) -> str:
    return ".".join(f"{part:09d}" for part in version_tuple(text))


def release_line(text: str) -> str:
    """`9.0.0.12` -> `9.0`."""
    major, minor = version_tuple(text)[:2]
    return f"{major}.{minor}"


def line_key(text: str) -> str:
    return version_key(release_line(text))


def range_clauses(text: object, field: str = "applies_to") -> list[tuple[str, Version]]:
    """`>=8.0,<8.0.3` as comparisons, all of which must hold."""
    clauses = []
    for clause in parsers.parse_range(text, field).split(","):
        op = clause[:2] if clause[1] == "=" else clause[:1]
        clauses.append((op, version_tuple(clause[len(op) :], field)))
    return clauses


def in_range(version: str | Version, range_text: str) -> bool:
    parsed = version_tuple(version) if isinstance(version, str) else version
    return all(_OPS[op](parsed, bound) for op, bound in range_clauses(range_text))
