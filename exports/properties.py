"""Custom document properties (``docProps/custom.xml``) of an exported Word file.

Every export names its paper in the property ``konzeptwerk_paper`` (and, for an edition,
``konzeptwerk_edition``), so that a file sent back can be matched to its paper; Word shows them
under File → Properties → Custom, LibreOffice under "Custom Properties".
"""

from __future__ import annotations

from typing import Any

from docx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from lxml import etree

CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
#: The format id every user-defined property carries (FMTID_UserDefinedProperties).
USER_DEFINED = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
PART_NAME = "/docProps/custom.xml"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

PAPER = "konzeptwerk_paper"
EDITION = "konzeptwerk_edition"


def _part(doc: Any) -> Part | None:
    package = doc.part.package
    for rel in package.rels.values():
        if rel.reltype == RELATIONSHIP_TYPE.CUSTOM_PROPERTIES and not rel.is_external:
            return rel.target_part
    return None


def set_properties(doc: Any, values: dict[str, str]) -> None:
    """Set text-valued custom properties, keeping a reference document's other ones."""
    part = _part(doc)
    if part is not None:
        root = etree.fromstring(part.blob, _PARSER)  # noqa: S320 — no entities, no network
    else:
        root = etree.Element(f"{{{CUSTOM_NS}}}Properties", nsmap={None: CUSTOM_NS, "vt": VT_NS})
    props = {p.get("name"): p for p in root.findall(f"{{{CUSTOM_NS}}}property")}
    pids = [int(p.get("pid") or 1) for p in props.values()]
    next_pid = max([1, *pids]) + 1
    for name, value in values.items():
        prop = props.get(name)
        if prop is None:
            prop = etree.SubElement(root, f"{{{CUSTOM_NS}}}property")
            prop.set("fmtid", USER_DEFINED)
            prop.set("pid", str(next_pid))
            prop.set("name", name)
            next_pid += 1
        for child in list(prop):
            prop.remove(child)
        etree.SubElement(prop, f"{{{VT_NS}}}lpwstr").text = value
    blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    if part is not None:
        part._blob = blob  # noqa: SLF001 — python-docx keeps unknown parts as blobs
        return
    package = doc.part.package
    part = Part(PackURI(PART_NAME), CONTENT_TYPE.OFC_CUSTOM_PROPERTIES, blob, package)
    package.relate_to(part, RELATIONSHIP_TYPE.CUSTOM_PROPERTIES)


def read_properties(blob: bytes) -> dict[str, str]:
    """Return the custom properties' text values from a ``docProps/custom.xml``."""
    root = etree.fromstring(blob, _PARSER)  # noqa: S320 — no entities, no network
    out: dict[str, str] = {}
    for prop in root.findall(f"{{{CUSTOM_NS}}}property"):
        value = next(iter(prop), None)
        if prop.get("name") and value is not None:
            out[str(prop.get("name"))] = value.text or ""
    return out
