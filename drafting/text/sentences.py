"""German-aware sentence segmentation of section texts: the units of the three-way merge.

:func:`segment` cuts a Markdown section text into :class:`Unit` s that join back to the text
exactly. A unit is one sentence, or one table cell, with the whitespace and block markup
before it (the space after the previous sentence, a paragraph break, the ``- `` of a list
item, the ``|`` before a cell); whitespace at the very end belongs to the last unit.

Where a sentence ends is decided by rules written for German texts of the alliance, not by
a general library: pysbd and syntok both failed the corpus in ``tests/unit/test_sentences.py``
(pysbd cut "Abs. 3" and inside URLs, syntok cut "5. Dezember" and "3. Abschnitt"), and pysbd
needs over 100 ms for 20 KB (see ``bench/README.md``). The rules:

- a sentence ends at ``.``, ``!``, ``?`` or ``…`` (with closing quotes or brackets after
  them) followed by whitespace and a character that can start a sentence (not a lower-case
  letter);
- not after a known abbreviation ("z. B.", "bzw.", "Nr.", "Abs.", "S.", "ca.", "vgl." …),
  a capital letter ("B.", "S.", initials: so "Teil B." does not end a sentence either), a
  small letter of a short form ("z.", "u. a.", "d. h.") or dotted short forms ("z.B.", "d.h.");
- not after a number of one or two digits ("1.", "5. Dezember", "3. Abschnitt": ordinals
  and dates) nor before a month name ("2026. Dezember" stays together too); years and
  amounts ("bis 2027. Danach") do end a sentence;
- decimals ("3.5"), URLs and e-mail addresses have no whitespace after their dots and so
  never end a sentence inside;
- every line break ends a unit (list items, headings, hard breaks), list markers ("- ",
  "1. "), heading marks and quote marks are markup, not sentence text; every table cell is
  a unit of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SENTENCE = "sentence"
CELL = "cell"
MARKUP = "markup"

ABBREVIATIONS = frozenset(
    """
    abb abs abschn allg anh anm art aufl bd bes beschl betr bspw bzgl bzw ca chr dgl dr ebd
    einschl etc evtl exkl gem ggf gr hg hrsg inkl insb jh jhd kap kfz lfd lit lt max mind min
    mio mrd mrz nr nrn o.ä od orig pkt prof rd reg sog spkt st std str tab tel tsd u.a u.ä
    usw vgl vs z.b z.t zit ziff zzgl jan feb apr jun jul aug sep sept okt nov dez mo di mi
    do fr sa so bsp ref gez anl bl fa fam hr hrn frl nachf zb
    """.split()
)
MONTHS = frozenset(
    "januar februar märz april mai juni juli august september oktober november dezember "
    "jänner january february march june july october december".split()
)

# A candidate end: terminators, then closing quotes or brackets, then whitespace.
_END_RE = re.compile(r"([.!?…]+)([\"'“”„»«’)\]]*)([ \t\u00a0]+)(?=\S)")
_WORD_BEFORE_RE = re.compile(r"(\S+)$")
_NEXT_WORD_RE = re.compile(r"[\"'“”„»«(\[]*(\w+)")
_MARKER_RE = re.compile(r"[ \t]*(?:#{1,6}[ \t]+|>[ \t]?|(?:[-*+]|\d{1,3}[.)])[ \t]+)*")
_TABLE_RE = re.compile(r"^[ \t]*\|")
_DOTTED_SHORT_RE = re.compile(r"^(?:\w{1,2}\.)+\w{0,2}$")
_SHORT_LETTERS = frozenset("zudovis")
_SHORT_BEFORE_RE = re.compile(r"(?:^|\s)\w\.\s+$")
_DELIMITER_ROW_RE = re.compile(r"^[ \t|:\-]+$")


@dataclass(frozen=True)
class Unit:
    """One sentence or table cell with the separator after it, or markup alone."""

    text: str
    kind: str  # SENTENCE, CELL or MARKUP
    start: int  # offset in the segmented text
    lead: int = 0  # length of the whitespace and markup the unit starts with

    @property
    def content(self) -> str:
        """The unit without surrounding whitespace and markup."""
        text = self.text[self.lead :].strip()
        return text.rstrip("|").rstrip() if self.kind == CELL else text


def _single_letter_short(line: str, end: int, word: str) -> bool:
    """Tell whether a one-letter word before a dot is a short form ("z. B.", "u. a.", "S.")."""
    if len(word) != 1 or not word.isalpha():
        return False
    if word.isupper() or word in _SHORT_LETTERS:
        return True
    # the second letter of "u. a.", "d. h.", "z. T.": a one-letter short form before it
    return bool(_SHORT_BEFORE_RE.search(line, 0, end - 1))


def _is_boundary(line: str, match: re.Match[str]) -> bool:
    terminators = match.group(1)
    after = line[match.end() :]
    following = _NEXT_WORD_RE.match(after)
    next_char = after[:1]
    if next_char.islower():
        return False
    if "." not in terminators or terminators.endswith(("!", "?", "…", "..")):
        return True
    before = _WORD_BEFORE_RE.search(line, 0, match.start())
    word = before.group(1) if before else ""
    word = word.lstrip("\"'“”„»«([")
    key = word.lower()
    if not word:
        return True
    if key in ABBREVIATIONS or _single_letter_short(line, match.start(), word):
        return False
    if "." in word and _DOTTED_SHORT_RE.match(word) and not word.replace(".", "").isdigit():
        return False
    next_word = following.group(1).lower() if following else ""
    if word.isdigit():
        if len(word) <= 2 or next_word in MONTHS:
            return False
    return True


class _Builder:
    """Collect units; separators wait for the next unit and become its start."""

    def __init__(self) -> None:
        self.units: list[Unit] = []
        self.pending = ""
        self.pending_start = 0
        self.pieces: list[Unit] = []

    def separator(self, text: str, start: int) -> None:
        if not self.pending:
            self.pending_start = start
        self.pending += text

    def content(self, text: str, kind: str, start: int) -> None:
        if self.pending:
            self.pieces.append(Unit(self.pending, MARKUP, self.pending_start, len(self.pending)))
        self.pieces.append(Unit(text, kind, start))
        lead = len(self.pending)
        if self.pending:
            text, start = self.pending + text, self.pending_start
            self.pending = ""
        self.units.append(Unit(text, kind, start, lead))

    def finish(self) -> list[Unit]:
        if self.pending:
            self.pieces.append(Unit(self.pending, MARKUP, self.pending_start, len(self.pending)))
            if self.units:
                last = self.units[-1]
                self.units[-1] = Unit(last.text + self.pending, last.kind, last.start, last.lead)
            else:
                self.units.append(Unit(self.pending, MARKUP, self.pending_start, len(self.pending)))
        return self.units


def _sentences(line: str, offset: int, out: _Builder) -> None:
    """Cut one line (without markup before it) into sentence units."""
    start = 0
    for match in _END_RE.finditer(line):
        if _is_boundary(line, match):
            end = match.start(3)
            out.content(line[start:end], SENTENCE, offset + start)
            out.separator(match.group(3), offset + end)
            start = match.end()
    if start < len(line):
        out.content(line[start:], SENTENCE, offset + start)


def _cells(line: str, offset: int, out: _Builder) -> None:
    """Cut one table row into cell units, each starting with the ``|`` before it."""
    if _DELIMITER_ROW_RE.match(line):
        out.separator(line, offset)
        return
    position = 0
    for index, piece in enumerate(line.split("|")):
        if index:
            out.separator("|", offset + position)
            position += 1
        if piece.strip() and index:
            out.content(piece, CELL, offset + position)
        elif piece:
            out.separator(piece, offset + position)
        position += len(piece)


def pieces(text: str) -> list[Unit]:
    """Cut a text into sentences and cells and, as units of their own, the markup between them.

    Unlike :func:`segment`, whitespace and markup are never part of a sentence: the merge
    diffs these pieces, so that deleting the first sentence of a paragraph (and the space
    after it) does not count as a change of the second.
    """
    out = _Builder()
    _run(text, out)
    out.finish()
    return out.pieces


def segment(text: str) -> list[Unit]:
    """Cut a section text into units (sentences, cells, markup) that join back to it.

    Whitespace and markup between two units start the second one ("- ", "\\n\\n", "| "),
    so that a sentence added at the end of a paragraph or list item leaves the one before it
    untouched; after the last unit they end it.
    """
    out = _Builder()
    _run(text, out)
    return out.finish()


def _run(text: str, out: _Builder) -> None:
    position = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        if _TABLE_RE.match(body):
            _cells(body, position, out)
        else:
            marker = _MARKER_RE.match(body)
            markup_end = marker.end() if marker else 0
            if body[markup_end:].strip() == "":
                markup_end = len(body)  # a blank or markup-only line
            if markup_end:
                out.separator(body[:markup_end], position)
            if markup_end < len(body):
                _sentences(body[markup_end:], position + markup_end, out)
        if ending:
            out.separator(ending, position + len(body))
        position += len(line)


def sentences(text: str) -> list[str]:
    """List the sentences and cells of a text, stripped of whitespace and markup."""
    return [unit.content for unit in segment(text) if unit.kind != MARKUP and unit.content]
