"""Word export (issue 6): every kind of export opened in LibreOffice and read back.

One paper goes through two sign-off rounds; its exports — the working draft, the draft with
comments, the final edition, the edition being signed with a redline against the first, the
working draft with a redline and comments, and the draft in an administrator's reference
template — are built through the export jobs (in-process), converted by headless LibreOffice
to PDF and to ODT in one run, and checked there: text, headings, page count and the "Seite X
von Y" footer, tracked changes with their authors, comments, the sign-off annex. The same
files are read back with python-docx and as raw WordprocessingML.
"""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from lxml import etree
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from drafting.extensions import db
from drafting.models import Edition, Export, ExportStatus, Paper, Role, SignoffDecision
from exports import jobs
from exports.docx_import import read
from tests import docx_samples, factories
from tests.conftest import services_required
from tests.integration.support import configured_app, isolated_client, login
from workflows import comments as comment_flow
from workflows import papers as paper_flow
from workflows import sections as section_flow
from workflows import signoff as signoff_flow

pytestmark = [
    pytest.mark.slow,
    # In CI (.ci/run installs LibreOffice) a missing soffice fails instead of skipping.
    pytest.mark.skipif(
        docx_samples.soffice() is None and not services_required(),
        reason="LibreOffice is not installed",
    ),
]

NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xlink": "http://www.w3.org/1999/xlink",
}
W = f"{{{NS['w']}}}"

UMLAUTS = "Größe, Maß und Straße: ÄÖÜ äöü ß."
FEATURES = f"""Die Innenstadt lebt vom **Handel**, vom *Wohnen* und von `Kultur_2030`. Mehr unter \
[dem Portal](https://example.org/portal?a=1&b=2).

Eine Zeile  
mit hartem Umbruch. {UMLAUTS}

- Erste Ebene
  - Zweite Ebene
    - Dritte Ebene
- Wieder oben

1. Schritt eins
   1. Schritt eins a
      1. Schritt eins a i
2. Schritt zwei

> Ein Zitat der Bürgermeisterin.

| Maßnahme | Anteil |
|---|---:|
| Begrünung | 40 % |
| Fassaden | 60 % |

---

Schlusssatz des Abschnitts."""  # noqa: W291 — two trailing spaces: a hard line break

FINANZ_1 = "Das Land trägt die Hälfte. Die Stadt trägt den Rest."
FINANZ_2 = "Das Land trägt die Hälfte."
RESERVATION = "Die Finanzierung der Stadtteilfeste muss 2027 neu geregelt werden."
FILLER = " ".join(
    f"Absatz {n}: Das Bündnis stimmt die Maßnahmen für die Innenstadt gemeinsam ab und "
    "berichtet jährlich über den Stand der Umsetzung, die Kosten und die Wirkung."
    for n in range(1, 4)
)
LONG = "\n\n".join([FILLER] * 8)  # the text runs over more than one page
KINDS = ("draft", "comments", "final", "redline", "draft_redline", "reference")
STATUS = {
    "draft": "ENTWURF",
    "comments": "ENTWURF",
    "final": "ENDFASSUNG",
    "redline": "ZUR MITZEICHNUNG",
    "draft_redline": "ENTWURF",
    "reference": "ENTWURF",
}


@dataclass
class Made:
    """One export: its options, bytes, LibreOffice's PDF and ODT, and what it should show."""

    kind: str
    docx: bytes
    path: Path
    headings: list[tuple[int, str]]  # (level, "1.2 Title") of the sections
    pdf: Path | None = None
    odt: Path | None = None

    def pdf_pages(self) -> list[str]:
        assert self.pdf is not None
        text = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(self.pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")

    def pdf_text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.pdf_pages()))

    def page_count(self) -> int:
        assert self.pdf is not None
        info = subprocess.run(
            ["pdfinfo", str(self.pdf)], capture_output=True, text=True, check=True
        ).stdout
        match = re.search(r"^Pages:\s+(\d+)$", info, re.M)
        assert match, info
        return int(match.group(1))

    def odt_xml(self, part: str = "content.xml") -> Any:
        assert self.odt is not None
        with zipfile.ZipFile(self.odt) as archive:
            return etree.fromstring(archive.read(part))

    def part(self, name: str) -> Any:
        with zipfile.ZipFile(io.BytesIO(self.docx)) as archive:
            return etree.fromstring(archive.read(name))

    def names(self) -> list[str]:
        with zipfile.ZipFile(io.BytesIO(self.docx)) as archive:
            return archive.namelist()

    def raw(self, name: str) -> bytes:
        with zipfile.ZipFile(io.BytesIO(self.docx)) as archive:
            return archive.read(name)


@dataclass
class Fixture:
    """Everything the tests compare the exports with."""

    made: dict[str, Made]
    title: str
    lead: str
    participants: list[str]
    edition_hashes: dict[int, str]
    decisions: dict[str, tuple[str, str, datetime, str]] = field(default_factory=dict)
    version_dates: dict[str, datetime] = field(default_factory=dict)


def odt_text(el: Any) -> str:
    """The text of an ODF element, line breaks and spaces included, comments left out."""
    parts: list[str] = []
    for node in el.iter():
        if node is not el and _in_annotation(node, el):
            if node.tag == ANNOTATION and node.tail:
                parts.append(node.tail)
            continue
        if node.tag == f"{{{NS['text']}}}line-break":
            parts.append("\n")
        elif node.tag == f"{{{NS['text']}}}s":
            parts.append(" " * int(node.get(f"{{{NS['text']}}}c", "1")))
        elif node.tag == f"{{{NS['text']}}}tab":
            parts.append("\t")
        if node is el or node.tag in _TEXT_HOLDERS:
            parts.append(node.text or "")
        if node is not el and node.tail:
            parts.append(node.tail)
    return "".join(parts)


ANNOTATION = f"{{{NS['office']}}}annotation"


def _in_annotation(node: Any, top: Any) -> bool:
    """Tell whether a node is a comment, or inside one, below ``top``."""
    while node is not None and node is not top:
        if node.tag == ANNOTATION:
            return True
        node = node.getparent()
    return False


_TEXT_HOLDERS = {f"{{{NS['text']}}}{t}" for t in ("span", "a", "p", "h", "s", "line-break")}


def paragraph_texts(root: Any) -> list[str]:
    """The text of every w:p of a WordprocessingML part, tracked deletions left out."""
    out = []
    for p in root.iter(f"{W}p"):
        out.append("".join(t.text or "" for t in p.iter(f"{W}t")))
    return out


# --- the paper and its exports ----------------------------------------------------------------


def _export(actor: Any, paper_id: int, **options: Any) -> bytes:
    export = jobs.request_export(actor, paper_id, **options)
    export_id = export.id
    db.session.rollback()  # no read transaction may block the job's writes (SQLite)
    jobs.wait_for_exports(180)
    row = db.session.get(Export, export_id)
    assert row is not None and row.status == ExportStatus.DONE, row and row.error
    assert row.content is not None
    return row.content


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fixture]:
    """Build the paper through two sign-off rounds, export every kind, convert with LibreOffice."""
    tmp = tmp_path_factory.mktemp("exports")
    with configured_app(tmp) as app, app.app_context():
        w = factories.world()
        people = {
            "min": factories.user(w.ministry, "min-sig@example.org", name="Mira Amt"),
            "ihk": factories.user(w.chamber, "ihk-sig@example.org", name="Karl Kammer"),
        }
        for person in people.values():
            paper_flow.grant_role(w.coordinator, w.paper.id, person.email, Role.SIGNATORY)
        pid = w.paper.id
        s1 = w.section
        section_flow.save_section(w.editor, s1.id, body=FEATURES, base_version=1)
        s2 = factories.section(w.editor, w.paper, "Ziele", "Mehr Leben am Abend.", level=2)
        s3 = factories.section(w.editor, w.paper, "Maßnahmen im Überblick", LONG, level=3)
        s4 = factories.section(w.coordinator, w.paper, "Finanzierung", FINANZ_1, level=1)
        s5 = factories.section(w.editor, w.paper, "Altlasten", "Wird gestrichen.", level=1)
        quoted = comment_flow.add_comment(
            w.reviewer, s1.id, "Bitte die Quelle nennen.", quote="Schlusssatz des Abschnitts"
        )
        comment_flow.add_comment(w.editor, s1.id, "Quelle folgt.", parent_id=quoted.id)
        comment_flow.add_comment(w.member, s2.id, "Gilt das auch sonntags?")
        resolved = comment_flow.add_comment(w.reviewer, s4.id, "Erledigter Hinweis.")
        comment_flow.resolve_comment(w.reviewer, resolved.id)

        # Round 1: final with one reservation.
        factories.approve_all(w)
        signoff_flow.start(w.coordinator, pid, label="Gesamtfassung 1")
        signoff_flow.decide(people["min"], pid, "approve")
        signoff_flow.decide(w.signatory, pid, "approve_with_reservation", RESERVATION)
        signoff_flow.decide(people["ihk"], pid, "approve")
        assert db.session.get(Paper, pid).status.value == "final"  # type: ignore[union-attr]
        signoff_flow.new_cycle(w.coordinator, pid)

        # Changes for round 2, by two people.
        section_flow.save_section(
            w.editor, s2.id, body="Mehr Leben am Abend und am Wochenende.", base_version=1
        )
        section_flow.save_section(w.coordinator, s4.id, body=FINANZ_2, base_version=1)
        section_flow.save_section(
            w.editor,
            s3.id,
            title="Maßnahmen und Zeitplan",
            body=LONG,
            base_version=1,
        )
        factories.section(w.coordinator, w.paper, "Evaluation", "Jährlich im Herbst.", level=1)
        section_flow.remove_section(w.coordinator, s5.id)
        factories.approve_all(w)
        signoff_flow.start(w.coordinator, pid, label="Gesamtfassung 2")
        signoff_flow.decide(w.signatory, pid, "approve")

        paper = db.session.get(Paper, pid)
        assert paper is not None
        editions = {e.number: e.content_hash for e in signoff_flow.editions(pid)}
        first = db.session.scalar(
            select(Edition).where(Edition.paper_id == pid, Edition.number == 1)
        )
        assert first is not None
        decisions = {
            d.organisation.name: (d.decision.value, d.user.display_name, d.decided_at, d.note)
            for d in db.session.scalars(
                select(SignoffDecision).where(SignoffDecision.edition_id == first.id)
            )
        }
        fixture = Fixture(
            made={},
            title=paper.title,
            lead=paper.lead_organisation.name,
            participants=sorted(p.organisation.name for p in paper.participants),
            edition_hashes=editions,
            decisions=decisions,
            version_dates={
                "ziele": section_flow.version_of(s2.id, 2).created_at,  # type: ignore[union-attr]
                "finanzierung": section_flow.version_of(s4.id, 2).created_at,  # type: ignore[union-attr]
            },
        )
        current = [(1, "1 Ausgangslage"), (2, "1.1 Ziele"), (3, "1.1.1 Maßnahmen und Zeitplan"),
                   (1, "2 Finanzierung"), (1, "3 Evaluation")]  # fmt: skip
        first_edition = [(1, "1 Ausgangslage"), (2, "1.1 Ziele"),
                         (3, "1.1.1 Maßnahmen im Überblick"), (1, "2 Finanzierung"),
                         (1, "3 Altlasten")]  # fmt: skip
        blobs = {
            "draft": (_export(w.editor, pid), current),
            "comments": (_export(w.editor, pid, comments=True), current),
            "final": (_export(w.reviewer, pid, edition=1), first_edition),
            "redline": (_export(w.coordinator, pid, edition=2, redline_against=1), current),
            "draft_redline": (
                _export(w.editor, pid, redline_against=1, comments=True),
                current,
            ),
        }
        # The administrator uploads a reference document through the admin page.
        admin = isolated_client(app)
        login(admin, w.admin.email)
        db.session.rollback()
        response = admin.post(
            "/admin/templates",
            data={
                "name": "Ministerium",
                "file": FileStorage(io.BytesIO(docx_samples.reference_docx()), "vorlage.docx"),
            },
            content_type="multipart/form-data",
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        db.session.rollback()
        blobs["reference"] = (_export(w.editor, pid), current)
        # Back to the built-in styles.
        response = admin.post("/admin/templates/0/activate", data={})
        assert response.status_code == 302
        db.session.rollback()
        db.session.remove()

    paths = []
    for kind, (data, headings) in blobs.items():
        path = tmp / f"{kind}.docx"
        path.write_bytes(data)
        paths.append(path)
        fixture.made[kind] = Made(kind, data, path, headings)
    pdfs = docx_samples.convert(paths, "pdf", tmp / "pdf")
    odts = docx_samples.convert(paths, "odt", tmp / "odt")
    for made, pdf, odt in zip(fixture.made.values(), pdfs, odts, strict=True):
        made.pdf, made.odt = pdf, odt
    yield fixture


@pytest.fixture(params=KINDS)
def made(request: pytest.FixtureRequest, exported: Fixture) -> Made:
    return exported.made[request.param]


# --- LibreOffice: text, headings, pages, header and footer ------------------------------------


def test_libreoffice_opens_every_export_with_its_text(made: Made, exported: Fixture) -> None:
    text = made.pdf_text()
    assert exported.title in text
    assert STATUS[made.kind] in text
    assert f"Federführung: {exported.lead}" in text
    for _level, heading in made.headings:
        if made.kind.endswith("redline") and heading.startswith("1.1.1"):
            # A renamed section shows old and new words side by side, struck and underlined.
            assert all(word in text for word in heading.split()), heading
        else:
            assert heading in text, heading
    assert "Mehr Leben am Abend" in text
    assert UMLAUTS in text
    assert "Ein Zitat der Bürgermeisterin." in text
    assert "python-docx" not in text


def test_every_page_has_header_and_seite_x_von_y(made: Made, exported: Fixture) -> None:
    pages = made.pdf_pages()
    total = made.page_count()
    assert len(pages) == total
    assert total >= 4  # title page, contents, text, …
    # The title page carries neither header nor footer (issue 13); every other page both.
    assert "Seite" not in pages[0]
    assert f"{exported.title} – {STATUS[made.kind]}" not in re.sub(r"\s+", " ", pages[0])
    for number, page in enumerate(pages[1:], start=2):
        flat = re.sub(r"\s+", " ", page)
        assert f"{exported.title} – {STATUS[made.kind]}" in flat, number
        assert f"Seite {number} von {total}" in flat, (number, flat[-200:])
    # The title page and the contents have pages of their own.
    assert "1 Ausgangslage" not in pages[0]
    assert "Inhalt" in pages[1]
    assert "Das Bündnis" not in pages[1]


def test_pages_are_a4_unless_the_reference_says_otherwise(exported: Fixture) -> None:
    for kind in KINDS:
        made = exported.made[kind]
        info = subprocess.run(
            ["pdfinfo", str(made.pdf)], capture_output=True, text=True, check=True
        ).stdout
        size = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", info, re.M)
        assert size, info
        width, height = float(size.group(1)), float(size.group(2))
        if kind == "reference":  # python-docx's template: US Letter, left margin 35 mm
            assert (round(width), round(height)) == (612, 792)
            margin = made.part("word/document.xml").find(".//w:sectPr/w:pgMar", NS)
            assert margin.get(f"{W}left") == str(round(35 / 25.4 * 1440))
        else:
            assert (round(width), round(height)) == (595, 842), kind


def test_the_annex_starts_a_page_of_its_own(exported: Fixture) -> None:
    for kind in ("final", "redline"):
        pages = exported.made[kind].pdf_pages()
        (at,) = [n for n, page in enumerate(pages) if "Anlage: Mitzeichnung" in page]
        assert at == len(pages) - 1 > 3
        before_annex = pages[at].split("Anlage: Mitzeichnung")[0]
        assert re.sub(r"\s+", " ", before_annex).strip() == f"{exported.title} – {STATUS[kind]}"


def test_headings_are_numbered_outline_levels_in_libreoffice(made: Made) -> None:
    content = made.odt_xml()
    # Headings in the document, not those in the change log of deleted text.
    headings = [
        (int(h.get(f"{{{NS['text']}}}outline-level")), re.sub(r"\s+", " ", odt_text(h)).strip())
        for h in content.iter(f"{{{NS['text']}}}h")
        if not any(a.tag == f"{{{NS['text']}}}tracked-changes" for a in h.iterancestors())
    ]
    # The numbers are Word list numbering linked to the heading styles (issue 13), not text:
    # LibreOffice shows them through its outline numbering (in the PDF, see above).
    expected = [(level, heading.split(" ", 1)[1]) for level, heading in made.headings]
    if made.kind in ("final", "redline"):
        expected.append((1, "Anlage: Mitzeichnung"))
    if made.kind in ("redline", "draft_redline"):
        # Tracked changes: LibreOffice shows the current text, deletions are in the change log;
        # the removed section's heading stays as a deleted heading.
        headings = [h for h in headings if h[1] and h[1] != "Altlasten"]
    assert headings == expected
    pdf = made.pdf_text()
    for _level, heading in made.headings:
        if not (made.kind.endswith("redline") and heading.startswith("1.1.1")):
            assert heading in pdf, heading


def test_the_contents_field_is_a_real_table_of_contents(made: Made) -> None:
    toc = made.odt_xml().find(".//text:table-of-content", NS)
    assert toc is not None
    source = toc.find("text:table-of-content-source", NS)
    assert source.get(f"{{{NS['text']}}}outline-level") == "3"
    document = made.part("word/document.xml")
    instructions = [t.text.strip() for t in document.iter(f"{W}instrText")]
    assert instructions == ['TOC \\o "1-3" \\h \\z \\u']
    # The field carries its result (issue 13): no "update fields on open", nothing dirty.
    settings = made.part("word/settings.xml")
    assert settings.find("w:updateFields", NS) is None
    assert made.part("word/document.xml").find(".//w:fldChar[@w:dirty]", NS) is None
    entries = toc.findall(".//text:index-body/text:p", NS)
    assert len(entries) >= 2


# --- python-docx: properties, styles, header, footer --------------------------------------------


def test_python_docx_reads_title_headings_and_properties(made: Made, exported: Fixture) -> None:
    document = Document(io.BytesIO(made.docx))
    props = document.core_properties
    assert props.title == exported.title
    assert props.author == exported.lead
    assert props.last_modified_by == exported.lead
    assert props.category == STATUS[made.kind]
    assert props.comments == "" and props.keywords == ""
    paragraphs = [(p.style.name, p.text) for p in document.paragraphs]
    assert ("Subtitle", STATUS[made.kind]) in paragraphs
    assert ("Title", exported.title) in paragraphs
    headings = [
        (int(name.split()[-1]), text)
        for name, text in paragraphs
        if name.startswith("Heading") and text
    ]
    # Numbers are list numbering (issue 13): the heading text is the title alone.
    expected = [(level, heading.split(" ", 1)[1]) for level, heading in made.headings]
    if made.kind in ("final", "redline"):
        expected.append((1, "Anlage: Mitzeichnung"))
    if made.kind in ("redline", "draft_redline"):
        # python-docx reads w:t only: the deleted section's heading is empty, changed titles
        # show their inserted words (w:ins runs are children of the paragraph, not w:r).
        changed = ("Maßnahmen", "Evaluation", "Altlasten")
        headings = [h for h in headings if not h[1].startswith(changed)]
        expected = [h for h in expected if not h[1].startswith(changed)]
    assert headings == expected


def test_no_leftover_generator_text_in_the_package(made: Made) -> None:
    for name in made.names():
        if name.startswith("docProps/") and name.endswith(".xml"):
            raw = made.raw(name).decode("utf-8").lower()
            assert "python-docx" not in raw, name
            assert "generated by" not in raw, name
    core = made.part("docProps/core.xml")
    assert core.find("dc:creator", NS).text != "python-docx"
    assert core.find("dc:description", NS).text in (None, "")


def test_header_has_title_and_status_footer_has_page_fields(made: Made, exported: Fixture) -> None:
    document = Document(io.BytesIO(made.docx))
    section = document.sections[0]
    assert section.header.paragraphs[0].text == f"{exported.title} – {STATUS[made.kind]}"
    footer = section.footer.paragraphs[0]._p
    instructions = [t.text.strip() for t in footer.iter(f"{W}instrText")]
    assert instructions == ["PAGE", "NUMPAGES"]
    texts = [t.text for t in footer.iter(f"{W}t")]
    assert texts[0] == "Seite " and " von " in texts


def test_title_page_names_lead_participants_edition_and_hash(exported: Fixture) -> None:
    final = exported.made["final"].pdf_pages()[0]
    flat = re.sub(r"\s+", " ", final)
    assert "ENDFASSUNG" in flat and exported.title in flat
    assert f"Federführung: {exported.lead}" in flat
    assert "Beteiligte:" in flat
    assert "Stand: Gesamtfassung 1," in flat
    assert exported.edition_hashes[1] in re.sub(r"\s+", "", final)  # the hash may wrap
    assert ", ".join(exported.participants) in flat
    draft = re.sub(r"\s+", " ", exported.made["draft"].pdf_pages()[0])
    assert "Stand: Arbeitsstand," in draft and "SHA-256" not in draft
    redline = re.sub(r"\s+", " ", exported.made["redline"].pdf_pages()[0])
    assert "Änderungen gegenüber Gesamtfassung 1" in redline


# --- Markdown ----------------------------------------------------------------------------------


def _body_paragraph(document: Any, startswith: str) -> Any:
    for p in document.iter(f"{W}p"):
        style = p.find("w:pPr/w:pStyle", NS)
        if style is not None and style.get(f"{W}val", "").startswith("TOC"):
            continue  # an entry of the contents, not the heading it links to
        if "".join(t.text or "" for t in p.iter(f"{W}t")).startswith(startswith):
            return p
    raise AssertionError(f"no paragraph starting with {startswith!r}")


def test_markdown_inline_formatting_and_links(exported: Fixture) -> None:
    made = exported.made["draft"]
    document = made.part("word/document.xml")
    p = _body_paragraph(document, "Die Innenstadt lebt vom ")
    runs = {("".join(t.text for t in r.iter(f"{W}t"))): r for r in p.iter(f"{W}r")}
    assert runs["Handel"].find("w:rPr/w:b", NS) is not None
    assert runs["Wohnen"].find("w:rPr/w:i", NS) is not None
    # Code is the "Code" character style (Courier New), not direct formatting (issue 13).
    code_style = runs["Kultur_2030"].find("w:rPr/w:rStyle", NS).get(f"{W}val")
    styles = made.part("word/styles.xml")
    (defined,) = styles.xpath(f"w:style[@w:styleId='{code_style}']", namespaces=NS)
    assert defined.find("w:name", NS).get(f"{W}val") == "Code"
    assert defined.find("w:rPr/w:rFonts", NS).get(f"{W}ascii") == "Courier New"
    (link,) = p.findall("w:hyperlink", NS)
    assert "".join(t.text for t in link.iter(f"{W}t")) == "dem Portal"
    rels = made.part("word/_rels/document.xml.rels")
    (rel,) = [r for r in rels if r.get("Id") == link.get(f"{{{NS['r']}}}id")]
    assert rel.get("TargetMode") == "External"
    assert rel.get("Target") == "https://example.org/portal?a=1&b=2"
    assert rel.get("Type").endswith("/hyperlink")
    # LibreOffice sees a real link.
    anchors = [a.get(f"{{{NS['xlink']}}}href") for a in made.odt_xml().findall(".//text:a", NS)]
    assert [a for a in anchors if not a.startswith("#_Toc")] == [
        "https://example.org/portal?a=1&b=2"
    ]
    # The contents' entries link to their headings (issue 13).
    assert len([a for a in anchors if a.startswith("#_Toc")]) >= 2
    # A hard line break is a w:br inside one paragraph; umlauts and ß are intact.
    p = _body_paragraph(document, "Eine Zeile")
    assert p.find(".//w:br", NS) is not None
    assert "".join(t.text for t in p.iter(f"{W}t")) == f"Eine Zeilemit hartem Umbruch. {UMLAUTS}"
    breaks = [
        odt_text(el)
        for el in made.odt_xml().iter(f"{{{NS['text']}}}p")
        if el.find(".//text:line-break", NS) is not None
    ]
    assert any(t.startswith("Eine Zeile\nmit hartem Umbruch.") for t in breaks)


def _numbering_formats(made: Made) -> dict[str, list[str]]:
    numbering = made.part("word/numbering.xml")
    abstract = {
        a.get(f"{W}abstractNumId"): [
            lvl.find("w:numFmt", NS).get(f"{W}val") for lvl in a.findall("w:lvl", NS)
        ]
        for a in numbering.findall("w:abstractNum", NS)
    }
    return {
        n.get(f"{W}numId"): abstract[n.find("w:abstractNumId", NS).get(f"{W}val")]
        for n in numbering.findall("w:num", NS)
    }


def test_lists_nest_three_levels_deep(exported: Fixture) -> None:
    made = exported.made["draft"]
    document = made.part("word/document.xml")
    formats = _numbering_formats(made)
    items = []
    for p in document.iter(f"{W}p"):
        num = p.find("w:pPr/w:numPr", NS)
        if num is None:
            continue
        ilvl = int(num.find("w:ilvl", NS).get(f"{W}val"))
        fmt = formats[num.find("w:numId", NS).get(f"{W}val")][ilvl]
        items.append((ilvl, fmt, "".join(t.text for t in p.iter(f"{W}t"))))
    assert items == [
        (0, "bullet", "Erste Ebene"),
        (1, "bullet", "Zweite Ebene"),
        (2, "bullet", "Dritte Ebene"),
        (0, "bullet", "Wieder oben"),
        (0, "decimal", "Schritt eins"),
        (1, "lowerLetter", "Schritt eins a"),
        (2, "lowerRoman", "Schritt eins a i"),
        (0, "decimal", "Schritt zwei"),
    ]
    # LibreOffice nests the lists three deep, too.
    content = made.odt_xml()
    deepest = content.xpath(
        "//text:list/text:list-item/text:list/text:list-item/text:list/text:list-item/text:p",
        namespaces=NS,
    )
    assert [odt_text(p) for p in deepest] == ["Dritte Ebene", "Schritt eins a i"]
    # …and numbers them: "1.", "a)", "i.".
    text = re.sub(r"\s+", " ", made.pdf_text())
    assert re.search(r"1\. Schritt eins a\) Schritt eins a i\. Schritt eins a i 2\. Schritt zwei",
                     text)  # fmt: skip


def test_quote_table_and_rule(exported: Fixture) -> None:
    made = exported.made["draft"]
    document = Document(io.BytesIO(made.docx))
    quote = [p for p in document.paragraphs if p.text == "Ein Zitat der Bürgermeisterin."]
    assert [p.style.name for p in quote] == ["Quote"]
    (table,) = document.tables
    assert [[c.text for c in row.cells] for row in table.rows] == [
        ["Maßnahme", "Anteil"],
        ["Begrünung", "40 %"],
        ["Fassaden", "60 %"],
    ]
    tbl = table._tbl
    assert tbl.find("w:tr/w:trPr/w:tblHeader", NS) is not None  # repeated header row
    header_runs = tbl.find("w:tr", NS).findall(".//w:r", NS)
    assert all(r.find("w:rPr/w:b", NS) is not None for r in header_runs)
    borders = tbl.find("w:tblPr/w:tblBorders", NS)
    assert {b.tag.split("}")[1]: b.get(f"{W}val") for b in borders} == {
        edge: "single" for edge in ("top", "left", "bottom", "right", "insideH", "insideV")
    }
    right = tbl.findall("w:tr", NS)[1].findall("w:tc", NS)[1].find("w:p/w:pPr/w:jc", NS)
    assert right is not None and right.get(f"{W}val") == "right"
    odt_table = made.odt_xml().find(".//table:table", NS)
    assert odt_table.find("table:table-header-rows", NS) is not None
    rule = [
        p
        for p in made.part("word/document.xml").iter(f"{W}p")
        if p.find("w:pPr/w:pBdr/w:bottom", NS) is not None
    ]
    assert len(rule) == 1 and rule[0].find(".//w:t", NS) is None


# --- comments ----------------------------------------------------------------------------------


def _annotations(made: Made) -> list[dict[str, Any]]:
    content = made.odt_xml()
    found = []
    for a in content.iter(f"{{{NS['office']}}}annotation"):
        name = a.get(f"{{{NS['office']}}}name")
        # The commented passage: the text between the annotation and its end mark.
        passage = ""
        if name:
            collecting, parts = False, []
            for node in content.iter():
                if node is a:
                    collecting = True
                    parts.append(node.tail or "")
                    continue
                if (
                    node.tag == f"{{{NS['office']}}}annotation-end"
                    and node.get(f"{{{NS['office']}}}name") == name
                ):
                    break
                if collecting and not any(anc is a for anc in node.iterancestors()):
                    parts.append((node.text or "") + (node.tail or ""))
            passage = "".join(parts)
        found.append(
            {
                "author": a.findtext("dc:creator", namespaces=NS),
                "date": a.findtext("dc:date", namespaces=NS),
                "text": [odt_text(p) for p in a.findall("text:p", NS)],
                "passage": passage,
            }
        )
    return found


def test_open_comments_are_word_comments_on_their_passages(exported: Fixture) -> None:
    made = exported.made["comments"]
    annotations = _annotations(made)
    by_author = {a["author"]: a for a in annotations}
    assert sorted(by_author) == ["Max Mitglied", "Rita Prüfung"]
    rita = by_author["Rita Prüfung"]
    assert rita["text"][0] == "Bitte die Quelle nennen."
    assert re.match(r"Emil Redaktion \(\d\d\.\d\d\.\d{4}\): Quelle folgt\.", rita["text"][1])
    assert rita["passage"] == "Schlusssatz des Abschnitts"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", rita["date"])
    # A comment without a quote sits on its section's heading.
    assert by_author["Max Mitglied"]["text"] == ["Gilt das auch sonntags?"]
    # (The heading's number is list numbering, not text: the comment covers the title.)
    assert by_author["Max Mitglied"]["passage"].strip() == "Ziele"
    # The resolved comment is not exported.
    assert "Erledigter Hinweis." not in made.raw("word/comments.xml").decode()
    document = Document(io.BytesIO(made.docx))
    comments = {c.author: c for c in document.comments}
    assert comments["Rita Prüfung"].initials == "RP"
    assert comments["Max Mitglied"].initials == "MM"


def test_comments_only_when_asked_for(exported: Fixture) -> None:
    for kind in ("draft", "final", "redline", "reference"):
        made = exported.made[kind]
        assert _annotations(made) == [], kind
        assert "word/comments.xml" not in made.names() or not len(made.part("word/comments.xml")), (
            kind
        )


# --- tracked changes ---------------------------------------------------------------------------


def _changes(made: Made) -> list[dict[str, str]]:
    content = made.odt_xml()
    out = []
    for region in content.iterfind(".//text:tracked-changes/text:changed-region", NS):
        for kind in ("insertion", "deletion", "format-change"):
            change = region.find(f"text:{kind}", NS)
            if change is None:
                continue
            info = change.find("office:change-info", NS)
            deleted = " ".join(odt_text(p) for p in change.findall("text:p", NS)) + " ".join(
                odt_text(h) for h in change.findall("text:h", NS)
            )
            region_id = region.get(f"{{{NS['text']}}}id")
            inserted = ""
            if kind == "insertion":
                inserted = _inserted_text(content, region_id)
            out.append(
                {
                    "kind": kind,
                    "author": info.findtext("dc:creator", namespaces=NS),
                    "date": info.findtext("dc:date", namespaces=NS),
                    "text": (deleted if kind == "deletion" else inserted).strip(),
                }
            )
    return out


def _inserted_text(content: Any, region_id: str) -> str:
    parts, collecting = [], False
    for node in content.iter():
        tag = node.tag
        if (
            tag == f"{{{NS['text']}}}change-start"
            and node.get(f"{{{NS['text']}}}change-id") == region_id
        ):
            collecting = True
            parts.append(node.tail or "")
            continue
        if (
            tag == f"{{{NS['text']}}}change-end"
            and node.get(f"{{{NS['text']}}}change-id") == region_id
        ):
            break
        if collecting:
            parts.append((node.text or "") + (node.tail or ""))
    return "".join(parts)


def _word_date(value: datetime) -> str:
    return value.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%S")


def test_redline_has_tracked_changes_by_the_authors_of_the_versions(exported: Fixture) -> None:
    for kind in ("redline", "draft_redline"):
        changes = _changes(exported.made[kind])
        pairs = {(c["kind"], c["author"], c["text"]) for c in changes}
        # Emil Redaktion added to "Ziele", Cora Koordination struck a sentence of "Finanzierung".
        assert ("insertion", "Emil Redaktion", "und am Wochenende") in pairs, changes
        assert ("deletion", "Cora Koordination", "Die Stadt trägt den Rest.") in pairs, changes
        # The renamed section: "im Überblick" out, "und Zeitplan" in (word by word), by Emil.
        for word in ("im", "Überblick"):
            assert ("deletion", "Emil Redaktion", word) in pairs, changes
        for word in ("und", "Zeitplan"):
            assert ("insertion", "Emil Redaktion", word) in pairs, changes
        # The new section is inserted whole by Cora; the removed one is deleted.
        assert any(
            c["kind"] == "insertion"
            and c["author"] == "Cora Koordination"
            and "Evaluation" in c["text"]
            for c in changes
        ), changes
        assert any(c["kind"] == "deletion" and "Altlasten" in c["text"] for c in changes), changes
        # The dates are those of the versions that made the changes.
        ziele = [c for c in changes if c["text"] == "und am Wochenende"]
        assert ziele[0]["date"].startswith(_word_date(exported.version_dates["ziele"])[:16])
        # Unchanged text is no change.
        assert not any("Schlusssatz" in c["text"] for c in changes)


def test_redline_reads_back_as_original_and_accepted_text(exported: Fixture) -> None:
    doc = read(exported.made["redline"].docx)
    by_title = {s.accepted_title: s for s in doc.sections}
    assert by_title["Ziele"].body == "Mehr Leben am Abend."
    assert by_title["Ziele"].accepted_body == "Mehr Leben am Abend und am Wochenende."
    assert by_title["Finanzierung"].body == FINANZ_1
    assert by_title["Finanzierung"].accepted_body == FINANZ_2
    assert by_title["Maßnahmen und Zeitplan"].title == "Maßnahmen im Überblick"
    assert by_title["Finanzierung"].authors == {"Cora Koordination"}
    raw = exported.made["redline"].part("word/document.xml")
    authors = {el.get(f"{W}author") for el in raw.iter(f"{W}ins", f"{W}del")}
    assert {"Emil Redaktion", "Cora Koordination"} <= authors


def test_exports_without_redline_have_no_tracked_changes(exported: Fixture) -> None:
    for kind in ("draft", "comments", "final", "reference"):
        made = exported.made[kind]
        assert _changes(made) == [], kind
        raw = made.part("word/document.xml")
        assert next(raw.iter(f"{W}ins", f"{W}del"), None) is None, kind


def test_redline_with_comments_keeps_comments_on_unchanged_sections(exported: Fixture) -> None:
    annotations = _annotations(exported.made["draft_redline"])
    assert {a["author"] for a in annotations} >= {"Rita Prüfung"}


# --- the sign-off annex ------------------------------------------------------------------------


def _annex_rows(made: Made) -> list[list[str]]:
    document = Document(io.BytesIO(made.docx))
    (table,) = [t for t in document.tables if t.rows[0].cells[0].text == "Organisation"]
    return [[c.text for c in row.cells] for row in table.rows]


def test_final_edition_has_the_annex_with_every_decision(exported: Fixture) -> None:
    rows = _annex_rows(exported.made["final"])
    assert rows[0] == ["Organisation", "Entscheidung", "Unterzeichnet von", "Datum",
                       "Vorbehalt / Begründung"]  # fmt: skip
    labels = {"approve": "Zustimmung", "approve_with_reservation": "Zustimmung mit Vorbehalt"}
    berlin = ZoneInfo("Europe/Berlin")
    expected = sorted(
        [
            org,
            labels[decision],
            signatory,
            decided_at.astimezone(berlin).strftime("%d.%m.%Y %H:%M"),
            note,
        ]
        for org, (decision, signatory, decided_at, note) in exported.decisions.items()
    )
    assert rows[1:] == expected
    assert any(r[1] == "Zustimmung mit Vorbehalt" and r[4] == RESERVATION for r in rows)
    # The reservation column is the widest; together the columns fill the A4 text width.
    document = Document(io.BytesIO(exported.made["final"].docx))
    (annex,) = [t for t in document.tables if t.rows[0].cells[0].text == "Organisation"]
    widths = [int(c.get(f"{W}w")) for c in annex._tbl.find("w:tblGrid", NS)]
    assert max(widths) == widths[4]
    assert abs(sum(widths) - round((210 - 25 - 20) / 25.4 * 1440)) < 10
    text = exported.made["final"].pdf_text()
    assert "Anlage: Mitzeichnung" in text and RESERVATION in text
    assert "Sigrid Zeichnung" in text


def test_edition_in_signing_shows_open_decisions(exported: Fixture) -> None:
    rows = _annex_rows(exported.made["redline"])[1:]
    assert sorted(r[1] for r in rows) == ["Offen", "Offen", "Zustimmung"]
    (done,) = [r for r in rows if r[1] == "Zustimmung"]
    assert done[2] == "Sigrid Zeichnung" and done[3]
    assert all(r[2] == r[3] == r[4] == "" for r in rows if r[1] == "Offen")


def test_drafts_have_no_annex(exported: Fixture) -> None:
    for kind in ("draft", "comments", "draft_redline", "reference"):
        assert "Anlage: Mitzeichnung" not in exported.made[kind].pdf_text(), kind


# --- the reference document ---------------------------------------------------------------------


def _heading1_style(made: Made) -> Any:
    styles = made.part("word/styles.xml")
    for style in styles.findall("w:style", NS):
        name = style.find("w:name", NS)
        if name is not None and name.get(f"{W}val").lower() == "heading 1":
            return style
    raise AssertionError("no Heading 1 style")


def test_reference_document_styles_are_used(exported: Fixture) -> None:
    made = exported.made["reference"]
    style = _heading1_style(made)
    rpr = style.find("w:rPr", NS)
    assert rpr.find("w:rFonts", NS).get(f"{W}ascii") == "Georgia"
    assert rpr.find("w:color", NS).get(f"{W}val") == "8B1A1A"
    assert rpr.find("w:sz", NS).get(f"{W}val") == "44"
    style_id = style.get(f"{W}styleId")
    document = made.part("word/document.xml")
    ausgangslage = _body_paragraph(document, "Ausgangslage")
    assert ausgangslage.find("w:pPr/w:pStyle", NS).get(f"{W}val") == style_id
    # The reference's heading style is numbered by the export's heading list (issue 13).
    assert style.find("w:pPr/w:numPr/w:numId", NS).get(f"{W}val") != "0"
    # The template's own text and author are gone.
    assert "Vorlagentext" not in made.pdf_text()
    assert Document(io.BytesIO(made.docx)).core_properties.author == exported.lead
    # LibreOffice applies the style: Georgia, dark red.
    odt_styles = made.odt_xml("styles.xml")
    (heading,) = odt_styles.xpath(
        "//style:style[@style:name='Heading_20_1']/style:text-properties", namespaces=NS
    )
    assert heading.get(f"{{{NS['fo']}}}color").lower() == "#8b1a1a"
    assert heading.get(f"{{{NS['style']}}}font-name") == "Georgia"


def test_without_reference_the_builtin_styles_are_used(exported: Fixture) -> None:
    rpr = _heading1_style(exported.made["draft"]).find("w:rPr", NS)
    fonts = rpr.find("w:rFonts", NS) if rpr is not None else None
    assert fonts is None or fonts.get(f"{W}ascii") != "Georgia"
