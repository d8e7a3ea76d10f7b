"""Search: the packages a caller may download that match a query, best match first.

A query's defect id or CVE id (`PT-201301`, `CVE-2026-1234`) is looked up exactly; its
words are found anywhere in a package's notes, defect titles and file name, as parts of
words too (`distro.core.searchtext` says how, and why the same on both databases).
Results rank exact references first, then packages whose file name or defects hold
every word, then the rest; newest first within each. Only what the caller may download
is searched: for a customer, the entitlement rule (a license of the product on that
release line or a newer one), for staff everything; yanked packages never.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    case,
    literal,
    select,
    text,
    true,
    tuple_,
    union,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from distro.accounts.actor import Actor
from distro.core.errors import ValidationError
from distro.core.pagination import decode_cursor, encode_cursor
from distro.core.parsers import (
    SEVERITIES,
    parse_cve,
    parse_defect_id,
    parse_severity,
    parse_text,
    parse_version,
)
from distro.core.searchtext import query_grams, words
from distro.core.versions import line_key, release_line, version_key
from distro.migrations.search import FTS_TABLE
from distro.patches.entitlement import only_entitled, product_for
from distro.patches.models import KINDS, Package, PackageReference, PackageSearch

MAX_QUERY = 200
MAX_WORDS = 12


@dataclass(frozen=True)
class Query:
    """A parsed search: its words, the exact reference it may be, and the filters."""

    words: tuple[str, ...] = ()
    reference: str | None = None
    product: str | None = None
    kind: str | None = None
    severity: str | None = None
    installed: str | None = None
    line: str | None = None  # a release line, `9.0`


def parse_query(
    q: object = None,
    *,
    product: object = None,
    kind: object = None,
    severity: object = None,
    installed: object = None,
    line: object = None,
) -> Query:
    """The query from request arguments or a form, or a 400 naming the field."""
    raw = parse_text(q, "q", MAX_QUERY)
    found = tuple(words(raw))
    if raw and not found:
        raise ValidationError("q must hold a letter or a digit", field="q")
    if len(found) > MAX_WORDS:
        raise ValidationError(f"q may hold at most {MAX_WORDS} words", field="q")
    if kind not in (None, "") and kind not in KINDS:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)}", field="kind")
    return Query(
        words=found,
        reference=_reference(raw),
        product=product or None,
        kind=kind or None,
        severity=parse_severity(severity) if severity not in (None, "") else None,
        installed=parse_version(installed, "installed") if installed not in (None, "") else None,
        line=release_line(parse_version(line, "line")) if line not in (None, "") else None,
    )


def _reference(raw: str) -> str | None:
    for parse in (parse_cve, parse_defect_id):
        try:
            return parse(raw, "q")
        except ValidationError:
            continue
    return None


def search(
    session: Session, actor: Actor, query: Query, limit: int, cursor: str | None = None
) -> tuple[list[Package], str | None]:
    """One page of matches and the cursor of the next page (None on the last)."""
    rank = _rank(query)
    stmt = restrict(session, actor, query, select(Package))
    if query.words:
        stmt = stmt.join(PackageSearch, PackageSearch.package_id == Package.id).where(
            Package.id.in_(_candidates(session, query))
        )
    keys = [rank, Package.published_at, Package.id]
    if cursor:
        stmt = stmt.where(tuple_(*keys) < tuple_(*decode_cursor(cursor, keys)))
    stmt = stmt.add_columns(rank).order_by(*(key.desc() for key in keys)).limit(limit + 1)
    rows = session.execute(stmt).all()
    page = [row[0] for row in rows[:limit]]
    if len(rows) <= limit:
        return page, None
    last, last_rank = rows[limit - 1]
    return page, encode_cursor([last_rank, last.published_at, last.id])


def restrict(session: Session, actor: Actor, query: Query, stmt: Select) -> Select:
    """`stmt` over packages: unyanked, entitled, within the query's filters."""
    stmt = only_entitled(stmt.where(Package.yanked.is_(False)), actor)
    if query.product:
        product, _line = product_for(session, actor, query.product)
        stmt = stmt.where(Package.product_id == product.id)
    if query.kind:
        stmt = stmt.where(Package.kind == query.kind)
    if query.severity:
        at_least = SEVERITIES[: SEVERITIES.index(query.severity) + 1]
        stmt = stmt.where(Package.severity.in_(at_least))
    if query.line:
        stmt = stmt.where(Package.line_key == line_key(query.line))
    if query.installed:
        # What could still be applied to that version: newer, on its release line.
        stmt = stmt.where(
            Package.line_key == line_key(query.installed),
            Package.version_key > version_key(query.installed),
            Package.kind != "installer",
        )
    return stmt


def _candidates(session: Session, query: Query):
    """Ids of the packages that hold every word, and of those that name the reference."""
    grams = sorted({gram for word in query.words for gram in query_grams(word)})
    holding = select(PackageSearch.package_id).where(
        _has_grams(session, grams),
        *(PackageSearch.body.contains(w, autoescape=True) for w in query.words),
    )
    if query.reference is None:
        return holding
    naming = select(PackageReference.package_id).where(
        PackageReference.reference == query.reference
    )
    return union(holding, naming)


def _has_grams(session: Session, grams: list[str]):
    """The index lookup: documents with every gram (FTS5 on SQLite, GIN on PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        return PackageSearch.grams.op("@>")(bindparam("grams", grams, type_=ARRAY(Text)))
    phrase = " ".join(f'"{gram}"' for gram in grams)  # grams hold no quotes
    matching = text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :grams").bindparams(
        grams=phrase
    )
    return PackageSearch.doc.in_(matching)


def _rank(query: Query):
    """2: names the reference; 1: every word in the file name or the defects; else 0."""
    if not query.words:
        return literal(0, Integer)
    whens = []
    if query.reference is not None:
        naming = select(PackageReference.package_id).where(
            PackageReference.reference == query.reference
        )
        whens.append((Package.id.in_(naming), 2))
    in_head = [PackageSearch.head.contains(w, autoescape=True) for w in query.words]
    whens.append((and_(true(), *in_head), 1))
    return case(*whens, else_=0).cast(Integer)


def release_lines(session: Session, actor: Actor, code: str) -> list[str]:
    """The release lines of a product the caller may download, newest first (`9.0`)."""
    product, line = product_for(session, actor, code)
    keys = session.scalars(
        select(Package.line_key)
        .where(Package.product_id == product.id, Package.line_key <= line)
        .distinct()
        .order_by(Package.line_key.desc())
    )
    return [".".join(str(int(part)) for part in key.split(".")[:2]) for key in keys]
