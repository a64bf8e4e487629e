"""Figures (issue 13): upload, re-encoding without metadata, authorisation, edition hashes."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from PIL import Image

from drafting.extensions import db
from drafting.models import Figure
from tests import factories
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
    versions = [section.head]
    with_first = signoff_flow.content_hash(versions, world.paper.id)
    assert with_first != signoff_flow.content_hash(versions)
    # Same text, other image bytes behind the id: another hash.
    first.digest, first.content = second.digest, second.content
    db.session.flush()
    assert signoff_flow.content_hash(versions, world.paper.id) != with_first
    assert signoff_flow.content_hash(versions, world.paper.id, recompute=True) != with_first
