"""The parts of the package search index that differ by database, created by migration
0009 and left out of the model comparison (`include_object`).

SQLite: an FTS5 table over `package_search.grams` (external content, kept in step by
triggers), tokenised by FTS5's `ascii` tokenizer: grams are separated by spaces and hold
no ASCII punctuation, so each gram is one token, Chinese ones included. PostgreSQL: a GIN
index over the `grams` text array, which `@>` reads.
"""

from __future__ import annotations

from sqlalchemy import Connection, column, table, text

from distro.core.searchtext import document_grams, package_document

FTS_TABLE = "package_search_fts"
GIN_INDEX = "ix_package_search_grams"

_SQLITE = [
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(grams, content='package_search', "
    "content_rowid='doc', tokenize='ascii')",
    f"CREATE TRIGGER package_search_ai AFTER INSERT ON package_search BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, grams) VALUES (new.doc, new.grams); END",
    f"CREATE TRIGGER package_search_ad AFTER DELETE ON package_search BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, grams) VALUES ('delete', old.doc, old.grams); "
    "END",
    f"CREATE TRIGGER package_search_au AFTER UPDATE ON package_search BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, grams) VALUES ('delete', old.doc, old.grams); "
    f"INSERT INTO {FTS_TABLE}(rowid, grams) VALUES (new.doc, new.grams); END",
]


def create_search_index(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"CREATE INDEX {GIN_INDEX} ON package_search USING gin (grams)"))
        return
    for statement in _SQLITE:
        connection.execute(text(statement))


def drop_search_index(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"DROP INDEX IF EXISTS {GIN_INDEX}"))
        return
    for trigger in ("package_search_ai", "package_search_ad", "package_search_au"):
        connection.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
    connection.execute(text(f"DROP TABLE IF EXISTS {FTS_TABLE}"))


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """What the model comparison looks at: not the database-specific index parts."""
    if type_ == "table" and name and name.startswith(FTS_TABLE):
        return False
    return not (type_ == "index" and name == GIN_INDEX)


def index_existing(connection: Connection) -> None:
    """Index the packages published before this revision (they have no details yet), in
    order of publication: search shows the newest first by this order (`doc`)."""
    from distro.patches.models import GramList  # the column's type, which differs by database

    search_rows = table(
        "package_search",
        column("package_id"),
        column("product_id"),
        column("body"),
        column("grams", GramList()),
    )
    rows = connection.execute(
        text("SELECT id, product_id, filename, notes FROM packages ORDER BY published_at, id")
    ).all()
    documents = []
    for package_id, product_id, filename, notes in rows:
        body = package_document(filename, notes or "", [], [])
        documents.append(
            {
                "package_id": package_id,
                "product_id": product_id,
                "body": body,
                "grams": document_grams(body),
            }
        )
    if documents:
        connection.execute(search_rows.insert(), documents)
