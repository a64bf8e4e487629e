"""Page numbers of the section headings, from a real layout by LibreOffice.

The export job builds the document, lets LibreOffice (headless) lay it out as PDF, reads the
page of every section heading from the PDF's text (``pdftotext``), and builds the document
again with those pages in the table of contents. Without LibreOffice or pdftotext, or when a
heading cannot be found, there are no page numbers (the contents still list and link every
section).
"""

from __future__ import annotations

import re
import shutil
import subprocess  # nosec B404
import tempfile
from collections.abc import Sequence
from pathlib import Path

from exports.data import SectionData

TIMEOUT_SECONDS = 300


def heading_pages(docx: bytes, sections: Sequence[SectionData]) -> dict[int, int] | None:
    """Return the page of each section heading (section id -> page), or None."""
    soffice, pdftotext = shutil.which("soffice"), shutil.which("pdftotext")
    if soffice is None or pdftotext is None or not sections:
        return None
    with tempfile.TemporaryDirectory(prefix="kw-layout-") as work:
        folder = Path(work)
        source = folder / "paper.docx"
        source.write_bytes(docx)
        try:
            # Fixed programs, arguments of our own temporary files: no untrusted input.
            subprocess.run(  # noqa: S603  # nosec B603
                [
                    soffice,
                    f"-env:UserInstallation={(folder / 'profile').as_uri()}",
                    "--headless",
                    "--norestore",
                    "--convert-to",
                    "pdf",
                    "--outdir",
                    str(folder),
                    str(source),
                ],
                check=True,
                capture_output=True,
                timeout=TIMEOUT_SECONDS,
            )
            text = subprocess.run(  # noqa: S603  # nosec B603
                [pdftotext, "-enc", "UTF-8", str(folder / "paper.pdf"), "-"],
                check=True,
                capture_output=True,
                timeout=TIMEOUT_SECONDS,
            ).stdout.decode("utf-8", "replace")
        except (OSError, subprocess.SubprocessError):
            return None
    return find_pages(text.split("\f"), sections)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def find_pages(pages: Sequence[str], sections: Sequence[SectionData]) -> dict[int, int] | None:
    """Find the headings in the pages' text, in order, after their entries in the contents.

    Each heading ("1.2 Title") appears twice in order: first in the contents, then as the
    heading itself; the second occurrence gives the page (1-based, the title page is 1).
    """
    squashed = [_squash(p) for p in pages]
    starts: list[int] = []
    offset = 0
    for page in squashed:
        starts.append(offset)
        offset += len(page) + 1
    joined = " ".join(squashed)
    headings = [_squash(f"{s.number} {s.title}") for s in sections if s.level <= 3]
    at = 0
    found: list[int] = []
    for _pass in range(2):
        found = []
        for heading in headings:
            index = joined.find(heading, at)
            if index < 0:
                return None
            found.append(index)
            at = index + len(heading)
    pages_of: dict[int, int] = {}
    entries = [s for s in sections if s.level <= 3]
    for s, index in zip(entries, found, strict=True):
        pages_of[s.section_id] = max(i for i, start in enumerate(starts) if start <= index) + 1
    return pages_of
