"""Values that must be ASCII — codes, versions, module lists, e-mail addresses — checked
in a database as it stands, for the migration that refuses to run over bad rows and for
`distro storage verify`.

Before the one-parser rule, `\\d` let other scripts' digits into versions (`٨.٠.١`), and
some of those values are signed (manifests, license files), so they are reported for a
person to fix (yank and republish, or reissue), never rewritten silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, column, inspect, select, table

from distro.core.errors import DistroError

# table -> its key column, then the columns that must hold ASCII only
ASCII_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "products": ("id", ("code",)),
    "organisations": ("id", ("code",)),
    "users": ("id", ("email",)),
    "packages": ("id", ("version", "applies_to")),
    "licenses": ("id", ("version", "modules")),
    "license_requests": ("id", ("target_version",)),
    # Tables of later revisions: checked where they exist (migration 0002 runs before).
    "invitations": ("id", ("email",)),
    "installations": ("id", ("name", "ring", "version")),
    "ring_approvals": ("org_id", ("ring", "version")),
}

JSON_COLUMNS = frozenset({"modules"})


@dataclass(frozen=True)
class NonAsciiValue:
    table: str
    column: str
    row_id: str
    value: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column} of {self.row_id}: {self.value!r}"


class NonAsciiData(DistroError):
    code = "non_ascii_data"
    status = 500


def _as_text(column_name: str, value: object) -> str | None:
    if column_name in JSON_COLUMNS and value is not None:
        # SQLite hands back the JSON text with `\uXXXX` escapes, PostgreSQL the list.
        loaded = json.loads(value) if isinstance(value, str) else value
        return json.dumps(loaded, ensure_ascii=False)
    return value if value is None else str(value)


def non_ascii_values(connection: Connection) -> list[NonAsciiValue]:
    """Every stored value in `ASCII_COLUMNS` that is not plain ASCII."""
    found = []
    present = set(inspect(connection).get_table_names())
    for name, (key, columns) in ASCII_COLUMNS.items():
        if name not in present:
            continue
        query = select(*(column(c) for c in (key, *columns))).select_from(table(name))
        for row in connection.execute(query):
            for column_name, value in zip(columns, row[1:], strict=True):
                text = _as_text(column_name, value)
                if text is not None and not text.isascii():
                    found.append(NonAsciiValue(name, column_name, str(row[0]), text))
    return found


def refuse_non_ascii(connection: Connection) -> None:
    """Stop a migration while any such value exists, naming the first ten."""
    found = non_ascii_values(connection)
    if found:
        listed = "; ".join(str(item) for item in found[:10])
        more = f" (and {len(found) - 10} more)" if len(found) > 10 else ""
        raise NonAsciiData(
            f"{len(found)} stored codes or versions are not ASCII: {listed}{more}. "
            "They may be signed, so they are not rewritten: yank and republish those "
            "packages, reissue those licenses or correct the codes, then run the upgrade again"
        )
