"""Word export and import of a 300-section paper, against pandoc on the same Markdown.

A generated paper of 300 sections (levels 1–3; paragraphs, bullet and numbered lists, tables:
about 300 A4 pages) is exported with ``exports.builder.build_document``; the same Markdown,
with the section headings as ``#``–``###``, is converted by ``pandoc -f markdown -t docx`` in
the same run (the named peer). Then 600 sections (doubling), then importing the exported
300-section file: reading it (``exports.docx_import.read``) and the full import into a fresh
SQLite database (``exports.importing.import_docx``: 300 sections created).

Targets: ours ≤ 0.5 × pandoc's time; 600 sections ≤ 2.2 × the 300-section time; a redline of
the 300 sections with 60 changed (two versions by two authors each) ≤ 1.5 × the plain export.
Last, the 300 sections with a footnote each and 30 figures (1200 × 700 PNG charts) against
pandoc on the same Markdown with the same images as files: ours ≤ 0.4 × pandoc's time
(``--notes-only`` runs just that part).

    .venv/bin/python bench/bench_export.py [--quick] [--pages] [--notes-only]

``--pages`` converts the 300-section file with headless LibreOffice and prints its page count.
The four timed jobs run in turns, five times each after a warm-up; CPU figures include child
processes (pandoc is one).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import common

from drafting.text.outline import heading_numbers
from exports.builder import build_document
from exports.data import Change, ExportData, FigureData, SectionData

SECTIONS = 300
SECTION_CHARS = 2_500  # about one A4 page per section with lists and tables
REPEAT, QUICK_REPEAT = 5, 2


def paper(sections: int, seed: int = 6) -> ExportData:
    """Return a generated paper: levels 1–3 in a plausible outline, German-ish Markdown."""
    rng = random.Random(seed)
    levels = [1 if n % 6 == 0 else rng.choice([2, 2, 3]) for n in range(sections)]
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    return ExportData(
        paper_id=1,
        title="Gemeinsames Konzept Innenstadt 2030",
        summary="Ein generiertes Papier für den Benchmark.",
        lead_organisation="Ministerium für Wirtschaft",
        participants=("Stadt Beispielstadt", "IHK Beispielregion"),
        status="drafting",
        edition_label="",
        edition_number=None,
        edition_hash=None,
        date=now,
        sections=tuple(
            SectionData(
                section_id=n + 1,
                number=number,
                level=level,
                title=f"{common.sentence(rng, 4).rstrip('.:?')}",
                body=common.markdown_section(rng, SECTION_CHARS),
                version=1,
                author="Redaktion",
                saved_at=now,
            )
            for n, (number, level) in enumerate(zip(heading_numbers(levels), levels, strict=True))
        ),
    )


CHANGED_EVERY = 5  # 60 of 300 sections changed in the redline


def redline(data: ExportData, seed: int = 7) -> ExportData:
    """Return a redline of the paper against an earlier edition with every fifth section changed.

    In a changed section, two versions by two authors replaced words, dropped a paragraph,
    added one and changed a table cell; the others are the same in both editions.
    """
    rng = random.Random(seed)
    sections = []
    for index, s in enumerate(data.sections):
        if index % CHANGED_EVERY:
            sections.append(replace(s, old_title=s.title, old_body=s.body))
            continue
        paragraphs = s.body.split("\n\n")
        old = "\n\n".join(paragraphs[:-1] + [common.sentence(rng, 12)])
        words = s.body.split(" ")
        for _ in range(6):
            at = rng.randrange(len(words))
            if words[at].isalpha():
                words[at] = rng.choice(common.WORDS)
        middle = " ".join(words)
        new = middle + "\n\n" + common.sentence(rng, 10)
        history = (
            Change(2, "Anna Alt", s.saved_at, s.title, middle),
            Change(3, "Ben Brandt", s.saved_at, s.title, new),
        )
        sections.append(replace(s, body=new, old_title=s.title, old_body=old, history=history))
    return replace(data, sections=tuple(sections), redline_against=1)


FIGURE_EVERY = 10  # 30 figures in 300 sections; every section gets a footnote


def figure_png(rng: random.Random, number: int) -> bytes:
    """A chart-like 1200 × 700 PNG (bars on a white ground), as figures in papers are."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1200, 700), "white")
    draw = ImageDraw.Draw(image)
    for bar in range(12):
        height = rng.randrange(80, 620)
        colour = (rng.randrange(256), rng.randrange(256), number % 256)
        draw.rectangle((60 + bar * 92, 680 - height, 130 + bar * 92, 680), fill=colour)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def with_notes_and_figures(data: ExportData, seed: int = 8) -> ExportData:
    """Return the paper with a footnote in every section and a figure in every tenth."""
    rng = random.Random(seed)
    figures: dict[int, FigureData] = {}
    sections = []
    for index, s in enumerate(data.sections):
        note = f"[^q{index}]: Quelle: {common.sentence(rng, 9)} ({2000 + index % 25}), S. {index}."
        body = f"Nach der Quelle[^q{index}] gilt: {common.sentence(rng, 8)}\n\n{s.body}"
        if index % FIGURE_EVERY == 0:
            ident = index // FIGURE_EVERY + 1
            data_png = figure_png(rng, ident)
            figures[ident] = FigureData(ident, data_png, "image/png", 1200, 700)
            body += f"\n\n![{common.sentence(rng, 6).rstrip('.')}](figure:{ident})"
        sections.append(replace(s, body=f"{body}\n\n{note}"))
    return replace(data, sections=tuple(sections), figures=figures)


def markdown(data: ExportData) -> str:
    """The paper as one Markdown document for pandoc."""
    parts = [f"% {data.title}", ""]
    for s in data.sections:
        parts += [f"{'#' * s.level} {s.title}", "", s.body, ""]
    return "\n".join(parts)


def pandoc(source: str, out: Path, cwd: Path | None = None) -> None:
    subprocess.run(
        ["pandoc", "-f", "markdown", "-t", "docx", "-o", str(out)],
        input=source.encode(),
        check=True,
        cwd=cwd,
    )


def pandoc_figures(data: ExportData, folder: Path) -> str:
    """The Markdown for pandoc with each figure as a PNG file next to it (same images)."""
    for ident, figure in data.figures.items():
        (folder / f"figure-{ident}.png").write_bytes(figure.data)
    source = markdown(data)
    for ident in data.figures:
        source = source.replace(f"](figure:{ident})", f"](figure-{ident}.png)")
    return source


def notes_and_figures(repeat: int) -> None:
    """Time the paper with 300 footnotes and 30 figures against pandoc (target ≤ 0.4 ×)."""
    noted = with_notes_and_figures(paper(SECTIONS))
    with tempfile.TemporaryDirectory(prefix="kw-bench-notes-") as tmp:
        folder = Path(tmp)
        source = pandoc_figures(noted, folder)
        png = sum(len(f.data) for f in noted.figures.values()) / 1e6
        print(
            f"  paper: {SECTIONS} sections, {source.count('[^q') // 2} footnotes, "
            f"{len(noted.figures)} figures ({png:.1f} MB of PNG)"
        )
        timed, best = round_robin(
            {
                "ours": lambda: build_document(noted),
                "pandoc": lambda: pandoc(source, folder / "pandoc.docx", cwd=folder),
            },
            repeat,
        )
        ours, peer = timed["ours"], timed["pandoc"]
        print()
        common.line("build_document, notes and figures", ours)
        common.line("pandoc -t docx, the same Markdown", peer)
        print()
        common.ratio("ours / pandoc (notes and figures)", ours, peer)
        print(f"  {'least CPU of the runs':<40} ours / pandoc ×{best['ours'] / best['pandoc']:.2f}")
        common.verdict(
            "notes and figures: ours / pandoc, CPU p50", ours.cpu_p50 / peer.cpu_p50, 0.4, "×"
        )


def measure(fn: Callable[[], object]) -> tuple[float, float]:
    """Run once; return wall-clock and CPU seconds, the CPU of child processes included."""
    before, started = os.times(), time.perf_counter()
    fn()
    wall, after = time.perf_counter() - started, os.times()
    cpu = sum(
        getattr(after, f) - getattr(before, f)
        for f in ("user", "system", "children_user", "children_system")
    )
    return wall, cpu


def round_robin(
    jobs: dict[str, Callable[[], object]], repeat: int
) -> tuple[dict[str, common.Stats], dict[str, float]]:
    """Time the jobs in turns (one warm-up each), so load and heap growth hit them alike.

    :returns: the statistics of each job, and its least CPU time (the least disturbed run).
    """
    for fn in jobs.values():
        fn()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in jobs}
    for _ in range(repeat):
        for name, fn in jobs.items():
            samples[name].append(measure(fn))
    stats = {
        name: common.stats([w for w, _c in got], [c for _w, c in got])
        for name, got in samples.items()
    }
    return stats, {name: min(c for _w, c in got) for name, got in samples.items()}


def pages(path: Path) -> int | None:
    """Count the pages LibreOffice lays the file out on (None without LibreOffice)."""
    binary = shutil.which("soffice")
    if binary is None or shutil.which("pdfinfo") is None:
        return None
    profile = Path("/tmp") / f"lo-{uuid.uuid4().hex}"
    try:
        subprocess.run(
            [
                binary,
                f"-env:UserInstallation=file://{profile}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(path.parent),
                str(path),
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    info = subprocess.run(
        ["pdfinfo", str(path.with_suffix(".pdf"))], check=True, capture_output=True, text=True
    ).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def import_into_database(content: bytes, instance: Path) -> tuple[float, float, int]:
    """Import the file as a new paper into a fresh SQLite database: wall and CPU seconds."""
    from drafting.extensions import db
    from drafting.models import OrgKind
    from exports.importing import import_docx
    from workflows import accounts

    with common.database() as url:
        app = common.make_app(url, instance)
        app.config["MAX_TITLE_CHARS"] = 300
        with app.app_context():
            org = accounts.create_organisation("Ministerium Bench", "MIN", OrgKind.MINISTRY)
            user = accounts.create_user(
                "lead@bench.example",
                "Lea",
                org,
                "Fernweh-Karussell-Gewitter-92",
                check_strength=False,
            )
            started, started_cpu = time.perf_counter(), time.process_time()
            result = import_docx(user, content)
            db.session.commit()
            elapsed = time.perf_counter() - started, time.process_time() - started_cpu
            db.session.remove()
            db.engine.dispose()
    return elapsed[0], elapsed[1], result.sections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one measured run each")
    parser.add_argument("--pages", action="store_true", help="count pages with LibreOffice")
    parser.add_argument(
        "--notes-only", action="store_true", help="only the paper with footnotes and figures"
    )
    args = parser.parse_args()
    repeat = QUICK_REPEAT if args.quick else REPEAT
    common.header(f"Word export of {SECTIONS} and {2 * SECTIONS} sections vs pandoc", args.quick)
    if shutil.which("pandoc") is None:
        print("  pandoc is not installed (apt-get install pandoc): no peer to compare with")
        return
    version = subprocess.run(["pandoc", "--version"], capture_output=True, text=True).stdout
    print(f"# {version.splitlines()[0]}")

    if args.notes_only:
        notes_and_figures(repeat)
        return

    from exports.docx_import import read

    small, large = paper(SECTIONS), paper(2 * SECTIONS)
    changed = redline(small)
    source = markdown(small)
    print(
        f"  paper: {SECTIONS} sections, {len(source) / 1e6:.2f} MB of Markdown, "
        f"{source.count(chr(10) + '- ')} bullet items, {source.count('|---|')} tables"
    )
    with tempfile.TemporaryDirectory(prefix="kw-bench-export-") as tmp:
        folder = Path(tmp)
        content = build_document(small)
        (folder / "ours.docx").write_bytes(content)
        timed, best = round_robin(
            {
                "ours": lambda: build_document(small),
                "doubled": lambda: build_document(large),
                "redline": lambda: build_document(changed),
                "pandoc": lambda: pandoc(source, folder / "pandoc.docx"),
                "read": lambda: read(content),
            },
            repeat,
        )
        ours, doubled, peer, reading, tracked = (
            timed["ours"],
            timed["doubled"],
            timed["pandoc"],
            timed["read"],
            timed["redline"],
        )
        sizes = (len(content), (folder / "pandoc.docx").stat().st_size)

        print()
        common.line(f"build_document, {SECTIONS} sections", ours)
        common.line(f"pandoc -t docx, {SECTIONS} sections", peer)
        common.line(f"build_document, {2 * SECTIONS} sections", doubled)
        common.line(f"redline, {SECTIONS // CHANGED_EVERY} of {SECTIONS} changed", tracked)
        common.line(f"import: read() of the {SECTIONS}-section file", reading)
        wall, cpu, created = import_into_database(content, folder / "instance")
        print(f"  {'import: import_docx() into SQLite':<40} {wall * 1000:8.0f} ms wall, "
              f"{cpu * 1000:.0f} ms CPU, {created} sections created")  # fmt: skip
        print(f"  file sizes: ours {sizes[0] / 1024:.0f} KB, pandoc {sizes[1] / 1024:.0f} KB")
        if args.pages:
            print(f"  pages (LibreOffice): ours {pages(folder / 'ours.docx')}")
        print()
        common.ratio("ours / pandoc", ours, peer)
        common.ratio(f"{2 * SECTIONS} / {SECTIONS} sections", doubled, ours)
        common.ratio("redline / plain export", tracked, ours)
        print(
            f"  {'least CPU of the runs':<40} ours / pandoc ×{best['ours'] / best['pandoc']:.2f}"
            f"   {2 * SECTIONS} / {SECTIONS} sections ×{best['doubled'] / best['ours']:.2f}"
        )
        common.verdict("ours / pandoc, CPU p50", ours.cpu_p50 / peer.cpu_p50, 0.5, "×")
        common.verdict(
            f"{2 * SECTIONS} / {SECTIONS} sections, CPU p50",
            doubled.cpu_p50 / ours.cpu_p50,
            2.2,
            "×",
        )
        common.verdict("redline / plain export, CPU p50", tracked.cpu_p50 / ours.cpu_p50, 1.5, "×")
    print()
    notes_and_figures(repeat)


if __name__ == "__main__":
    main()
