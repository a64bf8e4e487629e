"""Every part of the exports against the ECMA-376 transitional schemas.

Checked parts, in each kind of export (plain, with comments, redline with comments, in a
reference document; every section holds a footnote and a figure): every ``word/*.xml`` part
(``document.xml``, ``styles.xml``, ``numbering.xml``, ``settings.xml``, ``comments.xml``,
``footnotes.xml``, ``fontTable.xml``, ``webSettings.xml``, ``theme/theme1.xml``, the headers and
footers, ``stylesWithEffects.xml`` where a reference document brings one) against ``wml.xsd``
and what it imports (DrawingML, VML, math, the w14/w15/w16 extensions); ``docProps/core.xml``
against ``opc-coreProperties.xsd``; ``docProps/app.xml`` and ``docProps/custom.xml`` against
the extended/custom properties schemas; every ``*.rels`` against ``relationships.xsd`` (OPC).
Not checked: ``[Content_Types].xml`` (the set has no OPC content-types schema), images, and the
reference document's custom XML data (``customXml/item*.xml``, arbitrary XML copied as it
came). Markup compatibility is applied first, as a consumer does (ECMA-376 Part 3): elements
and attributes of the namespaces a part declares ignorable (Word 2010+ extensions such
as ``w14:paraId``) are removed, ``mc:AlternateContent`` is replaced by its fallback.

The schemas are not part of the repository: ``make ooxml-schemas`` (run by ``make test``, so by
CI) fetches them from PyPI into ``.cache/ooxml-schemas/`` — the source distribution of docx4j
0.2.0, pinned by hash, whose ``schemas/`` is docx4j's copy of the ECMA-376 XSDs (source,
licence and the one fix applied: ``.ci/ooxml-schemas``). ``$OOXML_SCHEMA_DIR`` (the folder
holding ``wml.xsd``) takes precedence. Without them the tests skip, and fail under CI=true.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image

from drafting.text.outline import heading_numbers
from exports.builder import build_document
from exports.data import Change, CommentData, DecisionData, ExportData, FigureData, SectionData
from tests import docx_samples
from tests.conftest import services_required

MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
BODY = """Die Innenstadt lebt vom **Handel**, *Wohnen* und `Kultur`. Mehr unter \
[dem Portal](https://example.org/).

3. Dritter Schritt
4. Vierter Schritt
   - darunter

> Ein Zitat.

| Stadt | Jahr |
|---|---|
| Halle | 2024 |

```
Block
```

Die Stadt trägt die Hälfte[^1].

![Karte der *Innenstadt*](figure:1)

---

[^1]: Haushaltsplan 2026, S. 12."""


def schema_dir() -> Path | None:
    """Return the folder with wml.xsd (ECMA-376 transitional), or None."""
    root = Path(__file__).resolve().parents[2]
    for candidate in (
        os.environ.get("OOXML_SCHEMA_DIR"),
        root / ".cache" / "ooxml-schemas" / "wml",  # make ooxml-schemas
        root.parent / "shared" / "ooxml-schemas",
    ):
        if candidate and (Path(candidate) / "wml.xsd").is_file():
            return Path(candidate)
    return None


def _folder() -> Path:
    folder = schema_dir()
    if folder is None:
        reason = "ECMA-376 transitional schemas not found: run `make ooxml-schemas`"
        if services_required():
            pytest.fail(f"{reason} (CI=true: the schema check may not skip)")
        pytest.skip(reason)
    return folder


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(_folder() / "wml.xsd")))


@pytest.fixture(scope="module")
def package_schemas() -> dict[str, etree.XMLSchema]:
    """The schemas of the package parts outside word/, by part name pattern."""
    root = _folder().parent
    props = root / "docProps"
    if not (root / "relationships.xsd").is_file():  # an OOXML_SCHEMA_DIR with wml.xsd alone
        pytest.skip("no relationships.xsd/docProps beside wml.xsd's folder")
    return {
        name: etree.XMLSchema(etree.parse(str(path)))
        for name, path in {
            ".rels": root / "relationships.xsd",
            "docProps/core.xml": props / "opc-coreProperties.xsd",
            "docProps/app.xml": props / "shared-documentPropertiesExtended.xsd",
            "docProps/custom.xml": props / "shared-documentPropertiesCustom.xsd",
        }.items()
    }


def apply_markup_compatibility(root: etree._Element) -> etree._Element:
    """Remove what a consumer of plain ECMA-376 ignores (mc:Ignorable), take mc:Fallback."""
    ignorable = {root.nsmap.get(p) for p in (root.get(f"{{{MC}}}Ignorable") or "").split()}
    ignorable = (ignorable - {None}) | {MC}
    for el in list(root.iter()):
        if not isinstance(el.tag, str) or el.getparent() is None and el is not root:
            continue
        if el.tag == f"{{{MC}}}AlternateContent":
            parent = el.getparent()
            at = parent.index(el)
            fallback = el.find(f"{{{MC}}}Fallback")
            for child in list(fallback) if fallback is not None else []:
                parent.insert(at, child)
                at += 1
            parent.remove(el)
        elif etree.QName(el).namespace in ignorable and el is not root:
            el.getparent().remove(el)
        else:
            for name in list(el.attrib):
                if name.startswith("{") and etree.QName(name).namespace in ignorable:
                    del el.attrib[name]
    return root


def _data() -> ExportData:
    levels = [1, 2, 3, 1]
    sections = tuple(
        SectionData(
            section_id=10 + i,
            number=number,
            level=level,
            title=f"Abschnitt {i}",
            body=BODY,
            version=2,
            author="Erika Erst",
            saved_at=T0,
            comments=(CommentData("Cem K", "CK", T0, "Quelle?", "Dritter Schritt"),),
        )
        for i, (number, level) in enumerate(zip(heading_numbers(levels), levels, strict=True))
    )
    png = io.BytesIO()
    Image.new("RGB", (400, 200), (200, 0, 0)).save(png, format="PNG")
    return ExportData(
        paper_id=1,
        title="Innenstadt",
        summary="Kurz.",
        lead_organisation="HVM",
        participants=("HVM", "IHK"),
        status="final",
        edition_label="Gesamtfassung 2",
        edition_number=2,
        edition_hash="a" * 64,
        date=T0,
        sections=sections,
        decisions=(DecisionData("HVM", "approve", "Mira Amt", T0, ""),),
        figures={1: FigureData(1, png.getvalue(), "image/png", 400, 200)},
    )


def _exports() -> dict[str, bytes]:
    data = _data()
    changed = replace(
        data.sections[1],
        old_title="Alter Titel",
        old_body=BODY.replace("Halle", "Leipzig")
        .replace("**Handel**", "Handel")
        .replace("Hälfte", "Summe")
        .replace("S. 12", "S. 10"),
        history=(Change(2, "Ben Brandt", T0, "Abschnitt 1", BODY),),
    )
    removed = replace(data.sections[3], section_id=99, number="", follows=12)
    redline = replace(
        data,
        sections=(data.sections[0], changed, *data.sections[2:]),
        removed_sections=(removed,),
        redline_against=1,
    )
    return {
        "plain": build_document(data),
        "comments": build_document(data, comments=True),
        "redline": build_document(redline, comments=True),
        "reference": build_document(data, reference=docx_samples.reference_docx(), comments=True),
    }


def _part_schema(
    name: str, schema: etree.XMLSchema, package: dict[str, etree.XMLSchema]
) -> etree.XMLSchema | None:
    if name.endswith(".rels"):
        return package[".rels"]
    if name.startswith("word/") and name.endswith(".xml"):
        return schema
    return package.get(name)


def test_every_part_is_valid_against_the_transitional_schemas(
    schema: etree.XMLSchema, package_schemas: dict[str, etree.XMLSchema]
) -> None:
    checked: set[str] = set()
    problems = []
    for kind, docx in _exports().items():
        with zipfile.ZipFile(io.BytesIO(docx)) as z:
            for name in z.namelist():
                part_schema = _part_schema(name, schema, package_schemas)
                if part_schema is None:
                    continue
                root = apply_markup_compatibility(etree.fromstring(z.read(name)))
                if not part_schema.validate(root):
                    problems += [f"{kind} {name}: {e.message}" for e in part_schema.error_log][:5]
                checked.add(name)
    assert not problems, "\n".join(problems)
    for part in ("word/document.xml", "word/styles.xml", "word/numbering.xml",
                 "word/settings.xml", "word/comments.xml", "word/footnotes.xml",
                 "word/fontTable.xml", "word/header1.xml", "word/footer1.xml",
                 "docProps/core.xml", "docProps/app.xml", "_rels/.rels",
                 "word/_rels/document.xml.rels"):  # fmt: skip
        assert part in checked, part
    # What is left unchecked: the content types, images, and the reference document's own
    # custom XML data (arbitrary XML, copied as it came).
    every = {n for d in _exports().values() for n in zipfile.ZipFile(io.BytesIO(d)).namelist()}
    assert {n for n in every - checked if not n.startswith(("word/media/", "customXml/item"))} == {
        "[Content_Types].xml",
        "docProps/thumbnail.jpeg",
    }


def test_the_check_finds_a_misplaced_element(schema: etree.XMLSchema) -> None:
    """The check is real: an element out of schema order fails."""
    with zipfile.ZipFile(io.BytesIO(_exports()["plain"])) as z:
        root = apply_markup_compatibility(etree.fromstring(z.read("word/document.xml")))
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    p = next(p for p in root.iter(f"{w}p") if p.find(f"{w}pPr") is not None)
    p.append(p.find(f"{w}pPr"))  # w:pPr must come first
    assert not schema.validate(root)
