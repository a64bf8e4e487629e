"""Attribute the difference between two texts to the versions that made each change.

Walking the versions from the old text to the new one, every word keeps the version that
inserted it, and every word of the old text that disappears keeps the version that deleted
it. The result is a sequence of equal, inserted and deleted pieces, each with its author and
date, ready to become Word tracked changes.
"""

from __future__ import annotations

import copy
import functools
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from difflib import SequenceMatcher
from typing import Any, NamedTuple, cast

import fast_diff_match_patch
from lxml import etree

from drafting.text.textdiff import tokenize
from exports.data import Change

EQUAL, INSERT, DELETE = 0, 1, -1


@dataclass(frozen=True)
class Piece:
    """A run of text that is unchanged, inserted or deleted, with who changed it."""

    op: int
    text: str
    change: Change | None = None


class _Codes(dict[str, str]):
    """Token → stand-in character; a token not seen before gets the next one."""

    _FIRST = 0xF0000  # a private-use plane: 65 534 stand-ins

    def __missing__(self, token: str) -> str:
        if len(self) >= 0xFFFE:
            raise ValueError("too many distinct tokens")
        code = self[token] = chr(self._FIRST + len(self))
        return code


class _Codec:
    """Stand-in characters for tokens, so that a character diff is a token diff."""

    def __init__(self) -> None:
        self.codes = _Codes()
        self.full = False

    def encode(self, tokens: Sequence[str]) -> str:
        if self.full:
            return ""
        try:
            # map() over the dict's own lookup: no Python call per known token.
            return "".join(map(self.codes.__getitem__, tokens))
        except ValueError:
            self.full = True
            return ""


def _encoded_opcodes(
    left: str, right: str, a: Sequence[str], b: Sequence[str]
) -> Sequence[tuple[str, int, int, int, int]]:
    """Return difflib-style opcodes from diff-match-patch's C++ port on encoded tokens.

    (difflib's matcher took five times the plain export for a 60-section redline.) Without
    codes (too many distinct tokens) difflib does it.
    """
    if (not left and a) or (not right and b):
        return SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    out: list[tuple[str, int, int, int, int]] = []
    i = j = 0
    pairs = fast_diff_match_patch.diff(
        left, right, counts_only=True, cleanup="No", checklines=False, timelimit=0
    )
    for op, count in pairs:
        if op == "=":
            out.append(("equal", i, i + count, j, j + count))
            i, j = i + count, j + count
        elif op == "-":
            out.append(("delete", i, i + count, j, j))
            i += count
        else:
            out.append(("insert", i, i, j, j + count))
            j += count
    return out


def _opcodes(a: Sequence[str], b: Sequence[str]) -> Sequence[tuple[str, int, int, int, int]]:
    """Diff two token lists into difflib-style opcodes."""
    codec = _Codec()
    return _encoded_opcodes(codec.encode(a), codec.encode(b), a, b)


def blame(
    old: str,
    new: str,
    history: Sequence[Change],
    text_of: Callable[[Change], str] = lambda c: c.body,
) -> list[Piece]:
    """Return the pieces that turn ``old`` into ``new``, attributed through ``history``.

    ``history`` lists the versions after ``old`` up to ``new`` (oldest first); ``text_of``
    picks the compared text of a change (body by default). When the last change's text is not
    ``new`` (or there is no history), the remainder is attributed to the last change.
    """
    old_tokens = tokenize(old)
    codec = _Codec()
    encoded = codec.encode(old_tokens)
    # Each current token's origin: its index in the old text, or the change that inserted it.
    origins: list[int | Change] = list(range(len(old_tokens)))
    tokens: list[str] = old_tokens
    deleted_by: dict[int, Change | None] = {}
    steps = list(history)
    texts = [text_of(c) for c in steps]
    if not steps or texts[-1] != new:
        steps.append(
            steps[-1] if steps else Change(0, "", datetime(1970, 1, 1, tzinfo=UTC), "", new)
        )
        texts.append(new)
    previous = old
    for change, text in zip(steps, texts, strict=True):
        if text == previous:
            continue  # a version that changed only the title, say
        previous = text
        target = tokenize(text)
        target_encoded = codec.encode(target)
        updated: list[int | Change] = []
        for tag, i1, i2, _j1, j2 in _encoded_opcodes(encoded, target_encoded, tokens, target):
            if tag == "equal":
                updated.extend(origins[i1:i2])
                continue
            for origin in origins[i1:i2]:
                if isinstance(origin, int):
                    deleted_by[origin] = change
            updated.extend([change] * (j2 - _j1))
        origins, tokens, encoded = updated, target, target_encoded
    # Walk the new text's tokens, putting each old token that was deleted before the next
    # kept one, and join neighbouring tokens of the same operation by the same change into
    # pieces. (Changes are compared by identity: their texts are long, and equal ones are one.)
    # Kept and inserted tokens come in runs, taken a run at a time.
    pieces = _PieceWriter()
    next_old = 0

    def deleted_before(upto: int) -> None:
        for k in range(next_old, upto):
            if k in deleted_by:
                pieces.add(DELETE, deleted_by[k], old_tokens[k : k + 1])

    at = 0
    for kind, run in itertools.groupby(origins, key=type):
        end = at + len(list(run))
        if kind is int:
            first = cast(int, origins[at])
            if origins[at:end] == list(range(first, first + end - at)):
                deleted_before(first)
                pieces.add(EQUAL, None, tokens[at:end])
                next_old = first + end - at
            else:  # old tokens deleted inside the run: token by token
                for index in range(at, end):
                    kept = cast(int, origins[index])
                    deleted_before(kept)
                    pieces.add(EQUAL, None, tokens[index : index + 1])
                    next_old = kept + 1
        else:
            start = at
            for _ident, same in itertools.groupby(origins[at:end], key=id):
                stop = start + len(list(same))
                pieces.add(INSERT, cast(Change, origins[start]), tokens[start:stop])
                start = stop
        at = end
    deleted_before(len(old_tokens))
    return pieces.done()


class _PieceWriter:
    """Collect tokens into pieces, joining neighbours of the same operation and change."""

    def __init__(self) -> None:
        self.pieces: list[Piece] = []
        self.texts: list[str] = []
        self.op: int | None = None
        self.change: Change | None = None

    def add(self, op: int, change: Change | None, tokens: Sequence[str]) -> None:
        if op != self.op or change is not self.change:
            self._flush()
            self.op, self.change = op, change
        self.texts.extend(tokens)

    def _flush(self) -> None:
        if self.op is not None:
            self.pieces.append(Piece(self.op, "".join(self.texts), self.change))
            self.texts = []

    def done(self) -> list[Piece]:
        self._flush()
        return self.pieces


# -- structural redline ----------------------------------------------------------------------
#
# Both texts are rendered to WordprocessingML blocks first (paragraphs and tables, with their
# styles, list numbering and run formatting); the blocks are aligned, and only inside paired
# paragraphs, table rows and cells do the words differ. So a changed section keeps its tables,
# lists, headings, quotes, emphasis and links, and the tracked changes sit inside them.


# A run's formatting: its serialised w:rPr (b"" for none) and its hyperlink's relationship id.
Prop = tuple[bytes, str | None]


class Attribution:
    """Tell who made an inserted or deleted token, from the blame of the plain texts."""

    _WINDOW = 400

    def __init__(self, pieces: Sequence[Piece], fallback: Change | None) -> None:
        self.fallback = fallback
        self._tokens: dict[int, list[tuple[str, Change | None]]] = {INSERT: [], DELETE: []}
        for piece in pieces:
            if piece.op != EQUAL:
                self._tokens[piece.op].extend((tok, piece.change) for tok in tokenize(piece.text))
        self._at = {INSERT: 0, DELETE: 0}

    def who(self, op: int, token: str) -> Change | None:
        """Return the change that inserted (``op`` INSERT) or deleted ``token``."""
        tokens, start = self._tokens[op], self._at[op]
        for index in range(start, min(len(tokens), start + self._WINDOW)):
            if tokens[index][0] == token:
                self._at[op] = index + 1
                return tokens[index][1]
        return self.fallback


def atoms(p: Any) -> tuple[list[str], list[Prop]]:
    """Cut a rendered paragraph into tokens ("\n" for a line break) and their formatting."""
    texts: list[str] = []
    props: list[Prop] = []
    for child in p:
        if child.tag == _w("r"):
            _run_atoms(child, None, texts, props)
        elif child.tag == _w("hyperlink"):
            link = child.get(f"{{{_R}}}id")
            for r in child.iter(_w("r")):
                _run_atoms(r, link, texts, props)
    return texts, props


def _run_atoms(r: Any, link: str | None, texts: list[str], props: list[Prop]) -> None:
    rpr = r.find(_w("rPr"))
    prop: Prop = (etree.tostring(rpr) if rpr is not None else b"", link)
    for child in r:
        if child.tag == _w("t"):
            tokens = _tokens(child.text or "")
            texts.extend(tokens)
            props.extend([prop] * len(tokens))
        elif child.tag == _w("br"):
            texts.append("\n")
            props.append(prop)
        elif child.tag in _OBJECTS:
            texts.append(_object_token(child))
            props.append(prop)


@functools.lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[str, ...]:
    """Tokenise a run's text (old and new paragraphs share most of their runs' texts)."""
    return tuple(tokenize(text))


# Run content that is no text but must survive a tracked change: footnote references,
# pictures and field characters (the caption numbers). Each becomes one token holding its
# XML, so that equal objects compare equal and are written back as they were.
OBJECT = "\ufffc"
_OBJECT_START = OBJECT + "<"
_OBJECTS = frozenset(
    {
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}" + tag
        for tag in ("footnoteReference", "drawing", "fldChar", "instrText")
    }
)
# Drawing ids are unique per render, not part of what a picture is.
_DRAWING_IDS = re.compile(rb'(<(?:wp:docPr|pic:cNvPr)) id="\d+"')
_drawing_ids = itertools.count(500_000)


def _object_token(child: Any) -> str:
    raw = etree.tostring(child)
    if child.tag == _w("drawing"):
        raw = _DRAWING_IDS.sub(rb"\1", raw)
    return OBJECT + raw.decode("utf-8")


def _object(token: str, *, deleted: bool) -> Any:
    """Return the element an object token stands for (None for text that only looks so)."""
    try:
        el = etree.fromstring(token[1:].encode("utf-8"))
    except etree.XMLSyntaxError:
        return None
    if el.tag not in _OBJECTS:
        return None
    if el.tag == _w("instrText") and deleted:
        el.tag = _w("delInstrText")
    if el.tag == _w("drawing"):
        ident = str(next(_drawing_ids))
        for tag in ("docPr", "cNvPr"):
            for found in el.iter(f"{{*}}{tag}"):
                found.set("id", ident)
    return el


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
# Per-render list ids and content-dependent column widths do not make two blocks differ.
_VOLATILE = re.compile(rb'<w:numId w:val="\d+"/>|<w:(?:tcW|gridCol) [^>]*/>')


@functools.cache
def _w(tag: str) -> str:
    return f"{{{_W}}}{tag}"


class Group(NamedTuple):
    """Neighbouring tokens written as one run: operation, who, formatting, earlier formatting."""

    op: int
    change: Change | None
    prop: Prop
    old_rpr: bytes | None  # set for a format-only change
    texts: list[str]


def _add(
    groups: list[Group], op: int, change: Change | None, prop: Prop, old: bytes | None, text: str
) -> None:
    if groups:
        last = groups[-1]
        if last.op == op and last.change is change and last.prop == prop and last.old_rpr == old:
            last.texts.append(text)
            return
    groups.append(Group(op, change, prop, old, [text]))


Revise = Callable[[Any, Change | None], None]  # stamps w:id, w:author, w:date


class BlockDiff:
    """Turn old and new rendered blocks of one section into blocks with tracked changes."""

    def __init__(self, attribution: Attribution, revise: Revise) -> None:
        self.who = attribution
        self.revise = revise

    # -- alignment ------------------------------------------------------------------------

    def blocks(self, old: Sequence[Any], new: Sequence[Any]) -> list[Any]:
        """Return the merged block list (new blocks kept, old ones deleted, changes marked)."""
        out: list[Any] = []
        matcher = SequenceMatcher(None, [_sig(b) for b in old], [_sig(b) for b in new], False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                out.extend(new[j1:j2])
                continue
            olds, news = old[i1:i2], new[j1:j2]
            kinds = SequenceMatcher(None, [_kind(b) for b in olds], [_kind(b) for b in news], False)
            for ktag, k1, k2, l1, l2 in kinds.get_opcodes():
                if ktag == "equal":
                    for o, n in zip(olds[k1:k2], news[l1:l2], strict=True):
                        out.append(self.pair(o, n))
                    continue
                out.extend(self.deleted(b) for b in olds[k1:k2])
                out.extend(self.inserted(b) for b in news[l1:l2])
        return out

    def pair(self, old: Any, new: Any) -> Any:
        """Return ``new`` with the differences from ``old`` tracked."""
        if new.tag == _w("tbl"):
            return self._table(old, new)
        return self._paragraph(new, self._marks(atoms(old), atoms(new)))

    def inserted(self, block: Any) -> Any:
        """Return a block inserted whole."""
        if block.tag == _w("tbl"):
            for row in block.findall(_w("tr")):
                self._row(row, INSERT)
            return block
        marks = self._whole(INSERT, atoms(block))
        p = self._paragraph(block, marks)
        self._mark_paragraph(p, INSERT, marks)
        return p

    def deleted(self, block: Any) -> Any:
        """Return a block deleted whole (kept at its place as deleted text)."""
        if block.tag == _w("tbl"):
            for row in block.findall(_w("tr")):
                self._row(row, DELETE)
            return block
        marks = self._whole(DELETE, atoms(block))
        p = self._paragraph(block, marks)
        self._mark_paragraph(p, DELETE, marks)
        return p

    # -- tables ---------------------------------------------------------------------------

    def _table(self, old: Any, new: Any) -> Any:
        old_rows, new_rows = old.findall(_w("tr")), new.findall(_w("tr"))
        for row in new_rows:
            new.remove(row)
        matcher = SequenceMatcher(
            None, [_sig(r) for r in old_rows], [_sig(r) for r in new_rows], False
        )
        rows: list[Any] = []
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                rows.extend(new_rows[j1:j2])
                continue
            olds, news = old_rows[i1:i2], new_rows[j1:j2]
            paired = min(len(olds), len(news))
            for o, n in zip(olds[:paired], news[:paired], strict=True):
                rows.append(self._paired_row(o, n))
            for o in olds[paired:]:
                rows.append(self._row(o, DELETE))
            for n in news[paired:]:
                rows.append(self._row(n, INSERT))
        new.extend(rows)
        return new

    def _paired_row(self, old: Any, new: Any) -> Any:
        old_cells, new_cells = old.findall(_w("tc")), new.findall(_w("tc"))
        if len(old_cells) != len(new_cells):
            return new
        for oc, nc in zip(old_cells, new_cells, strict=True):
            op, np_ = oc.find(_w("p")), nc.find(_w("p"))
            if op is None or np_ is None:
                continue
            self._paragraph(np_, self._marks(atoms(op), atoms(np_)))
        return new

    def _row(self, row: Any, op: int) -> Any:
        """Mark a table row as inserted or deleted, with all its text."""
        first: Change | None = None
        for cell in row.findall(_w("tc")):
            for p in cell.findall(_w("p")):
                marks = self._whole(op, atoms(p))
                if marks and first is None:
                    first = marks[0].change
                self._paragraph(p, marks)
        trpr = row.find(_w("trPr"))
        if trpr is None:
            trpr = etree.Element(_w("trPr"))
            row.insert(0, trpr)
        self.revise(etree.SubElement(trpr, _w("ins" if op == INSERT else "del")), first)
        return row

    # -- paragraphs -----------------------------------------------------------------------

    def _whole(self, op: int, tokens: tuple[list[str], list[Prop]]) -> list[Group]:
        groups: list[Group] = []
        who = self.who.who
        for text, prop in zip(*tokens, strict=True):
            _add(groups, op, who(op, text), prop, None, text)
        return groups

    def _marks(
        self, old: tuple[list[str], list[Prop]], new: tuple[list[str], list[Prop]]
    ) -> list[Group]:
        groups: list[Group] = []
        (old_texts, old_props), (new_texts, new_props) = old, new
        who, fallback = self.who.who, self.who.fallback
        for tag, i1, i2, j1, j2 in _opcodes(old_texts, new_texts):
            if tag == "equal":
                if old_props[i1:i2] == new_props[j1:j2]:
                    # The same formatting throughout: one group per run of the new text.
                    start = j1
                    for k in range(j1 + 1, j2 + 1):
                        if k == j2 or new_props[k] is not new_props[start]:
                            _add(groups, EQUAL, None, new_props[start], None, "")
                            groups[-1].texts[-1:] = new_texts[start:k]
                            start = k
                    continue
                for k in range(i2 - i1):
                    a, b = old_props[i1 + k], new_props[j1 + k]
                    if a[0] != b[0]:
                        _add(groups, EQUAL, fallback, b, a[0], new_texts[j1 + k])
                    else:
                        _add(groups, EQUAL, None, b, None, new_texts[j1 + k])
                continue
            for k in range(i1, i2):
                text = old_texts[k]
                _add(groups, DELETE, who(DELETE, text), old_props[k], None, text)
            for k in range(j1, j2):
                text = new_texts[k]
                _add(groups, INSERT, who(INSERT, text), new_props[k], None, text)
        return groups

    def _mark_paragraph(self, p: Any, op: int, marks: Sequence[Group]) -> None:
        ppr = p.find(_w("pPr"))
        if ppr is None:
            ppr = etree.Element(_w("pPr"))
            p.insert(0, ppr)
        rpr = ppr.find(_w("rPr"))
        if rpr is None:
            rpr = etree.SubElement(ppr, _w("rPr"))
        change = marks[0].change if marks else self.who.fallback
        self.revise(etree.SubElement(rpr, _w("ins" if op == INSERT else "del")), change)

    def _paragraph(self, p: Any, groups: Sequence[Group]) -> Any:
        """Replace the content of ``p`` (keeping its w:pPr) by the marked tokens."""
        for child in list(p):
            if child.tag != _w("pPr"):
                p.remove(child)
        for op, change, (rpr, link), old_rpr, texts in groups:
            parent = p
            if link is not None:
                parent = etree.SubElement(p, _w("hyperlink"))
                parent.set(f"{{{_R}}}id", link)
            if op != EQUAL:
                parent = etree.SubElement(parent, _w("ins" if op == INSERT else "del"))
                self.revise(parent, change)
            r = etree.SubElement(parent, _w("r"))
            if rpr or old_rpr is not None:
                props = _parsed(rpr) if rpr else etree.SubElement(r, _w("rPr"))
                if rpr:
                    r.append(props)
                if old_rpr is not None:
                    before = etree.SubElement(props, _w("rPrChange"))
                    self.revise(before, change)
                    inner = etree.SubElement(before, _w("rPr"))
                    if old_rpr:
                        for child in etree.fromstring(old_rpr):
                            if child.tag != _w("rPrChange"):
                                inner.append(child)
            _texts(r, texts, deleted=op == DELETE)
        return p


@functools.lru_cache(maxsize=256)
def _rpr_template(rpr: bytes) -> Any:
    return etree.fromstring(rpr)


def _parsed(rpr: bytes) -> Any:
    """Return a fresh w:rPr element from its serialisation (a copy of one parsed once)."""
    return copy.deepcopy(_rpr_template(rpr))


def _texts(r: Any, texts: Sequence[str], *, deleted: bool) -> None:
    joined = "".join(texts)
    if OBJECT in joined:
        _texts_and_objects(r, texts, deleted=deleted)
        return
    if "\n" not in joined:
        # No line break among the tokens (the common case): one text element, as the loop
        # below would write it.
        if texts:
            t = etree.SubElement(r, _w("delText" if deleted else "t"))
            t.text = joined
            if joined[:1].isspace() or joined[-1:].isspace():
                t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        return
    buffer: list[str] = []

    def flush() -> None:
        if buffer:
            t = etree.SubElement(r, _w("delText" if deleted else "t"))
            text = "".join(buffer)
            t.text = text
            if text[:1].isspace() or text[-1:].isspace():
                t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            buffer.clear()

    for text in texts:
        if text == "\n":
            flush()
            etree.SubElement(r, _w("br"))
        else:
            buffer.append(text)
    flush()


def _texts_and_objects(r: Any, texts: Sequence[str], *, deleted: bool) -> None:
    """:func:`_texts` for tokens that include objects (notes, pictures, fields)."""
    buffer: list[str] = []

    def flush() -> None:
        if buffer:
            t = etree.SubElement(r, _w("delText" if deleted else "t"))
            text = "".join(buffer)
            t.text = text
            if text[:1].isspace() or text[-1:].isspace():
                t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            buffer.clear()

    def next_run() -> Any:
        # Fields, pictures and note marks each get a run of their own, as Word writes them.
        fresh = etree.Element(_w("r"))
        rpr = r.find(_w("rPr"))
        if rpr is not None:
            fresh.append(copy.deepcopy(rpr))
        r.addnext(fresh)
        return fresh

    for text in texts:
        if text == "\n":
            flush()
            etree.SubElement(r, _w("br"))
        elif text.startswith(_OBJECT_START) and (el := _object(text, deleted=deleted)) is not None:
            flush()
            if any(child.tag != _w("rPr") for child in r):
                r = next_run()
            r.append(el)
            r = next_run()
        else:
            buffer.append(text)
    flush()
    if not any(child.tag != _w("rPr") for child in r) and r.getparent() is not None:
        r.getparent().remove(r)  # the empty run left after a last object


def _sig(block: Any) -> bytes:
    """Return what makes two blocks equal: their XML without the per-render list ids."""
    raw = _VOLATILE.sub(b"", etree.tostring(block))
    return _DRAWING_IDS.sub(rb"\1", raw) if b"docPr" in raw else raw


_TBL, _TR, _TC, _VAL = _w("tbl"), _w("tr"), _w("tc"), _w("val")
_PPR, _PSTYLE, _NUMPR, _ILVL = _w("pPr"), _w("pStyle"), _w("numPr"), _w("ilvl")


def _kind(block: Any) -> tuple[str, ...]:
    """Return what makes two blocks comparable: paragraph style and list level, or columns."""
    if block.tag == _TBL:
        first = block.find(_TR)
        return ("tbl", str(len(first.findall(_TC)) if first is not None else 0))
    # Direct child look-ups (a paragraph has one w:pPr): ElementPath costs more.
    ppr = block.find(_PPR)
    style = level = None
    if ppr is not None:
        style = ppr.find(_PSTYLE)
        numpr = ppr.find(_NUMPR)
        level = numpr.find(_ILVL) if numpr is not None else None
    return (
        "p",
        style.get(_VAL) if style is not None else "",
        level.get(_VAL) if level is not None else "",
    )
