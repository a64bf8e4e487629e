"""Text side of the full-text search: tokens, German stems, query parsing, snippets.

Both database backends index the *same* Python-made stems (Snowball German through
PyStemmer), so SQLite's FTS5 and PostgreSQL's tsvector find exactly the same rows.
Folding: lower case, umlauts and ß as the Snowball German stemmer folds them
(``Straße`` and ``strasse`` → ``strass``, ``Innenstädten`` → ``innenstadt``), and any
other accent stripped (``Café`` → ``cafe``).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

# Letters and digits only: no underscore, so FTS5's unicode61 tokenizer and PostgreSQL's
# parser both see each stem as exactly one token.
_TOKEN = re.compile(r"[^\W_]+")
_QUERY_PART = re.compile(r'"([^"]*)"?|(\S+)')
_BLOCK_TAG = re.compile(
    r"</?(?:p|h[1-6]|li|ul|ol|tr|td|th|table|thead|tbody|blockquote|pre|br|div|hr)\b[^>]*>", re.I
)
_ANY_TAG = re.compile(r"<[^>]+>")
MAX_TERMS = 12
_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("german")


_GERMAN = frozenset("äöüß")
_PLAIN_GERMAN = re.compile(r"[a-z0-9äöüß]+")


def _strip_accents(word: str) -> str:
    """Drop accents except the German umlauts and ß (the stemmer folds those itself)."""
    if word.isascii() or _PLAIN_GERMAN.fullmatch(word):
        return word
    out = []
    for ch in word:
        if ch in _GERMAN:
            out.append(ch)
        else:
            decomposed = unicodedata.normalize("NFKD", ch)
            out.append("".join(c for c in decomposed if not unicodedata.combining(c)))
    return "".join(out)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Return the folded German stem of one word (``Leerstände`` → ``leerstand``)."""
    lowered = _strip_accents(unicodedata.normalize("NFKC", word).lower())
    # The stemmer folds umlauts and ß after it has used them to find the suffixes.
    stemmed = _stemmer().stemWord(lowered)
    folded = stemmed.translate(_FOLD)
    return "".join(_TOKEN.findall(folded)) or folded


def words(text: str) -> list[str]:
    """Split a text into its words."""
    return _TOKEN.findall(text)


def terms(text: str) -> str:
    """Return the indexed form of a text: its stems, separated by single spaces."""
    return " ".join(map(stem, _TOKEN.findall(text)))


_BACKLINK = re.compile(r'<a [^>]*class="footnote-backref"[^>]*>[^<]*</a>')


def plain_text(body_html: str) -> str:
    """Turn rendered section HTML into plain text for snippets."""
    text = body_html
    if "footnote-backref" in text:
        text = _BACKLINK.sub("", text)  # a footnote's back-link arrow is no text
    text = _BLOCK_TAG.sub(" ", text)
    text = _ANY_TAG.sub("", text)
    # str.split() breaks at exactly the characters of \s, several times faster than a regex.
    return " ".join(html.unescape(text).split())


@dataclass(frozen=True)
class Term:
    """One part of a query: a word, a phrase (several stems in a row) or a prefix."""

    stems: tuple[str, ...]
    prefix: bool = False


def parse_query(query: str) -> list[Term]:
    """Parse a user's query: words, ``"phrases in quotes"`` and prefixes (``Zwischen*``).

    Every part must match (AND). Punctuation is ignored, so no input is a syntax error.
    """
    found: list[Term] = []
    for match in _QUERY_PART.finditer(query or ""):
        phrase, word = match.group(1), match.group(2)
        if phrase is not None:
            stems = tuple(stem(w) for w in words(phrase))
            if stems:
                found.append(Term(stems))
            continue
        prefix = word.endswith("*")
        stems = tuple(stem(w) for w in words(word))
        if stems:
            found.append(Term(stems, prefix=prefix and len(stems) == 1))
    unique = list(dict.fromkeys(found))
    return unique[:MAX_TERMS]


def fts5_expression(parsed: list[Term]) -> str:
    """Return the FTS5 MATCH expression of a parsed query (stems are alphanumeric)."""
    parts = []
    for term in parsed:
        quoted = '"' + " ".join(term.stems) + '"'
        parts.append(quoted + "*" if term.prefix else quoted)
    return " AND ".join(parts)


def tsquery_expression(parsed: list[Term]) -> str:
    """Return the PostgreSQL tsquery text of a parsed query (for the 'simple' configuration)."""
    parts = []
    for term in parsed:
        if term.prefix:
            parts.append(f"{term.stems[0]}:*")
        elif len(term.stems) == 1:
            parts.append(term.stems[0])
        else:
            parts.append("(" + " <-> ".join(term.stems) + ")")
    return " & ".join(parts)


def _matches(term: Term, stems: list[str], index: int) -> int:
    """Return how many words from ``index`` on a term covers (0: none)."""
    n = len(term.stems)
    if term.prefix:
        return 1 if stems[index].startswith(term.stems[0]) else 0
    if tuple(stems[index : index + n]) == term.stems:
        return n
    return 0


@dataclass(frozen=True)
class Snippet:
    """A short excerpt around the first match, escaped, with the matches in <mark>."""

    html: str
    matched: tuple[str, ...]


def snippet(text: str, parsed: list[Term], width: int = 30) -> Snippet:
    """Cut an excerpt of about ``width`` words around the first match and mark the matches."""
    spans = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
    stems = [stem(text[a:b]) for a, b in spans]
    marked: list[tuple[int, int]] = []  # word index ranges [i, j)
    i = 0
    while i < len(stems):
        covered = max((_matches(t, stems, i) for t in parsed), default=0)
        if covered:
            marked.append((i, i + covered))
            i += covered
        else:
            i += 1
    if not spans:
        return Snippet("", ())
    first = marked[0][0] if marked else 0
    start_word = max(0, first - width // 3)
    end_word = min(len(spans), start_word + width)
    start_char = 0 if start_word == 0 else spans[start_word][0]
    end_char = len(text) if end_word == len(spans) else spans[end_word - 1][1]
    out: list[str] = ["… " if start_char > 0 else ""]
    pos = start_char
    matched: list[str] = []
    for a, b in marked:
        if a < start_word or b > end_word:
            continue
        ca, cb = spans[a][0], spans[b - 1][1]
        out.append(html.escape(text[pos:ca]))
        out.append("<mark>" + html.escape(text[ca:cb]) + "</mark>")
        matched.append(text[ca:cb])
        pos = cb
    out.append(html.escape(text[pos:end_char]))
    if end_char < len(text):
        out.append(" …")
    return Snippet("".join(out), tuple(dict.fromkeys(matched)))
