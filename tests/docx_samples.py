"""Word files for the import and export tests: valid ones, ones with tracked changes, hostile ones.

Valid documents are made with python-docx (plus raw WordprocessingML where python-docx has no
API, e.g. tracked changes); hostile ones are built byte by byte with :mod:`zipfile`, so each
test knows exactly what it uploads.
"""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import uuid
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.oxml import parse_xml
from docx.shared import Mm, Pt, RGBColor

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NSDECL = f'xmlns:w="{W_NS}"'
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

TRACKED_AUTHOR = "Max Mustermann"
TRACKED_DATE = "2026-03-02T09:30:00Z"


def to_bytes(document: object) -> bytes:
    """Save a python-docx document into bytes."""
    out = io.BytesIO()
    document.save(out)  # type: ignore[attr-defined]
    return out.getvalue()


def headed_docx(sections: Iterable[tuple[int, str, Sequence[str]]], *, title: str = "") -> bytes:
    """Return a .docx with an optional Title paragraph and (level, heading, paragraphs)."""
    document = Document()
    if title:
        document.add_paragraph(title, style="Title")
    for level, heading, paragraphs in sections:
        document.add_heading(heading, level)
        for text in paragraphs:
            document.add_paragraph(text)
    return to_bytes(document)


@dataclass(frozen=True)
class Tracked:
    """A paragraph with one tracked replacement: ``before`` + del(old) + ins(new) + ``after``."""

    before: str
    old: str
    new: str
    after: str
    author: str = TRACKED_AUTHOR

    @property
    def original(self) -> str:
        return f"{self.before}{self.old}{self.after}"

    @property
    def accepted(self) -> str:
        return f"{self.before}{self.new}{self.after}"


def _t(text: str) -> str:
    return f'<w:t xml:space="preserve">{text}</w:t>'


def tracked_paragraph(change: Tracked, revision: int) -> object:
    """Return a w:p with a tracked deletion and insertion by the change's author."""
    parts = [f"<w:p {NSDECL}>"]
    if change.before:
        parts.append(f"<w:r>{_t(change.before)}</w:r>")
    if change.old:
        parts.append(
            f'<w:del w:id="{revision}" w:author="{change.author}" w:date="{TRACKED_DATE}">'
            f'<w:r><w:delText xml:space="preserve">{change.old}</w:delText></w:r></w:del>'
        )
    if change.new:
        parts.append(
            f'<w:ins w:id="{revision + 1}" w:author="{change.author}" w:date="{TRACKED_DATE}">'
            f"<w:r>{_t(change.new)}</w:r></w:ins>"
        )
    if change.after:
        parts.append(f"<w:r>{_t(change.after)}</w:r>")
    parts.append("</w:p>")
    return parse_xml("".join(parts))


def tracked_docx(sections: Iterable[tuple[int, str, Sequence[str | Tracked]]]) -> bytes:
    """Return a .docx whose paragraphs may carry tracked changes (:class:`Tracked`)."""
    document = Document()
    body = document.element.body
    revision = 1
    for level, heading, paragraphs in sections:
        document.add_heading(heading, level)
        for item in paragraphs:
            if isinstance(item, Tracked):
                body.sectPr.addprevious(tracked_paragraph(item, revision))
                revision += 2
            else:
                document.add_paragraph(item)
    return to_bytes(document)


def reference_docx(font: str = "Georgia", colour: str = "8B1A1A", size: int = 22) -> bytes:
    """Return a reference document with a distinctive Heading 1 (font, colour, size) and body."""
    document = Document()
    heading = document.styles["Heading 1"]
    heading.font.name = font
    heading.font.size = Pt(size)
    heading.font.color.rgb = RGBColor.from_string(colour)
    heading.font.bold = True
    # Word drops the theme fonts when a font is chosen; python-docx keeps them, and a theme
    # font wins over w:ascii (LibreOffice and Word would show Calibri).
    fonts = heading.element.rPr.rFonts
    for attribute in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        fonts.attrib.pop(f"{{{W_NS}}}{attribute}", None)
    document.sections[0].left_margin = Mm(35)  # the template's page setup is kept
    # The template's own text must not end up in an export.
    document.add_paragraph("Vorlagentext des Ministeriums, bitte löschen.")
    document.core_properties.author = "Vorlagenautor"
    return to_bytes(document)


# --- long papers ------------------------------------------------------------------------------

_WORDS = (
    "Innenstadt Handel Wohnen Quartier Mobilität Radverkehr Leerstand Gastronomie Förderung "
    "Bürgerbeteiligung Klimaanpassung Stadtgrün Zwischennutzung Wochenmarkt Nahversorgung "
    "Maßnahme Zielbild Verantwortung Umsetzung Evaluation Haushalt Straße Erdgeschoss"
).split()


def long_markdown(seed: int, size: int) -> str:
    """Return about ``size`` characters of Markdown: paragraphs, lists and tables."""
    rng = random.Random(seed)

    def sentence(words: int) -> str:
        text = " ".join(rng.choice(_WORDS) for _ in range(words))
        return text[0].upper() + text[1:] + "."

    blocks: list[str] = []
    length = 0
    while length < size:
        roll = rng.random()
        if roll < 0.15:
            block = "\n".join(f"- {sentence(6)}\n  - **{sentence(4)}**" for _ in range(3))
        elif roll < 0.25:
            rows = "\n".join(f"| {rng.choice(_WORDS)} | {rng.randint(1, 99)} % |" for _ in range(4))
            block = f"| Maßnahme | Anteil |\n|---|---:|\n{rows}"
        else:
            block = " ".join(sentence(rng.randint(6, 14)) for _ in range(4))
        blocks.append(block)
        length += len(block) + 2
    return "\n\n".join(blocks)


# --- hostile uploads ------------------------------------------------------------------------

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)


def document_xml(body: str, prolog: str = "") -> str:
    """Return word/document.xml around some body XML (prolog: e.g. a DOCTYPE)."""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f"{prolog}<w:document {NSDECL}><w:body>{body}<w:sectPr/></w:body></w:document>"
    )


def heading_xml(text: str, level: int = 1) -> str:
    return (
        f'<w:p><w:pPr><w:pStyle w:val="Heading{level}"/></w:pPr><w:r><w:t>{text}</w:t></w:r></w:p>'
    )


def paragraph_xml(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    f"<w:styles {NSDECL}>"
    + "".join(
        f'<w:style w:type="paragraph" w:styleId="Heading{n}"><w:name w:val="heading {n}"/>'
        "</w:style>"
        for n in (1, 2, 3)
    )
    + "</w:styles>"
)


def raw_docx(
    members: dict[str, bytes | str] | None = None,
    *,
    body: str | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """Return a minimal hand-made .docx; ``members`` add or replace parts."""
    parts: dict[str, bytes | str] = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": ROOT_RELS,
        "word/styles.xml": STYLES,
        "word/document.xml": document_xml(
            body if body is not None else heading_xml("Einleitung") + paragraph_xml("Text.")
        ),
    }
    parts.update(members or {})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in parts.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return out.getvalue()


def zip_bomb(uncompressed: int = 20 * 1024 * 1024) -> bytes:
    """A valid-looking .docx with a member of zeros that deflates about 1000:1."""
    return raw_docx({"word/media/image1.bin": b"\0" * uncompressed})


def lying_zip_bomb(actual: int = 30 * 1024 * 1024, declared: int = 2000) -> bytes:
    """A .docx whose document.xml declares a small size but inflates to ``actual`` bytes."""
    name = "word/document.xml"
    filler = "<w:p/>" * (actual // 6)
    data = bytearray(raw_docx({name: document_xml(heading_xml("Bombe") + filler)}))
    fake = declared.to_bytes(4, "little")
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(name)
    # The uncompressed size sits at offset 22 of the local header and 24 of the central
    # directory entry; both are rewritten (the CRC stays that of the real data).
    data[info.header_offset + 22 : info.header_offset + 26] = fake
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        length = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + length] == name.encode():
            data[at + 24 : at + 28] = fake
            break
        at = data.find(b"PK\x01\x02", at + 4)
    assert at >= 0
    assert zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(name).file_size == declared
    return bytes(data)


def xxe_docx() -> bytes:
    """A .docx whose document.xml declares an external entity and uses it in a heading."""
    prolog = '<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return raw_docx(
        {"word/document.xml": document_xml(heading_xml("&xxe;") + paragraph_xml("&xxe;"), prolog)}
    )


def xxe_docx_encoded(codec: str, *, declared: str | None = None) -> bytes:
    """The XXE sample with document.xml in another encoding (UTF-16 hides "<!DOCTYPE" bytes).

    ``codec`` names Python's codec (``utf-16`` writes a byte order mark, ``utf-16-le`` none);
    ``declared`` is the encoding named in the XML declaration (default: none named).
    """
    prolog = '<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    xml = document_xml(heading_xml("&xxe;") + paragraph_xml("&xxe;"), prolog)
    xml = xml.replace(' encoding="UTF-8"', f' encoding="{declared}"' if declared else "")
    return raw_docx({"word/document.xml": xml.encode(codec)})


def billion_laughs_docx() -> bytes:
    """A .docx with the billion-laughs entity expansion in its styles part."""
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
        for n in range(1, 10)
    )
    styles = (
        f'<?xml version="1.0"?><!DOCTYPE w:styles [{entities}]>'
        f"<w:styles {NSDECL}><w:docDefaults>&lol9;</w:docDefaults></w:styles>"
    )
    return raw_docx({"word/styles.xml": styles})


def zip_slip_docx(name: str = "../../../tmp/konzeptwerk-zip-slip.txt") -> bytes:
    """A .docx with a member whose name climbs out of the extraction directory."""
    return raw_docx({name: b"owned"})


def truncated_docx() -> bytes:
    """The first half of a valid .docx (the central directory is missing)."""
    whole = headed_docx([(1, "Einleitung", ["Ein Text, der abgeschnitten wird."])])
    return whole[: len(whole) // 2]


def ole_file(streams: Sequence[str]) -> bytes:
    """Bytes of an OLE compound file header naming the given streams (not a full CFB file)."""
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    header[24:26] = (0x3E).to_bytes(2, "little")  # minor version
    header[26:28] = (0x03).to_bytes(2, "little")  # major version 3
    header[28:30] = (0xFFFE).to_bytes(2, "little")  # little-endian
    header[30:32] = (9).to_bytes(2, "little")  # 512-byte sectors
    directory = b"".join(name.encode("utf-16-le").ljust(128, b"\0") for name in streams)
    return bytes(header) + directory.ljust(4096, b"\0")


def word97_doc() -> bytes:
    """An old binary Word document (.doc) — an OLE container with a WordDocument stream."""
    return ole_file(["Root Entry", "WordDocument", "1Table", "\x05SummaryInformation"])


def encrypted_docx() -> bytes:
    """A password-protected .docx: Office wraps the encrypted package in an OLE container."""
    return ole_file(["Root Entry", "EncryptionInfo", "EncryptedPackage", "\x06DataSpaces"])


def zip_encrypted_docx() -> bytes:
    """A .docx whose ZIP members are flagged as encrypted (traditional PKWARE encryption)."""
    data = bytearray(raw_docx())
    # zipfile cannot write encrypted members: set bit 0 of the general-purpose flags in every
    # local header (offset 6) and central directory entry (offset 8).
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        while at >= 0:
            data[at + offset] |= 0x1
            at = data.find(signature, at + 4)
    assert all(i.flag_bits & 0x1 for i in zipfile.ZipFile(io.BytesIO(bytes(data))).infolist())
    return bytes(data)


def odt_renamed() -> bytes:
    """An OpenDocument text file (as LibreOffice writes one), to be uploaded as .docx."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.text",
            compress_type=zipfile.ZIP_STORED,
        )
        archive.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
            '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
            '<manifest:file-entry manifest:full-path="/" manifest:media-type='
            '"application/vnd.oasis.opendocument.text"/></manifest:manifest>',
        )
        archive.writestr(
            "content.xml",
            '<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office='
            '"urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text='
            '"urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
            '<text:h text:outline-level="1">Einleitung</text:h></office:text></office:body>'
            "</office:document-content>",
        )
    return out.getvalue()


def plain_zip() -> bytes:
    """An ordinary ZIP archive, to be uploaded as .docx."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("liesmich.txt", "Kein Word-Dokument.")
        archive.writestr("daten/tabelle.csv", "a;b\n1;2\n")
    return out.getvalue()


def pdf_renamed() -> bytes:
    """The start of a PDF file, to be uploaded as .docx."""
    return b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def not_word_zip() -> bytes:
    """A well-formed OOXML package that is not a Word document (a spreadsheet's content type)."""
    types = CONTENT_TYPES.replace(
        "wordprocessingml.document.main+xml", "spreadsheetml.sheet.main+xml"
    )
    return raw_docx({"[Content_Types].xml": types})


def too_many_members(count: int = 1200) -> bytes:
    """A .docx padded with many tiny members."""
    return raw_docx({f"word/media/part{n}.xml": "<x/>" for n in range(count)})


#: name → (bytes, the file name the upload claims). Every one must be refused with 422.
def hostile_uploads() -> dict[str, bytes]:
    """Return every hostile upload the import must refuse, by name."""
    return {
        "zip bomb 1000:1": zip_bomb(),
        "zip bomb lying about its size": lying_zip_bomb(),
        "xxe entity": xxe_docx(),
        "xxe entity in UTF-16": xxe_docx_encoded("utf-16", declared="UTF-16"),
        "xxe entity in UTF-16 without BOM": xxe_docx_encoded("utf-16-le"),
        "xxe entity in UTF-32": xxe_docx_encoded("utf-32"),
        "billion laughs": billion_laughs_docx(),
        "zip slip ../": zip_slip_docx(),
        "zip slip absolute": zip_slip_docx("/etc/konzeptwerk-zip-slip"),
        "zip slip backslash": zip_slip_docx("..\\..\\konzeptwerk-zip-slip.txt"),
        "empty": b"",
        "truncated": truncated_docx(),
        ".doc renamed": word97_doc(),
        "password-protected .docx": encrypted_docx(),
        "zip-encrypted members": zip_encrypted_docx(),
        ".odt renamed": odt_renamed(),
        ".zip renamed": plain_zip(),
        ".pdf renamed": pdf_renamed(),
        "spreadsheet package": not_word_zip(),
        "too many members": too_many_members(),
    }


# --- LibreOffice ------------------------------------------------------------------------------


def soffice() -> str | None:
    """Return the LibreOffice binary, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert(files: Sequence[Path], target: str, outdir: Path, timeout: int = 300) -> list[Path]:
    """Convert Word files with headless LibreOffice (one process, a private profile).

    :returns: the converted files, in the order given.
    :raises AssertionError: when LibreOffice fails or leaves a file out.
    """
    binary = soffice()
    assert binary is not None, "LibreOffice (soffice) is not installed"
    profile = Path("/tmp") / f"lo-{uuid.uuid4().hex}"
    try:
        done = subprocess.run(
            [
                binary,
                f"-env:UserInstallation=file://{profile}",
                "--headless",
                "--norestore",
                "--convert-to",
                target,
                "--outdir",
                str(outdir),
                *map(str, files),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    extension = target.split(":")[0]
    results = [outdir / f"{f.stem}.{extension}" for f in files]
    missing = [str(r) for r in results if not r.exists()]
    assert done.returncode == 0 and not missing, (
        f"LibreOffice failed ({done.returncode}), missing {missing}:\n{done.stdout}{done.stderr}"
    )
    return results
