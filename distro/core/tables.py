"""Reading rows for a bulk import: CSV with a header row, or JSON lines (one object per
line), each row with its line number so that a refusal can name where it is.

Values come out as text (JSON numbers as their text) for the import's own parsers, which
are the API's: a row is accepted or refused as the same value would be one at a time.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from distro.core.errors import ValidationError

MAX_ROWS = 1_000_000
MAX_ERRORS = 1000  # listed; the count of the rest is still given


@dataclass(frozen=True)
class RowError:
    line: int
    field: str | None
    reason: str

    def json(self) -> dict:
        return {"line": self.line, "field": self.field, "reason": self.reason}

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.field}" if self.field else "")
        return f"{where}: {self.reason}"


@dataclass
class Report:
    """What an import did, or would have done: rows read, created, existing, refused."""

    kind: str
    rows: int = 0
    created: int = 0
    existing: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    notes: list[str] = field(default_factory=list)  # existing rows that differ

    def refuse(self, line: int, exc: ValidationError | str, field_name: str | None = None):
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            if isinstance(exc, ValidationError):
                self.errors.append(RowError(line, exc.field or field_name, exc.message))
            else:
                self.errors.append(RowError(line, field_name, exc))

    def json(self) -> dict:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "created": self.created,
            "existing": self.existing,
            "errors": [e.json() for e in self.errors],
            "error_count": self.error_count,
            "notes": self.notes[:MAX_ERRORS],
        }


def read_rows(stream: io.TextIOBase, columns: tuple[str, ...], report: Report):
    """(line, row) pairs of a CSV or JSON-lines text stream; rows are dicts of text with
    the known `columns` only. A malformed line, an unknown column or a file that is
    neither format is refused into `report` (and its rows are not given)."""
    first = stream.readline()
    stripped = first.lstrip("\ufeff")
    if stripped.lstrip().startswith("{"):
        yield from _json_lines(stripped, stream, columns, report)
    else:
        yield from _csv_rows(stripped, stream, columns, report)


def _json_lines(first: str, stream, columns, report: Report) -> Iterator[tuple[int, dict]]:
    for number, text in enumerate([first, *stream], start=1):
        if not text.strip():
            continue
        if number > MAX_ROWS:
            report.refuse(number, f"a file may have at most {MAX_ROWS} rows")
            return
        try:
            value = json.loads(text)
        except ValueError:
            report.refuse(number, "not a JSON object")
            continue
        if not isinstance(value, dict):
            report.refuse(number, "not a JSON object")
            continue
        unknown = sorted(set(value) - set(columns))
        if unknown:
            report.refuse(number, f"unknown field {unknown[0]!r}", unknown[0])
            continue
        yield number, {k: _text(v) for k, v in value.items()}


def _csv_rows(first: str, stream, columns, report: Report) -> Iterator[tuple[int, dict]]:
    reader = csv.reader(_chain(first, stream))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        return
    unknown = [name for name in header if name not in columns]
    if unknown:
        report.refuse(1, f"unknown column {unknown[0]!r}; the columns are {', '.join(columns)}")
        return
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if line > MAX_ROWS:
                report.refuse(line, f"a file may have at most {MAX_ROWS} rows")
                return
            if len(row) != len(header):
                report.refuse(line, f"{len(row)} cells where the header has {len(header)}")
                continue
            yield line, dict(zip(header, row, strict=True))
    except csv.Error as exc:
        report.refuse(reader.line_num, f"not CSV: {exc}")


def _chain(first: str, stream) -> Iterator[str]:
    yield first
    yield from stream


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return json.dumps(value)


def split_list(value: str | None) -> list[str]:
    """A list cell: items separated by `;`, `,` or spaces."""
    if not value:
        return []
    return [item for item in value.replace(";", " ").replace(",", " ").split() if item]
