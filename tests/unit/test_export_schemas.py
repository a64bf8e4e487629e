"""Every WordprocessingML part of the exports against the ECMA-376 transitional schemas.

Checked parts (each kind of export: plain, with comments, redline with comments, in a reference
document): ``word/document.xml``, ``styles.xml``, ``numbering.xml``, ``settings.xml``,
``comments.xml``, ``fontTable.xml``, ``webSettings.xml``, the headers and footers, and whatever
other ``word/*.xml`` part the package has (``stylesWithEffects.xml``, ``theme/theme1.xml``).
Markup compatibility is applied first, as a consumer does (ECMA-376 Part 3): elements and
attributes of the namespaces a part declares ignorable (Word 2010+ extensions such as
``w14:paraId``) are removed, ``mc:AlternateContent`` is replaced by its fallback.

The schemas are not part of the repository (they are Ecma International's, and this project
keeps no third-party data files): the test reads the ECMA-376 Part 4 (transitional) XSD set
(``wml.xsd`` and the files it imports, as published in the standard's electronic inserts)
from ``$OOXML_SCHEMA_DIR``, or ``../shared/ooxml-schemas`` beside the repository, and is
skipped when neither exists. See README "Word export" for how to get them.
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

from drafting.text.outline import heading_numbers
from exports.builder import build_document
from exports.data import Change, CommentData, DecisionData, ExportData, SectionData
from tests import docx_samples

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

---"""


def schema_dir() -> Path | None:
    """Return the folder with wml.xsd (ECMA-376 Part 4, transitional), or None."""
    root = Path(__file__).resolve().parents[2]
    for candidate in (
        os.environ.get("OOXML_SCHEMA_DIR"),
        root.parent / "shared" / "ooxml-schemas",
        root / "tests" / "schemas" / "ooxml",
    ):
        if candidate and (Path(candidate) / "wml.xsd").is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    folder = schema_dir()
    if folder is None:
        pytest.skip("ECMA-376 transitional schemas not found (OOXML_SCHEMA_DIR)")
    return etree.XMLSchema(etree.parse(str(folder / "wml.xsd")))


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
    )


def _exports() -> dict[str, bytes]:
    data = _data()
    changed = replace(
        data.sections[1],
        old_title="Alter Titel",
        old_body=BODY.replace("Halle", "Leipzig").replace("**Handel**", "Handel"),
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


def test_every_part_is_valid_against_the_transitional_schemas(schema: etree.XMLSchema) -> None:
    checked: set[str] = set()
    problems = []
    for kind, docx in _exports().items():
        with zipfile.ZipFile(io.BytesIO(docx)) as z:
            for name in z.namelist():
                if not (name.startswith("word/") and name.endswith(".xml")):
                    continue
                root = apply_markup_compatibility(etree.fromstring(z.read(name)))
                if not schema.validate(root):
                    problems += [f"{kind} {name}: {e.message}" for e in schema.error_log][:5]
                checked.add(name.split("/")[-1])
    assert not problems, "\n".join(problems)
    for part in ("document.xml", "styles.xml", "numbering.xml", "settings.xml", "comments.xml",
                 "fontTable.xml", "header1.xml", "footer1.xml"):  # fmt: skip
        assert part in checked, part


def test_the_check_finds_a_misplaced_element(schema: etree.XMLSchema) -> None:
    """The check is real: an element out of schema order fails."""
    with zipfile.ZipFile(io.BytesIO(_exports()["plain"])) as z:
        root = apply_markup_compatibility(etree.fromstring(z.read("word/document.xml")))
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    p = next(p for p in root.iter(f"{w}p") if p.find(f"{w}pPr") is not None)
    p.append(p.find(f"{w}pPr"))  # w:pPr must come first
    assert not schema.validate(root)
