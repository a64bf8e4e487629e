"""Sentence-level three-way merge of a 50 KB section against the word-level merge it replaced.

Figures: p50/p95 (wall and CPU) of ``drafting.text.merge.merge3`` (sentences and table cells
as units, issue 11) and of the named peer measured in the same run, ``merge3_words`` (the
earlier word-level merge), for three pairs of concurrent edits of a 50 KB Markdown section:
sentences added to different paragraphs, words changed in different sentences of the same
paragraphs, and words changed in the same sentences (conflicts). Target: merge p95 ≤ 60 ms
CPU.

    .venv/bin/python bench/bench_merge.py [--quick]
"""

from __future__ import annotations

import random
import re

import common

SIZE = 50_000
MERGE_P95_MS = 60


def change_words(body: str, paragraphs: list[int], sentence: int, word: str) -> str:
    """Put ``word`` after the first word of the given sentence of each given paragraph."""
    parts = body.split("\n\n")
    for index in paragraphs:
        sentences = re.split(r"(?<=\.) ", parts[index])
        if len(sentences) <= sentence or parts[index].startswith(("|", "-", "#")):
            continue
        first, _space, rest = sentences[sentence].partition(" ")
        sentences[sentence] = f"{first} {word} {rest}"
        parts[index] = " ".join(sentences)
    return "\n\n".join(parts)


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0], database=False)
    common.header("sentence merge vs word merge of a 50 KB section", args.quick)
    from drafting.text.merge import merge3, merge3_words

    rng = random.Random(11)
    base = common.markdown_section(rng, SIZE)
    count = base.count("\n\n") + 1
    every = list(range(0, count, 5))
    cases = {
        "sentences added, other paragraphs": (
            common.edit_paragraphs(rng, base, list(range(0, count, 7)), "Land"),
            common.edit_paragraphs(rng, base, list(range(3, count, 7)), "Stadt"),
        ),
        "words, other sentences, same paragr.": (
            change_words(base, every, 0, "gemeinsam"),
            change_words(base, every, 1, "regional"),
        ),
        "words, same sentences (conflicts)": (
            change_words(base, every, 0, "gemeinsam"),
            change_words(base, every, 0, "regional"),
        ),
    }
    repeat = 10 if args.quick else 40
    print(f"  base {len(base) / 1000:.0f} KB, {count} paragraphs")
    worst = 0.0
    for label, (theirs, mine) in cases.items():
        result, words = merge3(base, theirs, mine), merge3_words(base, theirs, mine)
        print(
            f"  {label}: sentence merge {len(result.conflicts)} conflicts, "
            f"word merge {len(words.conflicts)} conflicts"
        )
        ours = common.timed(lambda t=theirs, m=mine: merge3(base, t, m), repeat)
        peer = common.timed(lambda t=theirs, m=mine: merge3_words(base, t, m), repeat)
        common.line(f"merge3: {label}", ours)
        common.line(f"peer merge3_words: {label}", peer)
        common.ratio("merge3 / merge3_words", ours, peer)
        worst = max(worst, ours.cpu_p95)
    print()
    common.verdict("merge3 p95 CPU, worst case (50 KB)", worst * 1000, MERGE_P95_MS)


if __name__ == "__main__":
    main()
