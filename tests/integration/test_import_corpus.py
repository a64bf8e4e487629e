"""Word import of real files from other producers (issue 14): what must arrive, what the
report lists, and why a file is refused.

The files are under ``tests/corpus/`` (sources and licences in ``tests/corpus/SOURCES.md``).
For each one the test states the sections, the comments, the footnotes and the kinds of
losses the report must list; every word pandoc reads from the file must be among the words
the import carries over (title, text, footnotes).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from drafting.extensions import db
from exports.docx_import import read
from tests import factories
from tests.integration.support import english, isolated_client
from tests.integration.test_import import upload_api

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

# file → (section titles, comments, footnotes + endnotes, kinds the report lists)
EXPECTED: dict[str, tuple[list[str], int, int, set[str]]] = {
    "mammoth/comments.docx": (["comments"], 2, 0, set()),
    "mammoth/embedded-style-map.docx": (["embedded-style-map"], 0, 0, set()),
    "mammoth/endnotes.docx": (["endnotes"], 0, 2, set()),
    "mammoth/external-picture.docx": (["external-picture"], 0, 0, {"image"}),
    "mammoth/footnote-hyperlink.docx": (["footnote-hyperlink"], 0, 1, set()),
    "mammoth/footnotes.docx": (["footnotes"], 0, 2, set()),
    "mammoth/simple-list.docx": (["simple-list"], 0, 0, set()),
    "mammoth/single-paragraph.docx": (["single-paragraph"], 0, 0, set()),
    "mammoth/strict-format.docx": (["strict-format"], 0, 0, set()),
    "mammoth/strikethrough.docx": (["strikethrough"], 0, 0, set()),
    "mammoth/tables.docx": (["tables"], 0, 0, set()),
    "mammoth/text-box.docx": (["text-box"], 0, 0, {"text box"}),
    "mammoth/tiny-picture-target-base-relative.docx": (
        ["tiny-picture-target-base-relative"], 0, 0, set()
    ),
    "mammoth/tiny-picture.docx": (["tiny-picture"], 0, 0, set()),
    "mammoth/underline.docx": (["underline"], 0, 0, {"formatting"}),
    "mammoth/utf8-bom.docx": (["utf8-bom"], 0, 0, set()),
    "python-docx/blk-paras-and-tables.docx": (["blk-paras-and-tables"], 0, 0, {"nested table"}),
    "python-docx/comments-rich-para.docx": (["comments-rich-para"], 4, 0, set()),
    "python-docx/num-having-numbering-part.docx": (["num-having-numbering-part"], 0, 0, set()),
    "python-docx/par-hlink-frags.docx": (["par-hlink-frags"], 0, 0, set()),
    "python-docx/par-hyperlinks.docx": (["par-hyperlinks"], 0, 0, set()),
    "python-docx/par-known-styles.docx": (["Introduction", "Heading 1"], 0, 0, set()),
    "python-docx/shp-inline-shape-access.docx": (
        ["shp-inline-shape-access"], 0, 0, {"chart", "drawing", "image"}
    ),
    "python-docx/tbl-cell-access.docx": (["tbl-cell-access"], 0, 0, {"merged cell"}),
    "python-docx/test.docx": (["python-docx was here!"], 0, 0, set()),
    "python-docx/txt-font-highlight-color.docx": (
        ["txt-font-highlight-color"], 0, 0, {"formatting"}
    ),
}  # fmt: skip

# Files without any text: refused with a reason the user can act on.
REFUSED = [
    "mammoth/empty.docx",
    "python-docx/doc-word-default-blank.docx",
    "python-docx/sty-having-no-styles-part.docx",
    "python-docx/tbl-having-tables.docx",  # tables with empty cells only
]


def test_every_corpus_file_has_an_expectation() -> None:
    files = {str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*.docx")}
    assert files == set(EXPECTED) | set(REFUSED)


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_arrives(name: str) -> None:
    titles, comments, notes, kinds = EXPECTED[name]
    path = CORPUS / name
    doc = read(path.read_bytes(), filename=path.name)
    assert [s.title for s in doc.sections] == titles
    assert len(doc.comments) == comments
    assert doc.footnotes == notes
    assert {x.kind for x in doc.lost} == kinds
    assert all(x.where for x in doc.lost)
    if shutil.which("pandoc") is None:
        return
    theirs = subprocess.run(  # noqa: S603  # nosec B603 B607 # fixed arguments, test files
        ["pandoc", "-f", "docx", "-t", "plain", str(path)],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    ours = " ".join(f"{s.title} {s.accepted_body}" for s in doc.sections)
    assert _words(theirs.stdout) - _words(ours) == set()


def test_comments_of_a_word_file_keep_author_passage_and_date() -> None:
    doc = read((CORPUS / "mammoth/comments.docx").read_bytes())
    first = doc.comments[0]
    assert (first.author, first.quote, first.date[:10]) == (
        "Michael Williamson",
        "Ouch",
        "2016-07-03",
    )
    assert first.text == "A tachyon walks into a bar."


def test_footnotes_of_a_word_file_become_markdown_footnotes() -> None:
    doc = read((CORPUS / "mammoth/footnotes.docx").read_bytes())
    assert doc.sections[0].body == (
        "Ouch[^1].[^2]\n\n[^1]: A tachyon walks into a bar.\n[^2]: Fin."
    )


def test_merged_cells_of_a_word_file_repeat_their_value() -> None:
    doc = read((CORPUS / "python-docx/tbl-cell-access.docx").read_bytes())
    assert "| 4 | 4 | 6 |\n| 4 | 4 | 9 |" in doc.sections[0].body


@pytest.mark.parametrize("name", REFUSED)
def test_files_without_text_are_refused_with_a_reason(
    app: Flask, world: factories.World, name: str
) -> None:
    english(world)
    client, token = isolated_client(app), factories.token(world.editor)
    response = upload_api(client, token, (CORPUS / name).read_bytes())
    assert response.status_code == 422
    assert response.get_json()["error"]["message"].startswith(
        "The document contains no text to import."
    )


def test_a_corpus_file_with_comments_imports_them(app: Flask, world: factories.World) -> None:
    english(world)
    client, token = isolated_client(app), factories.token(world.editor)
    data = (CORPUS / "python-docx/comments-rich-para.docx").read_bytes()
    response = upload_api(client, token, data, filename="comments-rich-para.docx")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["report"]["comments"] == 4


def test_a_corpus_picture_becomes_a_figure(app: Flask, world: factories.World) -> None:
    from drafting.models import Figure
    from tests.integration.test_import import sections_of

    english(world)
    client, token = isolated_client(app), factories.token(world.editor)
    data = (CORPUS / "mammoth/tiny-picture.docx").read_bytes()
    response = upload_api(client, token, data, filename="tiny-picture.docx")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["report"]["figures"] == 1
    paper_id = response.get_json()["paper_id"]
    (figure,) = db.session.scalars(select(Figure).where(Figure.paper_id == paper_id))
    (section,) = sections_of(paper_id)
    assert f"](figure:{figure.id})" in section.head.body  # type: ignore[union-attr]
    assert "figure:word" not in section.head.body  # type: ignore[union-attr]
