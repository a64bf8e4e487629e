"""PDF/A records copy of a 300-section edition, against LibreOffice's own conversion of the docx.

The generated 300-section paper of ``bench_export`` (as an edition with a hash) goes through
the export's PDF path: ``build_document``, the layout pass for the contents' page numbers
(``exports.layout.heading_pages``: one LibreOffice run), ``build_document`` again with the
pages, then ``exports.pdfa.records_pdf`` (PDF/A-2b by LibreOffice, XMP, and the pyHanko seal
with a throw-away certificate). The named peer, measured in the same run: ``soffice
--convert-to pdf`` of the same .docx (a plain PDF, no layout pass, no seal). LibreOffice
dominates both; the figure to watch is the ratio (the layout pass makes it about 2 ×).

    .venv/bin/python bench/bench_pdfa.py [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

import common
from bench_export import SECTIONS, measure, paper

from exports import layout, pdfa
from exports.builder import build_document

REPEAT, QUICK_REPEAT = 3, 1


def _seal(folder: Path) -> dict[str, str]:
    from tests.seal_certs import make_seal

    cert, key = make_seal(folder, "Benchmark-Siegel")
    return {"SEAL_CERT": str(cert), "SEAL_KEY": str(key)}


def plain_pdf(source: Path, folder: Path) -> None:
    """LibreOffice's own conversion of the .docx to PDF (the peer)."""
    binary = shutil.which("soffice")
    assert binary is not None
    profile = folder / f"profile-{uuid.uuid4().hex}"
    subprocess.run(
        [
            binary,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder / "plain"),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    shutil.rmtree(profile, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one measured run each")
    args = parser.parse_args()
    repeat = QUICK_REPEAT if args.quick else REPEAT
    common.header(f"PDF/A records copy of {SECTIONS} sections vs soffice --convert-to pdf", True)
    if shutil.which("soffice") is None:
        print("  LibreOffice is not installed: nothing to measure")
        return
    data = replace(
        paper(SECTIONS),
        status="final",
        edition_label="Gesamtfassung 1",
        edition_number=1,
        edition_hash="b" * 64,
    )
    with tempfile.TemporaryDirectory(prefix="kw-bench-pdfa-") as tmp:
        folder = Path(tmp)
        config = _seal(folder)
        docx = build_document(data)
        source = folder / "paper.docx"
        source.write_bytes(docx)
        result: dict[str, bytes] = {}

        def ours() -> None:
            content = build_document(data)
            pages = layout.heading_pages(content, data.sections)
            if pages is not None:
                content = build_document(data, toc_pages=pages)
            result["pdf"] = pdfa.records_pdf(content, data, config)

        samples: dict[str, list[tuple[float, float]]] = {"ours": [], "peer": []}
        for _ in range(repeat):
            samples["ours"].append(measure(ours))
            samples["peer"].append(measure(lambda: plain_pdf(source, folder)))
        stats = {
            name: common.stats([w for w, _c in got], [c for _w, c in got])
            for name, got in samples.items()
        }
        meta = pdfa.read_metadata(result["pdf"])
        check = pdfa.verify_seal(result["pdf"], [Path(config["SEAL_CERT"]).read_bytes()])
        print()
        common.line("records PDF (layout pass, PDF/A, seal)", stats["ours"])
        common.line("soffice --convert-to pdf of the docx", stats["peer"])
        print(
            f"  PDF: {len(result['pdf']) / 1024:.0f} KB, PDF/A-{meta.pdfa_part}"
            f"{meta.pdfa_conformance.lower()}, edition hash in XMP: "
            f"{meta.edition_hash == data.edition_hash}, seal intact: {check.intact}"
        )
        print()
        common.ratio("records PDF / LibreOffice's conversion", stats["ours"], stats["peer"])


if __name__ == "__main__":
    main()
