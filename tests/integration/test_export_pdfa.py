"""PDF/A for the records (issue 13): an edition as PDF/A-2b, sealed, checked by the CLI.

The export job builds the Word document, LibreOffice makes the PDF/A-2b, pyHanko seals it with
a certificate the test makes (cryptography); then the PDF is read back: XMP ``pdfaid:part`` 2,
title, edition and edition hash in the metadata, every font embedded (pdffonts), contents and
annex in the text (pdftotext), the seal intact and trusted, and ``flask editions verify-pdf``
accepts it and refuses a changed copy. The API refuses combinations a records copy cannot have.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

from drafting.extensions import db
from drafting.models import Edition, Export, ExportStatus
from exports import jobs, pdfa
from tests import factories
from tests.conftest import api_headers, services_required
from tests.integration.support import configured_app, fresh, isolated_client, login
from tests.seal_certs import make_seal
from workflows import signoff as signoff_flow

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        (shutil.which("soffice") is None or shutil.which("pdffonts") is None)
        and not services_required(),
        reason="LibreOffice or poppler is not installed",
    ),
]


@dataclass
class Made:
    app: Flask
    pdf: bytes
    path: Path
    cert: Path
    paper_id: int
    edition_hash: str
    title: str
    token: str
    export_id: int
    email: str


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Made]:
    tmp = tmp_path_factory.mktemp("pdfa")
    cert, key = make_seal(tmp)
    with configured_app(tmp, SEAL_CERT=str(cert), SEAL_KEY=str(key)) as app:
        with app.app_context():
            w = factories.world()
            factories.section(w.editor, w.paper, "Ziele", "Mehr Leben am Abend.", level=2)
            factories.approve_all(w)
            signoff_flow.start(w.coordinator, w.paper.id, label="Gesamtfassung 1")
            edition = db.session.query(Edition).filter_by(paper_id=w.paper.id).one()
            edition_hash, pid, title = edition.content_hash, w.paper.id, w.paper.title
            token, email = factories.token(w.editor), w.editor.email
            export_id = jobs.request_export(w.editor, pid, edition=1, fmt="pdf").id
            db.session.remove()
            jobs.wait_for_exports(timeout=300)
            fresh()
            done = db.session.get(Export, export_id)
            assert done is not None and done.status == ExportStatus.DONE, done and done.error
            assert done.filename.endswith(".pdf")
            pdf = done.content
            assert pdf is not None
        path = tmp / "records.pdf"
        path.write_bytes(pdf)
        yield Made(app, pdf, path, cert, pid, edition_hash, title, token, export_id, email)


def test_the_pdf_is_pdfa_2b_with_edition_and_hash_in_its_xmp(made: Made) -> None:
    assert made.pdf.startswith(b"%PDF")
    meta = pdfa.read_metadata(made.pdf)
    assert (meta.pdfa_part, meta.pdfa_conformance) == ("2", "B")
    assert meta.title == made.title
    assert meta.paper_id == made.paper_id and meta.edition == 1
    assert meta.edition_hash == made.edition_hash
    assert "Gesamtfassung 1" in meta.description


def test_every_font_is_embedded(made: Made) -> None:
    table = subprocess.run(
        ["pdffonts", str(made.path)], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]
    assert table
    for line in table:
        # name, type, encoding, emb, sub, uni, object, generation: "emb" is the 4th from the end.
        assert line.split()[-5] == "yes", line


def test_contents_sections_and_annex_are_in_the_text(made: Made) -> None:
    text = subprocess.run(
        ["pdftotext", str(made.path), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Inhalt" in text and "1.1 Ziele" in text and "Anlage: Mitzeichnung" in text


def test_the_seal_is_intact_and_made_by_the_configured_certificate(made: Made) -> None:
    check = pdfa.verify_seal(made.pdf, [made.cert.read_bytes()])
    assert check.sealed and check.intact and check.trusted and check.covers_whole_file
    assert "Konzeptwerk Test-Siegel" in check.signer


def test_another_certificate_is_not_trusted(made: Made, tmp_path: Path) -> None:
    other, _key = make_seal(tmp_path)
    check = pdfa.verify_seal(made.pdf, [other.read_bytes()])
    assert check.intact and not check.trusted


def test_cli_verifies_the_pdf_and_refuses_changed_copies(made: Made, tmp_path: Path) -> None:
    with made.app.app_context():
        _cli_checks(made, tmp_path)


def _cli_checks(made: Made, tmp_path: Path) -> None:
    runner = made.app.test_cli_runner()
    ok = runner.invoke(args=["editions", "verify-pdf", str(made.path)])
    assert ok.exit_code == 0, ok.output
    assert "matches edition 1" in ok.output and "seal: intact" in ok.output
    # One changed byte inside the signed range breaks the seal.
    changed = bytearray(made.pdf)
    at = changed.find(b"/Producer")
    changed[at + 2] = ord("X") if changed[at + 2] != ord("X") else ord("Y")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(bytes(changed))
    result = runner.invoke(args=["editions", "verify-pdf", str(broken)])
    assert result.exit_code != 0
    # Anything appended after the seal is noticed too.
    appended = tmp_path / "appended.pdf"
    appended.write_bytes(made.pdf + b"\n% appended\n")
    assert runner.invoke(args=["editions", "verify-pdf", str(appended)]).exit_code != 0
    # A file that is no PDF gets a clear message.
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf")
    result = runner.invoke(args=["editions", "verify-pdf", str(junk)])
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_api_offers_pdf_and_refuses_combinations_a_records_copy_cannot_have(made: Made) -> None:
    client = made.app.test_client()
    headers = api_headers(made.token)
    url = f"/api/v1/papers/{made.paper_id}/exports"
    download = client.get(f"/api/v1/exports/{made.export_id}/download", headers=headers)
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.data == made.pdf
    for payload, field in (
        ({"format": "odt"}, "format"),
        ({"format": 1}, "format"),
        ({"format": "pdf"}, "edition"),  # no edition given and the paper is not final
        ({"format": "pdf", "edition": 1, "redline_against": 1}, "redline_against"),
        ({"format": "pdf", "edition": 1, "comments": True}, "comments"),
        ({"format": "pdf", "edition": 9}, "edition"),
    ):
        response = client.post(url, json=payload, headers=headers)
        assert response.status_code == 422, (payload, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] == "validation_failed" and error["message"], payload
        assert error.get("field", field) == field, (payload, error)


def test_the_export_page_offers_pdf_for_editions_and_says_what_is_not_possible(
    made: Made,
) -> None:
    client = isolated_client(made.app)
    login(client, made.email)
    url = f"/papers/{made.paper_id}/exports"
    page = client.get(url).get_data(as_text=True)
    assert 'name="format"' in page and 'value="pdf"' in page
    refused = client.post(
        url, data={"edition": "1", "redline_against": "", "format": "pdf", "comments": "y"}
    )
    assert refused.status_code == 422
    assert "keine Kommentare" in refused.get_data(as_text=True) or "no comments" in (
        refused.get_data(as_text=True)
    )
    done = client.post(url, data={"edition": "1", "redline_against": "", "format": "pdf"})
    assert done.status_code == 302 and "/exports/" in done.location
    with made.app.app_context():
        jobs.wait_for_exports(timeout=300)  # the export runs on; let it finish in this test
