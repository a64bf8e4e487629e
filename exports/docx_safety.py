"""Check an uploaded .docx before anything is unzipped or parsed.

Refused: empty, truncated or corrupt files; old .doc files and password-protected documents
(both OLE compound files); OpenDocument and plain ZIP files renamed to .docx; archives with too
many members, too much uncompressed data or suspicious compression ratios (zip bombs); member
names that climb out of the archive (zip slip); XML with a DTD (external entities, billion
laughs).
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from lxml import etree

from workflows.errors import WorkflowError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


class UnsafeDocument(WorkflowError):
    """The upload is not a usable, safe .docx; nothing was created."""

    code = "invalid_document"
    status = 422


@dataclass(frozen=True)
class Limits:
    """How much an upload may unpack to."""

    max_members: int = 1000
    max_uncompressed: int = 100 * 1024 * 1024
    max_member: int = 50 * 1024 * 1024
    max_ratio: int = 100  # uncompressed / compressed, for members over 1 MB


_DOCTYPE_TEXT = re.compile(r"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
SAFE_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_blank_text=False,
)


def check(data: bytes, limits: Limits | None = None) -> zipfile.ZipFile:
    """Return the opened archive of a safe .docx.

    :raises UnsafeDocument: with a message the user can act on.
    """
    limits = limits or Limits()
    if not data:
        raise UnsafeDocument(_l("The file is empty."))
    if data.startswith(OLE_MAGIC):
        raise UnsafeDocument(
            _l(
                "This is an old Word document (.doc) or a password-protected file. Please save it "
                "in Word as .docx without a password and upload it again."
            )
        )
    if not data.startswith(ZIP_MAGIC):
        raise UnsafeDocument(_l("This is not a Word document (.docx)."))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError):
        raise UnsafeDocument(_l("The file is damaged or incomplete.")) from None
    names = {info.filename for info in infos}
    if "mimetype" in names and "[Content_Types].xml" not in names:
        raise UnsafeDocument(
            _l("This is an OpenDocument file (.odt). Please save it as Word document (.docx).")
        )
    if len(infos) > limits.max_members:
        raise UnsafeDocument(_l("The file has too many parts to be a normal Word document."))
    total = 0
    for info in infos:
        name = info.filename
        if name.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", name) or ":" in name:
            raise UnsafeDocument(_l("The file contains parts with unsafe names."))
        if info.flag_bits & 0x1:
            raise UnsafeDocument(_l("The file is encrypted."))
        total += info.file_size
        if info.file_size > limits.max_member or total > limits.max_uncompressed:
            raise UnsafeDocument(_l("The file would unpack to more data than allowed."))
        if info.file_size > 1024 * 1024 and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise UnsafeDocument(_l("The file is compressed suspiciously strongly."))
    has_main = "word/document.xml" in names or (
        "_rels/.rels" in names and b"/officeDocument" in archive.read("_rels/.rels")[:200_000]
    )
    if "[Content_Types].xml" not in names or not has_main:
        raise UnsafeDocument(_l("This ZIP file is not a Word document (.docx)."))
    content_types = read_xml(archive, "[Content_Types].xml")
    if WORD_MAIN.encode() not in etree.tostring(content_types):
        raise UnsafeDocument(_l("This file is not a Word document (.docx)."))
    for name in names:
        if name.endswith((".xml", ".rels")):
            read_xml(archive, name)  # refuses DTDs and malformed XML in every part
    return archive


def read_xml(archive: zipfile.ZipFile, name: str) -> etree._Element:
    """Read and parse one XML part without DTDs, entities or network access.

    :raises UnsafeDocument: for a DTD or malformed XML.
    """
    try:
        raw = archive.read(name)
    except (KeyError, zipfile.BadZipFile, OSError, EOFError, RuntimeError):
        raise UnsafeDocument(_l("The file is damaged or incomplete.")) from None
    # Two layers: the text is checked after decoding (a UTF-16 or UTF-32 part hides its
    # "<!DOCTYPE" from a byte search), and the parser, which never loads a DTD, is asked
    # afterwards whether the part declared one.
    if _DOCTYPE_TEXT.search(_decoded(raw)):
        raise UnsafeDocument(_l("The file contains XML declarations that are not allowed."))
    try:
        root = etree.fromstring(raw, SAFE_PARSER)
    except (etree.XMLSyntaxError, ValueError):
        raise UnsafeDocument(_l("The file is damaged or incomplete.")) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UnsafeDocument(_l("The file contains XML declarations that are not allowed."))
    return root


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# "<?" in the encodings XML allows without a byte order mark (XML 1.0, appendix F).
_UNMARKED = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)
_DECLARED = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _decoded(raw: bytes) -> str:
    """Return an XML part as text, decoded the way an XML parser would read it."""
    encoding = "utf-8"
    for bom, name in _BOMS:
        if raw.startswith(bom):
            encoding = name
            break
    else:
        for start, name in _UNMARKED:
            if raw.startswith(start):
                encoding = name
                break
        else:
            declared = _DECLARED.match(raw)
            if declared:
                encoding = declared.group(1).decode("ascii")
    try:
        return raw.decode(encoding, errors="replace")
    except LookupError:  # an encoding Python does not know: read it byte by byte
        return raw.decode("latin-1")
