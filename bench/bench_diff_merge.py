"""Three-way merge of two concurrent edits of a 50 KB section.

Figures: p50/p95 of ``drafting.text.merge.merge3`` for edits in different paragraphs (they merge)
and for edits of the same words (a conflict is found), against the named peer, pure-Python
``diff_match_patch``: ``patch_make(base, mine)`` + ``patch_apply(patches, theirs)`` — the
fuzzy patching that merges overlapping edits silently. Target: merge p95 ≤ 100 ms.

    .venv/bin/python bench/bench_diff_merge.py [--quick]
"""

from __future__ import annotations

import random

import common
from diff_match_patch import diff_match_patch

SIZE = 50_000
MERGE_P95_MS = 100


def texts() -> tuple[str, str, str, str]:
    """Return base, theirs, mine (other paragraphs) and mine (the same words as theirs)."""
    rng = random.Random(3)
    base = common.markdown_section(rng, SIZE)
    count = base.count("\n\n") + 1
    theirs = common.edit_paragraphs(rng, base, list(range(0, count, 7)), "Land")
    mine = common.edit_paragraphs(rng, base, list(range(3, count, 7)), "Stadt")
    clash = common.edit_paragraphs(rng, base, list(range(0, count, 14)), "Kammer")
    return base, theirs, mine, clash


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0], database=False)
    common.header("merge3 of two concurrent edits of a 50 KB section", args.quick)
    from drafting.text.merge import merge3

    base, theirs, mine, clash = texts()
    repeat = 10 if args.quick else 40
    print(
        f"  base {len(base) / 1000:.0f} KB, {base.count(chr(10) * 2) + 1} paragraphs; "
        f"theirs and mine each add sentences to every 7th paragraph"
    )

    merged = merge3(base, theirs, mine)
    assert merged.clean, "edits of different paragraphs must merge"
    assert all(tag in merged.text for tag in (" Land ergänzt", " Stadt ergänzt"))
    conflicting = merge3(base, theirs, clash)
    assert not conflicting.clean
    print(
        f"  different paragraphs: clean; same paragraphs: "
        f"{len(conflicting.conflicts)} conflicts found"
    )

    ours = common.timed(lambda: merge3(base, theirs, mine), repeat)
    ours_conflict = common.timed(lambda: merge3(base, theirs, clash), repeat)
    dmp = diff_match_patch()

    def peer(other: str) -> str:
        text, _applied = dmp.patch_apply(dmp.patch_make(base, other), theirs)
        return str(text)

    peer_clean = common.timed(lambda: peer(mine), max(3, repeat // 4), warmup=1)
    peer_clash = common.timed(lambda: peer(clash), max(3, repeat // 4), warmup=1)
    common.line("merge3, different paragraphs", ours)
    common.line("merge3, same paragraphs (conflicts)", ours_conflict)
    common.line("peer: dmp patch_make + patch_apply", peer_clean)
    common.line("peer, same paragraphs (merges silently)", peer_clash)
    common.ratio("merge3 / peer", ours, peer_clean)
    common.ratio("merge3 / peer, same paragraphs", ours_conflict, peer_clash)
    silently = peer(clash)
    print(
        f"  peer on the same paragraphs: {'one text, no conflict reported' if silently else ''}"
        f" — it keeps {sum(t in silently for t in (' Land ergänzt', ' Kammer ergänzt'))} of 2 "
        f"sides' words where merge3 asks the user"
    )
    print()
    common.verdict("merge3 p95 (50 KB, two edits)", ours.p95 * 1000, MERGE_P95_MS)
    common.verdict("merge3 p95, CPU", ours.cpu_p95 * 1000, MERGE_P95_MS)
    common.verdict("merge3 p95 with conflicts", ours_conflict.p95 * 1000, MERGE_P95_MS)


if __name__ == "__main__":
    main()
