"""Figures (issue 13): upload, re-encoding without metadata, authorisation, edition hashes."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from PIL import Image
from sqlalchemy import func, select

from drafting.extensions import db
from drafting.models import Figure, User
from exports.builder import build_document
from exports.collect import collect
from tests import factories
from tests.conftest import api_headers, services_required
from tests.integration.support import english, isolated_client, login
from workflows import figures
from workflows import sections as section_flow
from workflows import signoff as signoff_flow
from workflows.errors import NotAllowed, NotFound, TooLarge, ValidationFailed


def png(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (40, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def test_add_figure_stores_a_clean_png_and_records_it(world: factories.World) -> None:
    figure = figures.add_figure(
        world.editor, world.paper, data=png(), filename="C:\\tmp\\karte.png", caption="Karte"
    )
    stored = db.session.get(Figure, figure.id)
    assert stored is not None
    assert (stored.media_type, stored.width, stored.height) == ("image/png", 40, 20)
    assert stored.filename == "karte.png"
    assert len(stored.digest) == 64
    assert figures.figure_markdown(stored, "Karte [Innenstadt]") == (
        f"![Karte \\[Innenstadt\\]](figure:{stored.id})"
    )
    assert figures.figure_markdown(stored) == f"![Karte](figure:{stored.id})"


def test_only_writers_of_a_visible_paper_may_add(world: factories.World) -> None:
    with pytest.raises(NotFound):
        figures.add_figure(world.outsider, world.paper.id, data=png(), filename="a.png")
    with pytest.raises(NotAllowed):
        figures.add_figure(world.reviewer, world.paper.id, data=png(), filename="a.png")
    figure = figures.add_figure(world.editor, world.paper.id, data=png(), filename="a.png")
    assert figures.get_figure(world.reviewer, figure.id).content
    with pytest.raises(NotFound):
        figures.get_figure(world.outsider, figure.id)


def test_paper_figures_lists_ids_and_captions_for_members_only(world: factories.World) -> None:
    assert figures.paper_figures(world.reviewer, world.paper.id) == []
    first = figures.add_figure(
        world.editor, world.paper, data=png(), filename="a.png", caption="Karte"
    )
    second = figures.add_figure(world.editor, world.paper, data=png(), filename="b.png")
    assert figures.paper_figures(world.reviewer, world.paper.id) == [
        (first.id, "Karte"),
        (second.id, ""),
    ]
    with pytest.raises(NotFound):
        figures.paper_figures(world.outsider, world.paper.id)


def test_the_edit_page_offers_the_papers_figures_to_the_editor(
    client: FlaskClient, world: factories.World
) -> None:
    figure = figures.add_figure(
        world.editor, world.paper, data=png(), filename="a.png", caption="Karte <b>"
    )
    db.session.commit()
    login(client, world.editor.email)
    page = client.get(f"/sections/{world.section.id}/edit").get_data(as_text=True)
    data = page.split('<script type="application/json" id="paper-figures">', 1)[1]
    assert json.loads(data.split("</script>", 1)[0]) == [[figure.id, "Karte <b>"]]
    assert 'data-figures="paper-figures"' in page


def test_limits_and_bad_files(app: Flask, world: factories.World) -> None:
    app.config["FIGURE_MAX_BYTES"] = 1000
    with pytest.raises(TooLarge):
        figures.add_figure(world.editor, world.paper, data=b"\x89PNG" + b"0" * 2000, filename="x")
    app.config["FIGURE_MAX_BYTES"] = 10_000_000
    app.config["FIGURE_MAX_PIXELS"] = 100
    with pytest.raises(TooLarge):
        figures.add_figure(world.editor, world.paper, data=png(), filename="x.png")
    app.config["FIGURE_MAX_PIXELS"] = 40_000_000
    with pytest.raises(ValidationFailed):
        figures.add_figure(world.editor, world.paper, data=b"GIF89a....", filename="x.gif")
    with pytest.raises(ValidationFailed):
        figures.add_figure(world.editor, world.paper, data=png()[:30], filename="cut.png")


def test_edition_hash_includes_the_figure_bytes(world: factories.World) -> None:
    first = figures.add_figure(world.editor, world.paper, data=png((1, 2, 3)), filename="a.png")
    second = figures.add_figure(world.editor, world.paper, data=png((4, 5, 6)), filename="b.png")
    section = world.section
    section_flow.save_section(
        world.editor,
        section.id,
        title=section.title,
        level=1,
        body=f"Text.\n\n![Karte](figure:{first.id})",
        base_version=section.version,
    )
    head = section.head
    assert head is not None
    versions = [head]
    with_first = signoff_flow.content_hash(versions, world.paper.id)
    assert with_first != signoff_flow.content_hash(versions)
    # Same text, other image bytes behind the id: another hash.
    first.digest, first.content = second.digest, second.content
    db.session.flush()
    assert signoff_flow.content_hash(versions, world.paper.id) != with_first
    assert signoff_flow.content_hash(versions, world.paper.id, recompute=True) != with_first


# --- what survives re-encoding ------------------------------------------------------------

XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf'
    b'-syntax-ns#"><rdf:Description about="" GPSLatitude="52.5 geheim-xmp"/></rdf:RDF>'
    b"</x:xmpmeta>"
)


def jpeg_with_metadata() -> bytes:
    exif = Image.Exif()
    exif[0x010E] = "geheim-exif Beschreibung"  # ImageDescription
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise when shown
    out = io.BytesIO()
    Image.new("RGB", (60, 30), (10, 200, 10)).save(
        out, format="JPEG", exif=exif, comment=b"geheim-com"
    )
    raw = out.getvalue()
    # An XMP packet in its own APP1 segment, right after SOI.
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + XMP
    segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    return raw[:2] + segment + raw[2:] + b"geheim-trailer"


def png_with_metadata() -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "geheim-text")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    out = io.BytesIO()
    Image.new("RGBA", (20, 20), (0, 0, 255, 128)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def test_jpeg_metadata_does_not_survive(world: factories.World) -> None:
    figure = figures.add_figure(
        world.editor, world.paper, data=jpeg_with_metadata(), filename="f.jpg"
    )
    assert figure.media_type == "image/jpeg"
    assert b"geheim" not in figure.content
    assert b"Exif" not in figure.content and b"xmpmeta" not in figure.content
    with Image.open(io.BytesIO(figure.content)) as image:
        assert not image.getexif()
        assert "xmp" not in image.info and "exif" not in image.info
        # The orientation was applied to the pixels, then dropped.
        assert image.size == (30, 60)


def test_png_metadata_does_not_survive(world: factories.World) -> None:
    figure = figures.add_figure(
        world.editor, world.paper, data=png_with_metadata(), filename="f.png"
    )
    assert b"geheim" not in figure.content and b"xmpmeta" not in figure.content
    with Image.open(io.BytesIO(figure.content)) as image:
        assert image.mode == "RGBA"
        assert not {"Comment", "XML:com.adobe.xmp", "xmp"} & set(image.info)


EVIL_SVG = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     width="120" height="60" onload="alert('geheim-onload')">
  <script>alert('geheim-script')</script>
  <rect width="120" height="60" fill="#c00"/>
  <image xlink:href="file:///etc/passwd" width="10" height="10"/>
  <image href="http://127.0.0.1:5599/geheim.png" width="10" height="10"/>
  <use xlink:href="http://127.0.0.1:5599/defs.svg#x"/>
  <foreignObject width="50" height="50"><iframe xmlns="http://www.w3.org/1999/xhtml" src="https://example.org"/></foreignObject>
</svg>"""


def test_svg_is_rasterised_without_script_or_fetching(
    world: factories.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import urllib.request

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the SVG made the server fetch a URL")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    figure = figures.add_figure(world.editor, world.paper, data=EVIL_SVG, filename="map.svg")
    assert (figure.media_type, figure.width, figure.height) == ("image/png", 120, 60)
    assert figure.content.startswith(b"\x89PNG")
    assert b"geheim" not in figure.content and b"<svg" not in figure.content
    with Image.open(io.BytesIO(figure.content)) as image:
        assert image.convert("RGB").getpixel((100, 50)) == (204, 0, 0)


@pytest.mark.parametrize(
    "svg",
    [
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&x;</text></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect',
        b'<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"></svg>',
    ],
    ids=["entity", "broken", "huge"],
)
def test_bad_svgs_are_refused(app: Flask, world: factories.World, svg: bytes) -> None:
    app.config["FIGURE_MAX_PIXELS"] = 1_000_000
    with pytest.raises((ValidationFailed, TooLarge)):
        figures.add_figure(world.editor, world.paper, data=svg, filename="x.svg")
    assert db.session.scalar(select(func.count()).select_from(Figure)) == 0


# --- web and API --------------------------------------------------------------------------


def _api(client: FlaskClient, user: User) -> dict[str, str]:
    return api_headers(factories.token(user))


def test_api_upload_and_fetch(app: Flask, world: factories.World) -> None:
    client = isolated_client(app)
    editor = _api(client, world.editor)
    answer = client.post(
        f"/api/v1/papers/{world.paper.id}/figures",
        headers=editor,
        data={"file": (io.BytesIO(png()), "karte.png"), "caption": "Karte der Innenstadt"},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body == {"id": body["id"], "markdown": f"![Karte der Innenstadt](figure:{body['id']})"}
    image = client.get(f"/api/v1/figures/{body['id']}", headers=_api(client, world.reviewer))
    assert image.status_code == 200
    assert image.mimetype == "image/png" and image.data.startswith(b"\x89PNG")
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    outsider = client.get(f"/api/v1/figures/{body['id']}", headers=_api(client, world.outsider))
    assert outsider.status_code == 404
    assert outsider.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/figures/999999", headers=editor).status_code == 404
    hidden = client.post(
        f"/api/v1/papers/{world.paper.id}/figures",
        headers=_api(client, world.outsider),
        data={"file": (io.BytesIO(png()), "a.png")},
        content_type="multipart/form-data",
    )
    assert hidden.status_code == 404


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"GIF89a not an image we take", 422, "validation_failed"),
        (b"\x89PNG\r\n\x1a\n broken", 422, "validation_failed"),
        (b"\x89PNG\r\n\x1a\n" + b"0" * 3000, 413, "too_large"),
    ],
)
def test_api_refusals(
    app: Flask, world: factories.World, data: bytes, status: int, code: str
) -> None:
    app.config["FIGURE_MAX_BYTES"] = 2000
    client = isolated_client(app)
    answer = client.post(
        f"/api/v1/papers/{world.paper.id}/figures",
        headers=_api(client, world.editor),
        data={"file": (io.BytesIO(data), "x.png")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == status
    error = answer.get_json()["error"]
    assert error["code"] == code and error["message"]
    missing = client.post(
        f"/api/v1/papers/{world.paper.id}/figures",
        headers=_api(client, world.editor),
        data={"caption": "x"},
        content_type="multipart/form-data",
    )
    assert missing.status_code == 422
    reviewer = client.post(
        f"/api/v1/papers/{world.paper.id}/figures",
        headers=_api(client, world.reviewer),
        data={"file": (io.BytesIO(png()), "a.png")},
        content_type="multipart/form-data",
    )
    assert reviewer.status_code == 403


def _edit_form(section_id: int, body: str, **extra: object) -> dict[str, object]:
    return {
        "title": "Ausgangslage",
        "level": "1",
        "body": body,
        "note": "",
        "base_version": "1",
        **extra,
    }


def test_upload_from_the_edit_page_without_javascript(app: Flask, world: factories.World) -> None:
    english(world)
    client = isolated_client(app)
    login(client, world.editor.email)
    section_id = world.section.id
    typed = "Mein ungespeicherter Text, der nicht verloren gehen darf."
    page = client.post(
        f"/sections/{section_id}/figures",
        data=_edit_form(
            section_id, typed, figure=(io.BytesIO(png()), "karte.png"), figure_caption="Karte"
        ),
        content_type="multipart/form-data",
    )
    assert page.status_code == 201
    html = page.get_data(as_text=True)
    figure = db.session.scalars(select(Figure)).one()
    assert typed in html
    assert f"![Karte](figure:{figure.id})" in html
    # A refusal keeps the typed text too, with the reason next to the file field.
    bad = client.post(
        f"/sections/{section_id}/figures",
        data=_edit_form(section_id, typed, figure=(io.BytesIO(b"GIF89a"), "x.gif")),
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert typed in text and "Only PNG, JPEG and SVG images can be added." in text
    # With JavaScript: JSON, the script inserts the line.
    answer = client.post(
        f"/sections/{section_id}/figures",
        data=_edit_form(section_id, typed, figure=(io.BytesIO(png()), "b.png"), figure_caption="B"),
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 201
    assert answer.get_json()["markdown"].startswith("![B](figure:")


def test_paper_page_numbers_figures_and_outsiders_get_404(
    app: Flask, world: factories.World
) -> None:
    english(world)
    first = figures.add_figure(world.editor, world.paper, data=png(), filename="a.png")
    second = figures.add_figure(world.editor, world.paper, data=png((0, 0, 0)), filename="b.png")
    section_flow.save_section(
        world.editor,
        world.section.id,
        body=f"Text[^1].\n\n![Erste Karte](figure:{first.id})\n\n[^1]: Quelle.",
        base_version=1,
    )
    section_flow.add_section(
        world.editor, world.paper.id, title="Zweiter", body=f"![Zweite Karte](figure:{second.id})"
    )
    client = isolated_client(app)
    login(client, world.member.email)
    html = client.get(f"/papers/{world.paper.id}").get_data(as_text=True)
    assert f'<img src="/figures/{first.id}" alt="Erste Karte">' in html
    assert '<span class="figure-label">Figure 1:</span> Erste Karte' in html
    assert '<span class="figure-label">Figure 2:</span> Zweite Karte' in html
    assert 'aria-label="Back to the text"' in html and 'aria-label="Footnote 1"' in html
    assert client.get(f"/figures/{first.id}").status_code == 200
    outsider = isolated_client(app)
    login(outsider, world.outsider.email)
    assert outsider.get(f"/figures/{first.id}").status_code == 404
    anonymous = isolated_client(app)
    assert anonymous.get(f"/figures/{first.id}").status_code in (302, 401)


# --- Word export --------------------------------------------------------------------------

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _pandoc_json(docx: bytes, tmp_path: Path, *extra: str) -> dict[str, Any]:
    if shutil.which("pandoc") is None:
        if services_required():
            pytest.fail("pandoc is not installed")
        pytest.skip("pandoc is not installed")
    source = tmp_path / "paper.docx"
    source.write_bytes(docx)
    out = subprocess.run(
        ["pandoc", "-f", "docx", "-t", "json", *extra, str(source)],
        check=True,
        capture_output=True,
        timeout=120,
    ).stdout
    return json.loads(out)


def _walk(node: Any, kind: str) -> list[Any]:
    found = []
    if isinstance(node, dict):
        if node.get("t") == kind:
            found.append(node)
        for value in node.values():
            found.extend(_walk(value, kind))
    elif isinstance(node, list):
        for value in node:
            found.extend(_walk(value, kind))
    return found


def _text(node: Any) -> str:
    """The words of a pandoc JSON tree in reading order."""
    if isinstance(node, dict):
        if node.get("t") == "Str":
            return str(node["c"])
        if node.get("t") in ("Space", "SoftBreak", "LineBreak"):
            return " "
        return "".join(_text(v) for v in node.values())
    if isinstance(node, list):
        return "".join(_text(v) for v in node)
    return ""


def test_export_has_word_footnotes_and_pictures(world: factories.World, tmp_path: Path) -> None:
    figure = figures.add_figure(
        world.editor, world.paper, data=png(size=(1600, 800)), filename="k.png"
    )
    section_flow.save_section(
        world.editor,
        world.section.id,
        body=(
            "Die Stadt trägt die Hälfte[^land] und den Rest[^rest].\n\n"
            f"![Karte der Innenstadt](figure:{figure.id})\n\n"
            "[^land]: Haushaltsplan 2026, *Kapitel 3*, [Portal](https://example.org/haushalt).\n"
            "[^rest]: Beschluss des Rates."
        ),
        base_version=1,
    )
    section_flow.add_section(
        world.editor, world.paper.id, title="Zweiter", body="Noch eine Quelle[^1].\n\n[^1]: Dritte."
    )
    docx = build_document(collect(world.paper.id))

    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        document = etree.fromstring(z.read("word/document.xml"))
        notes = etree.fromstring(z.read("word/footnotes.xml"))
        styles = etree.fromstring(z.read("word/styles.xml"))
        rels = z.read("word/_rels/footnotes.xml.rels").decode()
        media = [n for n in z.namelist() if n.startswith("word/media/")]
    refs = [r.get(f"{W}id") for r in document.iter(f"{W}footnoteReference")]
    bodies = [n for n in notes.iter(f"{W}footnote") if n.get(f"{W}type") is None]
    assert refs == [n.get(f"{W}id") for n in bodies] and len(refs) == 3
    assert all(n.find(f".//{W}footnoteRef") is not None for n in bodies)
    defined = {s.get(f"{W}styleId") for s in styles.iter(f"{W}style")}
    assert {"FootnoteText", "FootnoteReference", "Caption"} <= defined
    assert {el.get(f"{W}val") for el in notes.iter(f"{W}pStyle")} == {"FootnoteText"}
    assert "https://example.org/haushalt" in rels  # the link lives in the footnotes part
    assert len(media) == 1

    word = Document(io.BytesIO(docx))
    (shape,) = word.inline_shapes
    page = word.sections[0]
    assert page.page_width is not None and page.left_margin is not None
    assert shape.width <= page.page_width - page.left_margin
    captions = [p.text for p in word.paragraphs if p.style.name == "Caption"]
    assert captions == ["Abbildung 1: Karte der Innenstadt"]

    tree = _pandoc_json(docx, tmp_path)
    notes_seen = [_text(n) for n in _walk(tree, "Note")]
    assert notes_seen[0].startswith("Haushaltsplan 2026") and notes_seen[1:] == [
        "Beschluss des Rates.",
        "Dritte.",
    ]
    assert len(_walk(tree, "Image")) == 1
    assert "Abbildung 1: Karte der Innenstadt" in _text(tree)


def test_edition_seals_the_figure_bytes(world: factories.World) -> None:
    figure = figures.add_figure(world.editor, world.paper, data=png((9, 9, 9)), filename="a.png")
    section_flow.save_section(
        world.editor,
        world.section.id,
        body=f"Text.\n\n![Karte](figure:{figure.id})",
        base_version=1,
    )
    factories.approve_all(world)
    edition = signoff_flow.start(world.coordinator, world.paper.id)
    head = world.section.head
    assert head is not None
    assert edition.content_hash == signoff_flow.content_hash([head], world.paper.id)
    assert signoff_flow.verify(world.paper.id) == []
    # Someone swaps the stored image behind the same id (and even its stored digest):
    # the recomputed hash no longer matches the edition.
    other = png((250, 250, 250))
    figure.content, figure.digest = other, hashlib.sha256(other).hexdigest()
    db.session.commit()
    (problem,) = signoff_flow.verify(world.paper.id)
    assert problem.edition == edition.number
