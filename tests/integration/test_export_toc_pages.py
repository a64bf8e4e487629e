"""The export job lets LibreOffice lay the document out and puts page numbers into the contents."""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from lxml import etree

from drafting.extensions import db
from drafting.models import Export, ExportStatus
from exports import jobs
from tests import factories
from tests.conftest import services_required
from tests.integration.support import configured_app, fresh

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        (shutil.which("soffice") is None or shutil.which("pdftotext") is None)
        and not services_required(),
        reason="LibreOffice or pdftotext is not installed",
    ),
]


@pytest.fixture
def paged(tmp_path: Path) -> Iterator[Flask]:
    with configured_app(tmp_path, EXPORT_TOC_PAGES=True) as app:
        yield app


def _instructions(content: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        document = etree.fromstring(z.read("word/document.xml"))
    return [t.text.strip() for t in document.iter(f"{W}instrText")]


def test_export_job_puts_page_numbers_into_the_contents(paged: Flask) -> None:
    with paged.app_context():
        w = factories.world()
        long = "\n\n".join(f"Absatz {n} über die Innenstadt." for n in range(60))
        factories.section(w.editor, w.paper, title="Ziele", body=long, level=1)
        factories.section(w.editor, w.paper, title="Wege", body="Kurz.", level=1)
        export_id = jobs.request_export(w.editor, w.paper.id).id
        db.session.remove()  # no open transaction while the job writes (SQLite)
        jobs.wait_for_exports(timeout=240)
        fresh()
        done = db.session.get(Export, export_id)
        assert done is not None and done.status == ExportStatus.DONE, done.error
        assert done.content is not None
        pagerefs = [i for i in _instructions(done.content) if i.startswith("PAGEREF")]
        assert len(pagerefs) == 3
        with zipfile.ZipFile(io.BytesIO(done.content)) as z:
            document = etree.fromstring(z.read("word/document.xml"))
        shown = []
        for link in document.iter(f"{W}hyperlink"):
            if link.get(f"{W}anchor"):
                texts = [t.text or "" for t in link.iter(f"{W}t")]
                shown.append(int(texts[-1]))
        # The first section starts on page 3; the long one pushes the last one further.
        assert shown[0] == 3 and shown[2] > shown[1] >= 3
