"""Figures: images uploaded to a paper and placed in sections with ``![Caption](figure:<id>)``.

An upload is PNG, JPEG or SVG. Every image is decoded and written anew by Pillow from its bare
pixels, so no metadata (EXIF, XMP, ICC, text chunks), no trailing data and no active content
survives; SVG is first rasterised to PNG by CairoSVG, with entities refused and every external
reference answered by an empty image (nothing is fetched). The stored bytes' SHA-256 is the
figure's ``digest``, which enters the hash of every edition that shows the figure.

Limits (413): ``FIGURE_MAX_BYTES`` for the upload, ``FIGURE_MAX_PIXELS`` for the decoded
image; anything that is not a readable PNG, JPEG or SVG is refused with 422.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import undefer

from drafting.extensions import db
from drafting.models import Figure, Paper, PaperStatus, User, utcnow
from workflows import activity
from workflows.errors import NotAllowed, NotFound, PaperLocked, TooLarge, ValidationFailed
from workflows.papers import get_paper
from workflows.permissions import is_writer
from workflows.uow import use_case

__all__ = [
    "FIGURE_REF",
    "Encoded",
    "add_figure",
    "figure_ids",
    "figure_markdown",
    "figures_digest",
    "get_figure",
    "reencode",
]

#: A figure placed in Markdown: ``![Caption](figure:12)``.
FIGURE_REF: Final = re.compile(r"!\[((?:[^\]\\]|\\.)*)\]\(figure:(\d+)\)")
SVG_MAX_SIDE: Final = 2000  # longest side of a rasterised SVG, in pixels
_CAPTION_MAX: Final = 500
_MEDIA: Final = {"PNG": "image/png", "JPEG": "image/jpeg"}
_UNITS: Final = {"": 1.0, "px": 1.0, "pt": 96 / 72, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54}
_UNITS_IN: Final = 96.0


@dataclass(frozen=True)
class Encoded:
    """An image after re-encoding: bytes without metadata, its type and size."""

    data: bytes
    media_type: str
    width: int
    height: int


def figure_markdown(figure: Figure, caption: str | None = None) -> str:
    """Return the Markdown that places a figure: ``![Caption](figure:<id>)``.

    The caption defaults to the one given at upload; ``[``, ``]`` and ``\\`` are escaped and
    line breaks folded so that the result is always one image.
    """
    text = figure.caption if caption is None else caption
    text = " ".join((text or "").split())
    text = re.sub(r"([\\\[\]])", r"\\\1", text)
    return f"![{text}](figure:{figure.id})"


def figure_ids(texts: Iterable[str]) -> list[int]:
    """Return the ids of figures placed in the texts, in order of first appearance."""
    seen: dict[int, None] = {}
    for text in texts:
        for found in FIGURE_REF.finditer(text or ""):
            seen.setdefault(int(found.group(2)), None)
    return list(seen)


def figures_digest(
    paper_id: int, texts: Sequence[str], *, recompute: bool = False
) -> list[list[Any]]:
    """Return ``[[id, digest], …]`` of the paper's figures the texts place, in order.

    ``recompute`` hashes the stored bytes instead of trusting the stored digest (integrity
    checks). An id that names no figure of this paper is listed with an empty digest.
    """
    ids = figure_ids(texts)
    if not ids:
        return []
    where = (Figure.paper_id == paper_id, Figure.id.in_(ids))
    if recompute:
        rows = db.session.execute(select(Figure.id, Figure.content).where(*where)).all()
        digests = {i: hashlib.sha256(content).hexdigest() for i, content in rows}
    else:
        digests = dict(db.session.execute(select(Figure.id, Figure.digest).where(*where)).all())
    return [[i, digests.get(i, "")] for i in ids]


def get_figure(user: User | None, figure_id: int) -> Figure:
    """Return a figure with its bytes, for a user who may see its paper.

    :raises NotFound: when it does not exist or its paper is hidden from the user.
    """
    figure = db.session.scalar(
        select(Figure).options(undefer(Figure.content)).where(Figure.id == figure_id)
    )
    missing = _l("Figure not found.")
    if figure is None:
        raise NotFound(missing)
    get_paper(user, figure.paper_id, missing=missing)
    return figure


def paper_figures(user: User | None, paper_id: int) -> list[tuple[int, str]]:
    """Return the ids and captions of a paper's figures, oldest first (the editor's picker).

    :raises NotFound: when the paper is hidden from the user.
    """
    get_paper(user, paper_id)
    rows = db.session.execute(
        select(Figure.id, Figure.caption).where(Figure.paper_id == paper_id).order_by(Figure.id)
    ).all()
    return [(figure_id, caption) for figure_id, caption in rows]


@use_case
def add_figure(
    actor: User,
    paper: Paper | int,
    *,
    data: bytes,
    filename: str,
    caption: str = "",
) -> Figure:
    """Validate, re-encode and store an image for a paper; return the new figure.

    The figure is flushed; the outermost unit of work commits it.

    :raises NotFound: when the paper is hidden from the actor.
    :raises NotAllowed: when the actor may not edit the paper.
    :raises PaperLocked: when the paper's text is frozen.
    :raises TooLarge: when the file or the image exceeds the configured limits.
    :raises ValidationFailed: when the file is not a readable PNG, JPEG or SVG.
    """
    paper_id = paper if isinstance(paper, int) else paper.id
    access = get_paper(actor, paper_id, lock=True)
    if not is_writer(access.member):
        raise NotAllowed(_l("Only editors and coordinators of this paper may add figures."))
    if access.paper.status != PaperStatus.DRAFTING:
        raise PaperLocked(
            _l("The paper is frozen for sign-off or final; figures cannot be added now."),
            status=access.paper.status.value,
        )
    encoded = reencode(
        data,
        max_bytes=current_app.config["FIGURE_MAX_BYTES"],
        max_pixels=current_app.config["FIGURE_MAX_PIXELS"],
    )
    caption = " ".join((caption or "").split())
    if len(caption) > _CAPTION_MAX:
        raise TooLarge(
            lazy_ngettext(
                "The caption is longer than %(num)d character.",
                "The caption is longer than %(num)d characters.",
                _CAPTION_MAX,
            ),
            field="caption",
            limit=_CAPTION_MAX,
        )
    figure = Figure(
        paper_id=paper_id,
        filename=_clean_filename(filename),
        caption=caption,
        media_type=encoded.media_type,
        width=encoded.width,
        height=encoded.height,
        size=len(encoded.data),
        digest=hashlib.sha256(encoded.data).hexdigest(),
        content=encoded.data,
        uploaded_by_id=actor.id,
        created_at=utcnow(),
    )
    db.session.add(figure)
    db.session.flush()
    activity.record(
        paper_id,
        actor,
        "figure.added",
        figure=figure.id,
        filename=figure.filename,
        size=figure.size,
    )
    return figure


def _clean_filename(filename: str) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:200] or "figure"


def reencode(data: bytes, *, max_bytes: int, max_pixels: int) -> Encoded:
    """Decode an upload and write it anew from its pixels (PNG stays PNG, JPEG stays JPEG,
    SVG becomes PNG).

    :raises TooLarge: beyond ``max_bytes`` or ``max_pixels``.
    :raises ValidationFailed: for anything that is not a readable PNG, JPEG or SVG.
    """
    if not data:
        raise ValidationFailed(_l("The file is empty."), field="file")
    if len(data) > max_bytes:
        raise TooLarge(
            _l("The image is larger than %(mb)s MB.", mb=_megabytes(max_bytes)),
            field="file",
            limit=max_bytes,
        )
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = "PNG"
    elif data.startswith(b"\xff\xd8\xff"):
        kind = "JPEG"
    elif _looks_like_svg(data):
        data, kind = _svg_to_png(data, max_pixels), "PNG"
    else:
        raise ValidationFailed(_l("Only PNG, JPEG and SVG images can be added."), field="file")
    return _redraw(data, kind, max_pixels)


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.0f}"


def _too_many_pixels(max_pixels: int) -> TooLarge:
    return TooLarge(
        _l(
            "The image has more than %(n)s megapixels; please reduce its size.",
            n=f"{max_pixels / 1_000_000:g}",
        ),
        field="file",
        limit=max_pixels,
    )


def _unreadable() -> ValidationFailed:
    return ValidationFailed(
        _l("The image could not be read; it may be damaged or not a PNG, JPEG or SVG file."),
        field="file",
    )


def _redraw(data: bytes, kind: str, max_pixels: int) -> Encoded:
    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its own pixel limit: refuse those too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=[kind])
        with opened as image:
            width, height = image.size
            if width < 1 or height < 1:
                raise _unreadable()
            if width * height > max_pixels:
                raise _too_many_pixels(max_pixels)
            image.load()
            upright = ImageOps.exif_transpose(image)
            pixels = _plain_mode(upright, kind)
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        ValueError,
    ) as exc:
        if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
            raise _too_many_pixels(max_pixels) from None
        raise _unreadable() from None
    # A new image from the raw pixels alone: no info dict, so nothing but pixels is written.
    clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    if kind == "JPEG":
        clean.save(out, format="JPEG", quality=90)
    else:
        clean.save(out, format="PNG", compress_level=6)
    return Encoded(out.getvalue(), _MEDIA[kind], clean.width, clean.height)


def _plain_mode(image: Image.Image, kind: str) -> Image.Image:
    if kind == "JPEG":
        return image if image.mode in ("L", "RGB") else image.convert("RGB")
    if image.mode in ("L", "LA", "RGB", "RGBA"):
        return image
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _looks_like_svg(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!--", b"<!doctype svg")) and b"<svg" in head


def _svg_to_png(data: bytes, max_pixels: int) -> bytes:
    """Rasterise an SVG with CairoSVG: no entities, no DTD, nothing fetched."""
    head = data[:65536].lower()
    if b"<!doctype" in head or b"<!entity" in head:
        raise ValidationFailed(
            _l("SVG files with a document type declaration are not accepted."), field="file"
        )
    try:
        import cairosvg  # noqa: PLC0415 — needs the system library libcairo
        from cairosvg.parser import Tree  # noqa: PLC0415
    except (ImportError, OSError):  # pragma: no cover - installation problem
        raise ValidationFailed(
            _l("SVG images cannot be converted on this installation; please upload a PNG."),
            field="file",
        ) from None
    try:
        tree = Tree(bytestring=data, url_fetcher=_refuse_fetch, unsafe=False)
        width, height = _svg_size(tree)
        scale = min(1.0, SVG_MAX_SIDE / max(width, height))
        out_w, out_h = max(1, round(width * scale)), max(1, round(height * scale))
        if out_w * out_h > max_pixels:
            raise _too_many_pixels(max_pixels)
        return cairosvg.surface.PNGSurface.convert(
            bytestring=data,
            url_fetcher=_refuse_fetch,
            unsafe=False,
            output_width=out_w,
            output_height=out_h,
        )
    except (TooLarge, ValidationFailed):
        raise
    except Exception:  # noqa: BLE001 — any parser or renderer failure is an unreadable file
        raise _unreadable() from None


def _refuse_fetch(url: str, resource_type: str) -> bytes:
    """CairoSVG's fetcher: every reference (file, http, data) becomes an empty image."""
    return b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"></svg>'


def _svg_size(tree: Any) -> tuple[float, float]:
    """Return an SVG's size in CSS pixels (from width/height, else the viewBox, else 800×600)."""
    root = tree.xml_tree
    box = (root.get("viewBox") or "").replace(",", " ").split()
    box_w = box_h = 0.0
    if len(box) == 4:
        try:
            box_w, box_h = abs(float(box[2])), abs(float(box[3]))
        except ValueError:
            box_w = box_h = 0.0
    width, height = _length(root.get("width")), _length(root.get("height"))
    if width and height:
        return width, height
    if box_w and box_h:
        if width:
            return width, width * box_h / box_w
        if height:
            return height * box_w / box_h, height
        return box_w, box_h
    return width or 800.0, height or 600.0


def _length(value: str | None) -> float:
    found = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(px|pt|pc|mm|cm|in)?\s*", value or "")
    if not found:
        return 0.0
    unit = found.group(2) or ""
    factor = _UNITS_IN if unit == "in" else _UNITS[unit]
    return float(found.group(1)) * factor
