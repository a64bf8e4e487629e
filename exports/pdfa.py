"""PDF/A-2b of an edition for the records, made by LibreOffice, optionally sealed (PAdES B-B).

The export job builds the Word document (contents with page numbers, annex) and lets
LibreOffice (headless) convert it to PDF/A-2b. The document's core properties are set so that
LibreOffice writes them into both the document information and the XMP metadata (PDF/A wants
them to agree): ``dc:title`` the paper's title, ``dc:description`` the edition ("Gesamtfassung
2 – Fassung 2"), ``pdf:Keywords`` ``konzeptwerk-paper=<id>; konzeptwerk-edition=<n>;
edition-sha256=<hash>``. Only predefined XMP properties are used, so no extension schema is
needed.

With ``SEAL_CERT`` and ``SEAL_KEY`` (PEM files) configured, pyHanko signs the PDF as a PAdES
baseline B signature (``ETSI.CAdES.detached``, SHA-256) in an incremental update; :func:`verify`
checks the seal and reads the edition hash back.
"""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import subprocess  # nosec B404
import tempfile
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from docx import Document

from exports.data import ExportData

T = TypeVar("T")

TIMEOUT_SECONDS = 300
#: LibreOffice's PDF export with PDF/A-2b (SelectPdfVersion 2), as JSON filter options.
PDFA_FILTER = 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'
SEAL_FIELD = "Siegel"

_KEYWORDS = re.compile(
    # LibreOffice writes the keywords separated by ", " (they are given with "; ").
    r"konzeptwerk-paper=(?P<paper>\d+)[;,]\s*konzeptwerk-edition=(?P<edition>\d+)[;,]\s*"
    r"edition-sha256=(?P<hash>[0-9a-f]{64})"
)


def _load_pyhanko() -> None:
    """Import pyHanko's signing and validation (once), quiet about cryptography's DSA notice."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="DSA is deprecated")
        import pyhanko.sign.signers
        import pyhanko.sign.validation  # noqa: F401


class PdfUnavailable(RuntimeError):
    """LibreOffice is not installed or failed to convert the document."""


def keywords(paper_id: int, edition: int, edition_hash: str) -> str:
    """Return the keywords line that carries paper, edition number and edition hash."""
    return (
        f"konzeptwerk-paper={paper_id}; konzeptwerk-edition={edition}; "
        f"edition-sha256={edition_hash}"
    )


def parse_keywords(text: str) -> tuple[int, int, str] | None:
    """Return (paper id, edition number, edition hash) from a keywords line, or None."""
    found = _KEYWORDS.search(text or "")
    if found is None:
        return None
    return int(found.group("paper")), int(found.group("edition")), found.group("hash")


def with_record_properties(docx: bytes, *, description: str, keywords_line: str) -> bytes:
    """Return the document with subject and keywords set for the PDF's metadata."""
    document = Document(io.BytesIO(docx))
    props = document.core_properties
    props.subject = description[:250]
    props.keywords = keywords_line
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def convert(docx: bytes) -> bytes:
    """Convert a Word document to PDF/A-2b with headless LibreOffice.

    :raises PdfUnavailable: without LibreOffice, or when the conversion fails.
    """
    soffice = shutil.which("soffice")
    if soffice is None:
        raise PdfUnavailable("LibreOffice (soffice) is not installed")
    with tempfile.TemporaryDirectory(prefix="kw-pdfa-") as work:
        folder = Path(work)
        source = folder / "paper.docx"
        source.write_bytes(docx)
        try:
            # Fixed program and filter, arguments of our own temporary files.
            subprocess.run(  # noqa: S603  # nosec B603
                [
                    soffice,
                    f"-env:UserInstallation={(folder / 'profile').as_uri()}",
                    "--headless",
                    "--norestore",
                    "--convert-to",
                    PDFA_FILTER,
                    "--outdir",
                    str(folder),
                    str(source),
                ],
                check=True,
                capture_output=True,
                timeout=TIMEOUT_SECONDS,
            )
            return (folder / "paper.pdf").read_bytes()
        except (OSError, subprocess.SubprocessError) as err:
            raise PdfUnavailable(f"LibreOffice could not convert the document: {err}") from err


def _without_event_loop(func: Callable[[], T]) -> T:
    """Run ``func`` where no asyncio event loop is running.

    pyHanko's synchronous API drives its asynchronous core with ``asyncio.run``, which refuses
    to run inside a running loop (a worker thread of an async server, or a process that also
    drives a browser through Playwright's sync API): then it runs on a short-lived thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return func()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="konzeptwerk-pyhanko") as pool:
        return pool.submit(func).result()


def seal(pdf: bytes, cert_file: str, key_file: str, passphrase: bytes | None = None) -> bytes:
    """Sign the PDF with the installation's certificate: PAdES baseline B, SHA-256."""
    _load_pyhanko()
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.metadata.model import VENDOR
    from pyhanko.sign import fields, signers

    signer = signers.SimpleSigner.load(key_file, cert_file, key_passphrase=passphrase)
    if signer is None:
        raise ValueError("the seal certificate or key cannot be read")
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    # pyHanko names itself as the producer in the XMP metadata; the document information must
    # say the same (PDF/A wants them to agree), not "LibreOffice; pyHanko".
    info_ref = writer.trailer.raw_get("/Info")
    if info_ref is not None:
        info = info_ref.get_object()
        info["/Producer"] = generic.TextStringObject(VENDOR)
        writer.mark_update(info_ref)
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    out = _without_event_loop(lambda: signers.sign_pdf(writer, meta, signer=signer))
    return out.getvalue()


def records_pdf(docx: bytes, data: ExportData, config: Mapping[str, Any]) -> bytes:
    """Return the PDF/A-2b of an edition's Word document, sealed when a seal is configured.

    :raises PdfUnavailable: without LibreOffice, or when it fails.
    """
    if data.edition_number is None or not data.edition_hash:
        raise ValueError("a records PDF is made of an edition")
    description = f"{data.edition_label} ({data.edition_number})".strip()
    docx = with_record_properties(
        docx,
        description=description,
        keywords_line=keywords(data.paper_id, data.edition_number, data.edition_hash),
    )
    pdf = convert(docx)
    cert, key = config.get("SEAL_CERT"), config.get("SEAL_KEY")
    if cert and key:
        password = config.get("SEAL_KEY_PASSWORD")
        pdf = seal(pdf, str(cert), str(key), password.encode() if password else None)
    return pdf


@dataclass(frozen=True)
class Metadata:
    """What a records PDF says about itself."""

    title: str
    description: str
    paper_id: int | None
    edition: int | None
    edition_hash: str | None
    pdfa_part: str
    pdfa_conformance: str


def read_metadata(pdf: bytes) -> Metadata:
    """Read title, edition and hash from the PDF's XMP metadata."""
    _load_pyhanko()
    from lxml import etree
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    stream = reader.root.get("/Metadata")
    raw = stream.get_object().data if stream is not None else b""
    ns = {
        "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        "dc": "http://purl.org/dc/elements/1.1/",
        "pdf": "http://ns.adobe.com/pdf/1.3/",
        "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    }
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(raw, parser) if raw else etree.Element("empty")  # noqa: S320

    def first(path: str) -> str:
        found = root.xpath(path, namespaces=ns)
        return str(found[0]).strip() if found else ""

    keyword_line = first("//pdf:Keywords/text()") or first("//@pdf:Keywords")
    parsed = parse_keywords(keyword_line)
    return Metadata(
        title=first("//dc:title//rdf:li/text()"),
        description=first("//dc:description//rdf:li/text()"),
        paper_id=parsed[0] if parsed else None,
        edition=parsed[1] if parsed else None,
        edition_hash=parsed[2] if parsed else None,
        pdfa_part=first("//pdfaid:part/text()") or first("//@pdfaid:part"),
        pdfa_conformance=first("//pdfaid:conformance/text()") or first("//@pdfaid:conformance"),
    )


@dataclass(frozen=True)
class SealCheck:
    """The result of checking a PDF's seal."""

    sealed: bool
    intact: bool
    trusted: bool
    signer: str
    covers_whole_file: bool


def verify_seal(pdf: bytes, trust_roots: list[bytes]) -> SealCheck:
    """Check the PDF's signature: intact, valid and made by a certificate we trust."""
    _load_pyhanko()
    from asn1crypto import pem, x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    roots = []
    for blob in trust_roots:
        der = pem.unarmor(blob)[2] if pem.detect(blob) else blob
        roots.append(x509.Certificate.load(der))
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    signatures = reader.embedded_signatures
    if not signatures:
        return SealCheck(False, False, False, "", False)
    signature = signatures[-1]
    status = _without_event_loop(
        lambda: validate_pdf_signature(signature, ValidationContext(trust_roots=roots))
    )
    coverage = getattr(status, "coverage", None)
    return SealCheck(
        sealed=True,
        intact=bool(status.intact and status.valid),
        trusted=bool(status.trusted),
        signer=status.signing_cert.subject.human_friendly if status.signing_cert else "",
        covers_whole_file=coverage is not None and coverage.name == "ENTIRE_FILE",
    )
