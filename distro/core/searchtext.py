"""The one reading of text for search: what a document and a query are made of.

Text is compared folded (full-width ASCII twins to ASCII, then lower case), so `ＧＬ`,
`gl` and `GL` are one word. Words are runs of letters and digits of any script: Chinese
has no spaces, so `总账凭证过账失败` is one word, and any part of a word must be found
(`过账`). A document is indexed by its grams: every character, and every two adjacent
characters of a word. A query word of one character needs that character's gram, a
longer one all of its two-character grams; the database's index (SQLite FTS5, a
PostgreSQL GIN index) finds the candidates, and a substring check on the folded text
keeps exactly those that hold the word. Both databases therefore answer a query with the
same set: the grams and the check are computed the same way on both, here.

Two characters rather than the usual three (a trigram index): the Chinese words users
search for are mostly two characters long (`过账`, `凭证`), which a trigram index cannot
look up, and PostgreSQL's `pg_trgm` skips non-ASCII letters under the C locale.
"""

from __future__ import annotations

import re

from distro.core.parsers import fold_fullwidth

_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script


def fold(text: str) -> str:
    """Text as search compares it."""
    return fold_fullwidth(text).lower()


def words(text: str) -> list[str]:
    """The words of `text`, folded, in order, each once."""
    return list(dict.fromkeys(_WORD.findall(fold(text))))


def document_grams(text: str) -> list[str]:
    """The grams a document is indexed by, sorted."""
    grams: set[str] = set()
    for word in words(text):
        grams.update(word)
        grams.update(word[i : i + 2] for i in range(len(word) - 1))
    return sorted(grams)


def query_grams(word: str) -> list[str]:
    """The grams a document must have to hold the folded `word`."""
    if len(word) == 1:
        return [word]
    return sorted({word[i : i + 2] for i in range(len(word) - 1)})


def package_document(filename: str, notes: str, defects: list[dict], cves: list[str]) -> str:
    """A package's folded search text: file name, defect ids and titles, CVE ids and
    notes, one to a line, so that the words of one never join the words of another."""
    parts = [filename, *(f"{d['id']} {d['title']}" for d in defects), *cves, notes]
    return fold("\n".join(parts))
