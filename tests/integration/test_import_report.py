"""Word import, issue 14: what the file means, nothing lost silently, carried over.

Each test builds a small .docx with python-docx plus raw WordprocessingML where python-docx
has no API (outline levels, footnotes, comments, moves, merged cells), imports it through the
API or the form, and checks the sections, the report and what else arrived.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from docx import Document
from docx.oxml import parse_xml
from flask import Flask
from sqlalchemy import func, select

from drafting.extensions import db
from drafting.models import Comment
from exports.docx_import import read
from tests import docx_samples, factories
from tests.docx_samples import NSDECL
from tests.integration.support import english, fresh, isolated_client, login
from tests.integration.test_import import (
    counts,
    multipart,
    sections_of,
    suggestions_of,
    upload,
    upload_api,
)
from workflows import comments as comment_flow

W = docx_samples.W_NS


def p_xml(inner: str, ppr: str = "") -> Any:
    return parse_xml(f"<w:p {NSDECL}>{f'<w:pPr>{ppr}</w:pPr>' if ppr else ''}{inner}</w:p>")


def r(text: str, rpr: str = "") -> str:
    return (
        f'<w:r>{f"<w:rPr>{rpr}</w:rPr>" if rpr else ""}<w:t xml:space="preserve">{text}</w:t></w:r>'
    )


def append(document: Any, *elements: Any) -> None:
    body = document.element.body
    for el in elements:
        body.insert(len(body) - 1, el)  # before sectPr


def add_part(data: bytes, name: str, xml: str, rel_type: str, content_type: str) -> bytes:
    """Add a part (footnotes, comments) to a .docx with its relationship and content type."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == "word/_rels/document.xml.rels":
                content = content.replace(
                    b"</Relationships>",
                    f'<Relationship Id="rIdX{len(name)}" Type="{rel_type}" '
                    f'Target="{name.removeprefix("word/")}"/></Relationships>'.encode(),
                )
            elif item.filename == "[Content_Types].xml":
                content = content.replace(
                    b"</Types>",
                    f'<Override PartName="/{name}" ContentType="{content_type}"/></Types>'.encode(),
                )
            dst.writestr(item, content)
        dst.writestr(name, xml)
    return out.getvalue()


def rewrite(data: bytes, name: str, change: Any) -> bytes:
    """Return the .docx with one part changed."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            dst.writestr(item, change(content) if item.filename == name else content)
    return out.getvalue()


REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
CT = "application/vnd.openxmlformats-officedocument.wordprocessingml."


# --- reading what the file means ------------------------------------------------------------


def test_headings_by_outline_level_and_style_inheritance() -> None:
    document = Document()
    styles = document.styles
    custom = styles.add_style("Kapitel", 1)
    custom.base_style = styles["Heading 2"]
    document.add_paragraph("Erster Teil", style="Kapitel")
    document.add_paragraph("Text eins.")
    append(document, p_xml(r("Zweiter Teil"), '<w:outlineLvl w:val="0"/>'))
    document.add_paragraph("Text zwei.")
    document.add_heading("Unterpunkt", 4)
    document.add_paragraph("Text drei.")
    doc = read(docx_samples.to_bytes(document))
    assert [(s.level, s.title) for s in doc.sections] == [(2, "Erster Teil"), (1, "Zweiter Teil")]
    assert doc.sections[1].body == "Text zwei.\n\n# Unterpunkt\n\nText drei."


def test_heading_text_is_verbatim_and_plain() -> None:
    document = Document()
    document.add_heading("2030 – Ziele", 1)
    document.add_heading("112 Notruf", 1)
    h = document.add_heading("Die ", 1)
    h.add_run("neue").italic = True
    h.add_run(" Mitte")
    doc = read(docx_samples.to_bytes(document))
    assert [s.title for s in doc.sections] == ["2030 – Ziele", "112 Notruf", "Die neue Mitte"]


def test_overlong_heading_is_shortened_with_a_report_entry() -> None:
    document = Document()
    document.add_heading("Lang " * 80, 1)
    document.add_paragraph("Text.")
    doc = read(docx_samples.to_bytes(document), max_title=200)
    assert len(doc.sections[0].title) == 200 and doc.sections[0].title.endswith("…")
    assert [x.kind for x in doc.lost] == ["heading"]


def test_main_part_found_through_the_package_relationships() -> None:
    data = docx_samples.headed_docx([(1, "Kapitel", ["Inhalt."])])
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            name = item.filename
            if name == "word/document.xml":
                name = "word/main.xml"
            elif name == "word/_rels/document.xml.rels":
                name = "word/_rels/main.xml.rels"
            content = content.replace(b"word/document.xml", b"word/main.xml").replace(
                b'Target="word/document.xml"', b'Target="word/main.xml"'
            )
            dst.writestr(name, content)
    data = out.getvalue()
    assert "word/document.xml" not in zipfile.ZipFile(io.BytesIO(data)).namelist()
    doc = read(data)
    assert [s.title for s in doc.sections] == ["Kapitel"]
    assert doc.sections[0].body == "Inhalt."


# --- carried over -----------------------------------------------------------------------------

FOOTNOTES = (
    f"<w:footnotes {NSDECL}>"
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
    '<w:footnote w:id="1"><w:p><w:r><w:footnoteRef/></w:r>'
    '<w:r><w:t xml:space="preserve"> Siehe Haushaltsplan 2027.</w:t></w:r></w:p></w:footnote>'
    "</w:footnotes>"
)


def footnote_docx() -> bytes:
    document = Document()
    document.add_heading("Finanzierung", 1)
    append(
        document,
        p_xml(r("Das Land trägt die Hälfte.") + '<w:r><w:footnoteReference w:id="1"/></w:r>'),
    )
    return add_part(
        docx_samples.to_bytes(document),
        "word/footnotes.xml",
        FOOTNOTES,
        REL + "footnotes",
        CT + "footnotes+xml",
    )


def test_footnotes_become_markdown_footnotes() -> None:
    doc = read(footnote_docx())
    assert doc.sections[0].body == (
        "Das Land trägt die Hälfte.[^1]\n\n[^1]: Siehe Haushaltsplan 2027."
    )
    assert doc.footnotes == 1


def test_merged_and_multi_paragraph_cells() -> None:
    document = Document()
    document.add_heading("Tabelle", 1)
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).text = "Jahr"
    table.cell(0, 1).merge(table.cell(0, 2)).text = "Mittel"
    table.cell(1, 0).text = "2027"
    table.cell(1, 1).text = "Land"
    table.cell(1, 2).paragraphs[0].text = "Bund"
    table.cell(1, 2).add_paragraph("Kommune")
    doc = read(docx_samples.to_bytes(document))
    assert doc.sections[0].body == (
        "| Jahr | Mittel | Mittel |\n|---|---|---|\n| 2027 | Land | Bund<br>Kommune |"
    )
    assert [(x.kind, x.where) for x in doc.lost] == [("merged cell", "Tabelle ¶1")]


def test_a_word_move_is_a_deletion_at_the_source_and_an_insertion_at_the_target() -> None:
    document = Document()
    document.add_heading("Ablauf", 1)
    mark = f'w:id="{{}}" w:author="Pavel Novák" w:date="{docx_samples.TRACKED_DATE}"'
    append(
        document,
        p_xml(r("Erst planen. ") + f"<w:moveFrom {mark.format(1)}>{r('Dann bauen.')}</w:moveFrom>"),
        p_xml(r("Dann prüfen. ") + f"<w:moveTo {mark.format(2)}>{r('Dann bauen.')}</w:moveTo>"),
    )
    (section,) = read(docx_samples.to_bytes(document)).sections
    assert section.body == "Erst planen. Dann bauen.\n\nDann prüfen."
    assert section.accepted_body == "Erst planen.\n\nDann prüfen. Dann bauen."
    assert section.authors == {"Pavel Novák"}


def test_images_and_text_boxes_are_reported() -> None:
    document = Document()
    document.add_heading("Bilder", 1)
    drawing = (
        '<w:r><w:drawing><wp:inline xmlns:wp="http://schemas.openxmlformats.org/drawingml/'
        '2006/wordprocessingDrawing"><wp:docPr id="1" name="Bild 1" descr="Marktplatz"/>'
        '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
        '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
        "<a:blip/></a:graphicData></a:graphic></wp:inline></w:drawing></w:r>"
    )
    append(document, p_xml(r("Vorher ") + drawing))
    doc = read(docx_samples.to_bytes(document))
    assert doc.sections[0].body == "Vorher"
    assert [(x.kind, x.where) for x in doc.lost] == [("image", "Bilder ¶1")]
    assert "Marktplatz" in doc.lost[0].what


COMMENTS = (
    f'<w:comments {NSDECL} xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml">'
    '<w:comment w:id="0" w:author="Pavel Novák" w:date="2026-03-03T10:00:00Z">'
    '<w:p w14:paraId="00000001"><w:r><w:t>Quelle?</w:t></w:r></w:p></w:comment>'
    '<w:comment w:id="1" w:author="Erika Beispiel" w:date="2026-03-04T10:00:00Z">'
    '<w:p w14:paraId="00000002"><w:r><w:t>Haushalt 2027.</w:t></w:r></w:p></w:comment>'
    "</w:comments>"
)
COMMENTS_EX = (
    '<w15:commentsEx xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml">'
    '<w15:commentEx w15:paraId="00000001" w15:done="0"/>'
    '<w15:commentEx w15:paraId="00000002" w15:paraIdParent="00000001" w15:done="0"/>'
    "</w15:commentsEx>"
)


def commented_docx() -> bytes:
    document = Document()
    document.add_heading("Finanzierung", 1)
    append(
        document,
        p_xml(
            r("Das Land trägt ")
            + '<w:commentRangeStart w:id="0"/>'
            + r("die Hälfte")
            + '<w:commentRangeEnd w:id="0"/><w:r><w:commentReference w:id="0"/></w:r>'
            + r(".")
        ),
    )
    data = add_part(
        docx_samples.to_bytes(document),
        "word/comments.xml",
        COMMENTS,
        REL + "comments",
        CT + "comments+xml",
    )
    return add_part(
        data,
        "word/commentsExtended.xml",
        COMMENTS_EX,
        "http://schemas.microsoft.com/office/2011/relationships/commentsExtended",
        CT + "commentsExtended+xml",
    )


def test_comments_arrive_anchored_with_the_word_author_and_replies(
    app: Flask, world: factories.World
) -> None:
    english(world)
    client, token = isolated_client(app), factories.token(world.editor)
    response = upload_api(client, token, commented_docx())
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["report"]["comments"] == 2
    (section,) = sections_of(response.get_json()["paper_id"])
    comments = list(
        db.session.scalars(
            select(Comment).where(Comment.section_id == section.id).order_by(Comment.id)
        )
    )
    root, reply = comments
    assert root.quote == "die Hälfte" and root.anchor_start is not None
    assert root.body == "from Word: Pavel Novák, March 3, 2026\n\nQuelle?"
    assert reply.parent_id == root.id
    assert reply.body.startswith("from Word: Erika Beispiel")


# --- nothing lost silently: dry run, preview and confirmation -------------------------------


def test_dry_run_reports_and_writes_nothing(app: Flask, world: factories.World) -> None:
    english(world)
    client, token = isolated_client(app), factories.token(world.editor)
    before = counts()
    form: dict[str, Any] = {"file": upload(footnote_docx(), "k.docx"), "dry_run": "true"}
    body, content_type = multipart(form)
    response = client.post(
        "/api/v1/imports",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
        content_type=content_type,
    )
    fresh()
    assert response.status_code == 200, response.get_json()
    report = response.get_json()["report"]
    assert report["created"] == 1 and report["footnotes"] == 1 and report["lost"] == []
    assert counts() == before


def test_the_form_shows_a_preview_when_something_would_be_lost(
    app: Flask, world: factories.World
) -> None:
    english(world)
    browser = isolated_client(app)
    login(browser, world.editor.email)
    document = Document()
    document.add_heading("Tabelle", 1)
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Beides"
    before = counts()
    body, content_type = multipart({"file": upload(docx_samples.to_bytes(document), "t.docx")})
    page = browser.post("/papers/import", data=body, content_type=content_type)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Preview of the import" in text and "Merged cells" in text
    assert counts() == before
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', text)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text)
    assert token
    form = {"token": token.group(1), "filename": "t.docx"}
    if csrf:
        form["csrf_token"] = csrf.group(1)
    done = browser.post("/papers/import", data=form)
    fresh()
    assert done.status_code == 200
    assert "Import report" in done.get_data(as_text=True)
    assert counts()["Paper"] == before["Paper"] + 1


# --- into an existing paper -----------------------------------------------------------------


def test_reimporting_an_unchanged_export_creates_nothing(
    app: Flask, world: factories.World
) -> None:
    from exports import jobs

    english(world)
    factories.section(
        world.editor, world.paper, "Ziele", "- Mehr **Grün**\n- Weniger Lärm", level=2
    )
    client = isolated_client(app)
    headers = {"Authorization": f"Bearer {factories.token(world.editor)}", "Accept-Language": "en"}
    comment_flow.add_comment(world.editor, world.section.id, "Stimmt das so?")
    export_id = client.post(
        f"/api/v1/papers/{world.paper.id}/exports", json={"comments": True}, headers=headers
    ).get_json()["id"]
    jobs.wait_for_exports(60)
    fresh()
    data = client.get(f"/api/v1/exports/{export_id}/download", headers=headers).data
    assert b"word/comments.xml" in data
    before = counts()
    comments_before = db.session.scalar(select(func.count()).select_from(Comment))
    response = upload_api(client, factories.token(world.editor), data, paper_id=world.paper.id)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["sections"], body["suggestions"], body["report"]["lost"]) == (0, 0, [])
    assert counts()["Suggestion"] == before["Suggestion"]
    # The exported comment is the paper's own: not added a second time.
    assert body["report"]["comments"] == 0
    assert db.session.scalar(select(func.count()).select_from(Comment)) == comments_before
    # The same file with one sentence changed: one suggestion on that section.
    changed = rewrite(data, "word/document.xml", lambda x: x.replace(b"Weniger L", b"Weniger V"))
    response = upload_api(client, factories.token(world.editor), changed, paper_id=world.paper.id)
    assert response.get_json()["suggestions"] == 1
    (suggestion,) = suggestions_of(world.paper.id)
    assert "Weniger Värm" in suggestion.body


def test_moved_and_deleted_headings_become_suggestions_not_changes(
    app: Flask, world: factories.World
) -> None:
    english(world)
    factories.section(world.editor, world.paper, "Ziele", "Mehr Leben am Abend.", level=1)
    factories.section(world.editor, world.paper, "Kosten", "Das Land zahlt.", level=1)
    document = Document()
    document.add_heading("Ziele", 1)
    document.add_paragraph("Mehr Leben am Abend.")
    document.add_heading("Ausgangslage", 1)
    document.add_paragraph("Die Innenstadt lebt vom Handel.")
    document.add_paragraph("Und vom Wohnen.")
    mark = f'w:id="1" w:author="Pavel Novák" w:date="{docx_samples.TRACKED_DATE}"'
    append(
        document,
        p_xml(
            f"<w:del {mark}><w:r><w:delText>Kosten</w:delText></w:r></w:del>",
            '<w:pStyle w:val="Heading1"/>',
        ),
        p_xml(r("Das Land zahlt.")),
    )
    before = counts()
    client, token = isolated_client(app), factories.token(world.editor)
    response = upload_api(client, token, docx_samples.to_bytes(document), paper_id=world.paper.id)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["report"]["outline"] == {"new_sections": 0, "removals": 1, "moves": 1}
    assert body["report"]["lost"] == []
    ausgangslage, ziele, kosten = sections_of(world.paper.id)
    made = {
        (s.kind.value, s.section_id, s.after_section_id): s for s in suggestions_of(world.paper.id)
    }
    assert set(made) == {
        ("move_section", ziele.id, None),  # one move restores the file's order
        ("remove_section", kosten.id, None),
    }
    assert sorted(body["suggestion_ids"]) == sorted(s.id for s in made.values())
    removal = made[("remove_section", kosten.id, None)]
    assert removal.note == "Heading deleted in Word by Pavel Novák"
    assert removal.base_version == kosten.version
    # Nothing changes until an editor decides.
    assert counts()["Section"] == before["Section"]
    assert [s.title for s in sections_of(world.paper.id)] == ["Ausgangslage", "Ziele", "Kosten"]


def bookmarked_heading(title: str, level: int, section_id: int, version: int) -> Any:
    """A heading with the bookmark every export writes around it (``_kw_s<id>_v<n>``)."""
    return p_xml(
        f'<w:bookmarkStart w:id="{section_id}" w:name="_kw_s{section_id}_v{version}"/>'
        + r(title)
        + f'<w:bookmarkEnd w:id="{section_id}"/>',
        f'<w:pStyle w:val="Heading{level}"/>',
    )


def test_sections_are_matched_by_the_export_bookmark_and_based_on_the_exported_version(
    app: Flask, world: factories.World
) -> None:
    from workflows import sections as section_flow

    english(world)
    ziele = factories.section(world.editor, world.paper, "Ziele", "Mehr Leben.", level=1)
    first = world.section
    exported_version = first.version
    # The paper moves on after the export: the suggestion still rests on the exported text.
    section_flow.save_section(
        world.editor, first.id, body="Die Innenstadt lebt vom Handel und Wohnen.",
        base_version=exported_version,
    )  # fmt: skip
    document = Document()
    append(
        document,
        bookmarked_heading("Lage heute", 1, ziele.id, ziele.version),  # renamed, moved first
        p_xml(r("Mehr Leben am Abend.")),
        bookmarked_heading("Ausgangslage", 1, first.id, exported_version),
        p_xml(r("Die Innenstadt lebt vom Handel.")),
        p_xml(r("Und vom Wohnen.")),
    )
    client, token = isolated_client(app), factories.token(world.editor)
    response = upload_api(client, token, docx_samples.to_bytes(document), paper_id=world.paper.id)
    assert response.status_code == 201, response.get_json()
    suggestion, move = suggestions_of(world.paper.id)
    assert suggestion.section_id == ziele.id
    assert suggestion.title == "Lage heute" and suggestion.body == "Mehr Leben am Abend."
    # "Ausgangslage" is unchanged against the exported version: no text suggestion, even
    # though the section has a newer text now. "Ziele" stands first in the file.
    assert (move.kind.value, move.section_id, move.after_section_id) == (
        "move_section", ziele.id, None,
    )  # fmt: skip
    assert response.get_json()["suggestion_ids"] == [suggestion.id, move.id]
    assert response.get_json()["report"]["lost"] == []


def test_multi_paragraph_list_items_and_quotes_are_kept() -> None:
    from drafting.text.canonical import structure

    document = Document()
    document.add_heading("Listen", 1)
    document.add_paragraph("Erster Punkt", style="List Bullet")
    document.add_paragraph("Noch ein Absatz dazu.", style="List Continue")
    document.add_paragraph("Zweiter Punkt", style="List Bullet")
    document.add_paragraph("Ein Zitat,", style="Quote")
    document.add_paragraph("in zwei Absätzen.", style="Quote")
    (section,) = read(docx_samples.to_bytes(document)).sections
    assert section.body == (
        "- Erster Punkt\n\n  Noch ein Absatz dazu.\n\n- Zweiter Punkt\n\n"
        "> Ein Zitat,\n>\n> in zwei Absätzen."
    )
    blocks = structure(section.body)
    assert [b[0] for b in blocks] == ["item", "p", "item", "quote", "quote"]
