"""Search: the packages a caller may download that match a query, best match first.

A query's defect id or CVE id (`PT-201301`, `CVE-2026-1234`) is looked up exactly; its
words are found anywhere in a package's notes, defect titles and file name, as parts of
words too (`distro.core.searchtext` says how, and why the same on both databases).
Results rank the packages that name the reference first, then those that hold every
word; newest first within each. Only what the caller may download is searched: for a
customer, the entitlement rule (a license of the product on that release line or a
newer one), for staff everything; yanked packages never.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    Integer,
    Select,
    Text,
    any_,
    bindparam,
    column,
    func,
    literal,
    select,
    table,
    text,
    true,
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
    """One page of matches and the cursor of the next page (None on the last).

    Two tiers, each newest first: the packages that name the query's reference, then the
    other packages that hold every word. Newest is the order of publication, kept by the
    search row's `doc` number: the gram index itself is kept in that order (FTS5 rowids),
    so a page of a common word is read from the index's end without sorting thousands of
    matches. A cursor is (tier, doc)."""
    tier, after = (1, None) if cursor is None else _decode(cursor)
    page: list[tuple[int, int, Package]] = []
    naming = _naming(query)
    if tier == 1 and naming is not None:
        stmt = listing(session, actor, query, words=False).where(Package.id.in_(naming))
        page += [(1, doc, p) for doc, p in _newest(session, stmt, after, limit + 1)]
        after = None
    if len(page) <= limit:
        stmt = listing(session, actor, query)
        if naming is not None:
            stmt = stmt.where(Package.id.not_in(naming))
        wanted, grams = limit + 1 - len(page), _gin_grams(session, query)
        page += [(0, doc, p) for doc, p in _newest(session, stmt, after, wanted, grams)]
    packages = [p for _tier, _doc, p in page[:limit]]
    if len(page) <= limit:
        return packages, None
    last_tier, last_doc, _last = page[limit - 1]
    return packages, encode_cursor([last_tier, last_doc])


_KEYS = [literal(0, Integer), PackageSearch.doc]


def _decode(cursor: str) -> tuple[int, int]:
    tier, doc = decode_cursor(cursor, _KEYS)
    if tier not in (0, 1):
        raise ValidationError(
            "cursor is not one this server handed out", code="invalid_cursor", field="cursor"
        )
    return tier, doc


def listing(session: Session, actor: Actor, query: Query, *, words: bool = True) -> Select:
    """(doc, Package) of what the caller may download within the query's filters, and
    with `words`, holding every word of the query: on SQLite the FTS5 table finds the
    candidates in doc order (on PostgreSQL `_newest` brings in the GIN index), and a
    substring check of the folded text keeps exactly those that hold the words."""
    stmt = select(PackageSearch.doc, Package).join(
        PackageSearch, PackageSearch.package_id == Package.id
    )
    if words and query.words:
        grams = _grams(query)
        if grams and session.get_bind().dialect.name != "postgresql":
            fts = table(FTS_TABLE, column("rowid", Integer))
            phrase = " ".join(f'"{gram}"' for gram in grams)  # grams hold no quotes
            stmt = (
                stmt.join(fts, fts.c.rowid == PackageSearch.doc)
                .where(text(f"{FTS_TABLE} MATCH :grams").bindparams(grams=phrase))
                .with_only_columns(fts.c.rowid, Package)  # so the order is the index's
            )
        stmt = stmt.where(*(PackageSearch.body.contains(w, autoescape=True) for w in query.words))
    return restrict(session, actor, query, stmt, by_product=PackageSearch.product_id)


# PostgreSQL reads a GIN index into a bitmap of every match and sorts them: quick for a
# rare word, slow for a common one, and its estimate of how many packages hold several
# grams is too low to tell which is which. So the newest WINDOW packages are read first
# and their text checked: a common word fills its page there. The matches found in the
# window also tell how far reading on would have to go; within SCAN_BUDGET packages it
# reads on, else the GIN index's matches come in: up to DENSE of them are looked up and
# sorted, above that reading on is the quicker way again (bench/search.py measured it).
WINDOW = 1000
SCAN_BUDGET = 5000
DENSE = 2000


def _gin_grams(session: Session, query: Query) -> list[str] | None:
    if not query.words or session.get_bind().dialect.name != "postgresql":
        return None
    return _grams(query) or None


def _gin_candidates(session: Session, grams: list[str], below: int):
    has_grams = PackageSearch.grams.op("@>")(bindparam("grams", grams, type_=ARRAY(Text)))
    ids = list(
        session.scalars(
            select(PackageSearch.doc).where(has_grams, PackageSearch.doc < below).limit(DENSE + 1)
        )
    )
    if len(ids) > DENSE:
        return true()
    # One array parameter, not an IN list of up to DENSE: binding and planning that many
    # parameters cost more than the lookup itself (half of a two-word search's time).
    return PackageSearch.doc == any_(bindparam("docs", ids, type_=ARRAY(Integer)))


def _newest(
    session: Session, stmt: Select, after: int | None, limit: int, grams: list[str] | None = None
):
    """Up to `limit` rows of `stmt` newest first, older than the doc `after`."""
    order = stmt.selected_columns[0]
    if after is not None:
        stmt = stmt.where(order < after)
    if not grams:
        return _run(session, stmt, limit)
    top = after if after is not None else (session.scalar(select(func.max(order))) or 0) + 1
    recent = _run(session, stmt.where(order >= top - WINDOW), limit)
    wanted = limit - len(recent)
    if not wanted:
        return recent
    older = stmt.where(order < top - WINDOW)
    if not recent or wanted * WINDOW / len(recent) > SCAN_BUDGET:
        older = older.where(_gin_candidates(session, grams, top - WINDOW))
    return recent + _run(session, older, wanted)


def _run(session: Session, stmt: Select, limit: int) -> list[tuple]:
    order = stmt.selected_columns[0]
    return [tuple(row) for row in session.execute(stmt.order_by(order.desc()).limit(limit))]


def _naming(query: Query):
    """Ids of the packages that name the query's defect id or CVE, or None."""
    if query.reference is None:
        return None
    return select(PackageReference.package_id).where(PackageReference.reference == query.reference)


def _grams(query: Query) -> list[str]:
    return sorted({gram for word in query.words for gram in query_grams(word)})


def restrict(
    session: Session, actor: Actor, query: Query, stmt: Select, by_product=Package.product_id
) -> Select:
    """`stmt` over packages: unyanked, entitled, within the query's filters (the product
    filter on `by_product`: a listing in doc order names the search row's column, whose
    index holds each product's packages in that order)."""
    stmt = only_entitled(session, stmt.where(Package.yanked.is_(False)), actor)
    if query.product:
        product, _line = product_for(session, actor, query.product)
        stmt = stmt.where(by_product == product.id)
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
