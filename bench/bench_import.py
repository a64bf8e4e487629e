"""Word import of a 300-section paper, against pandoc reading the same file to Markdown.

The 300-section paper of ``bench_export.py`` (levels 1–3, paragraphs, lists, tables; about
300 A4 pages) is built once with ``exports.builder.build_document``. Measured in turns, in the
same run: ``exports.importing.import_docx`` into a fresh SQLite database (read, checks, one
transaction, commit: 300 sections, versions and activity entries) and the named peer,
``pandoc -f docx -t markdown`` on the same file (which only converts; it stores nothing).
Also: refusing an 18 KB file with 6 000 headings (the cap, before any write).

Targets: the import ≤ 2 s; the refusal ≤ 1 s. On a shared machine wall clock includes waiting
for a core: the CPU figure is the cost of the work itself.

    .venv/bin/python bench/bench_import.py [--quick]
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import common
from bench_export import SECTIONS, paper

from exports.builder import build_document
from tests import docx_samples

REPEAT, QUICK_REPEAT = 5, 2
IMPORT_S, REFUSAL_S = 2.0, 1.0


def import_once(content: bytes, instance: Path) -> tuple[float, float, int]:
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
                "lead@bench.example", "Lea", org, "bench-password-1", check_strength=False
            )
            started, started_cpu = time.perf_counter(), time.process_time()
            result = import_docx(user, content)
            db.session.commit()
            elapsed = time.perf_counter() - started, time.process_time() - started_cpu
            db.session.remove()
            db.engine.dispose()
    return elapsed[0], elapsed[1], result.sections


def refuse_once(content: bytes, instance: Path) -> tuple[float, float, str]:
    """Offer the 6 000-heading file; return the seconds until the refusal and its message."""
    from drafting.models import OrgKind
    from exports.importing import import_docx
    from workflows import accounts
    from workflows.errors import TooLarge

    with common.database() as url:
        app = common.make_app(url, instance)
        with app.app_context():
            org = accounts.create_organisation("Ministerium Bench", "MIN", OrgKind.MINISTRY)
            user = accounts.create_user(
                "lead@bench.example", "Lea", org, "bench-password-1", check_strength=False
            )
            started, started_cpu = time.perf_counter(), time.process_time()
            try:
                import_docx(user, content)
            except TooLarge as err:
                cpu = time.process_time() - started_cpu
                return time.perf_counter() - started, cpu, str(err.message)
            raise AssertionError("the 6 000-heading file was imported")


def pandoc(path: Path) -> None:
    subprocess.run(
        ["pandoc", "-f", "docx", "-t", "markdown", "-o", str(path.with_suffix(".md")), str(path)],
        check=True,
        capture_output=True,
        timeout=300,
    )


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0], database=False)
    repeat = QUICK_REPEAT if args.quick else REPEAT
    common.header(f"Word import of {SECTIONS} sections vs pandoc -f docx", args.quick)
    if shutil.which("pandoc") is None:
        print("  pandoc is not installed (apt-get install pandoc): no peer to compare with")
        return
    version = subprocess.run(["pandoc", "--version"], capture_output=True, text=True).stdout
    print(f"# {version.splitlines()[0]}")
    content = build_document(paper(SECTIONS))
    headings = docx_samples.raw_docx(
        body="".join(docx_samples.heading_xml(f"H{i}", 1 + i % 3) for i in range(6000))
    )
    print(f"  file: {len(content) / 1024:.0f} KB; hostile file: {len(headings) / 1024:.1f} KB")
    with tempfile.TemporaryDirectory(prefix="kw-bench-import-") as tmp:
        folder = Path(tmp)
        path = folder / "paper.docx"
        path.write_bytes(content)
        ours_wall: list[float] = []
        ours_cpu: list[float] = []
        peer_wall: list[float] = []
        peer_cpu: list[float] = []
        import_once(content, folder / "instance")  # warm-up
        pandoc(path)
        for _ in range(repeat):
            wall, cpu, created = import_once(content, folder / "instance")
            ours_wall.append(wall)
            ours_cpu.append(cpu)
            children = _children_cpu()
            started = time.perf_counter()
            pandoc(path)
            peer_wall.append(time.perf_counter() - started)
            peer_cpu.append(_children_cpu() - children)
        refusal, refusal_cpu, message = refuse_once(headings, folder / "instance")
    ours, peer = common.stats(ours_wall, ours_cpu), common.stats(peer_wall, peer_cpu)
    print()
    common.line(f"import_docx + commit, {created} sections", ours)
    common.line("pandoc -f docx -t markdown", peer)
    print(
        f"  {'refusing 6 000 headings':<40} {refusal * 1000:8.0f} ms wall, "
        f"{refusal_cpu * 1000:.0f} ms CPU: {message}"
    )
    print()
    common.ratio("ours / pandoc", ours, peer)
    common.verdict("import of 300 sections, wall p95", ours.p95, IMPORT_S, "s")
    common.verdict("import of 300 sections, CPU p95", ours.cpu_p95, IMPORT_S, "s")
    common.verdict("refusal of 6 000 headings, wall", refusal, REFUSAL_S, "s")
    common.verdict("refusal of 6 000 headings, CPU", refusal_cpu, REFUSAL_S, "s")


def _children_cpu() -> float:
    import os

    times = os.times()
    return times.children_user + times.children_system


if __name__ == "__main__":
    main()
