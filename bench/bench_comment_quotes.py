"""Comments on quoted passages of a 200 000-character section: anchoring and the discussion page.

A section of about 199 000 characters of German-ish Markdown (paragraphs, lists, tables) gets
200 comments, each quoting 3–40 words as a reader selects them in the *rendered* text (list
markers, table pipes and emphasis do not show there). Then a new version changes some words,
so the anchors have to follow the text. Measured in the same run:

- adding one of those comments (``workflows.comments.add_comment``: search, lock, insert);
- the discussion page ``GET /sections/<id>/comments`` (threads, anchors, highlighted text):
  the first view after a change (cold) and repeated views (p50/p95);
- adding a comment with a 5 000-word quote (about 43 000 characters; the quote cap raised
  for it with ``COMMENT_MAX_QUOTE_CHARS``), and its refusal under the default cap;
- the named peer: ``str.find`` of the whitespace-normalised quote in the whitespace-normalised
  rendered text (prepared once, outside the timing) — the least any anchoring can cost —
  and, once, the previous anchoring (regex over the Markdown, then over the rendered text
  mapped back by a word diff).

Targets: discussion page p95 ≤ 300 ms; a 5 000-word quote added ≤ 300 ms.

    .venv/bin/python bench/bench_comment_quotes.py [--quick] [--database-url URL]
"""

from __future__ import annotations

import random
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import common

COMMENTS, QUICK_COMMENTS = 200, 60
SECTION_CHARS = 199_000
BIG_QUOTE_WORDS = 5_000
PAGE_P95_MS, BIG_QUOTE_MS = 300, 300
PASSWORD = "Kastanienallee Leuchtturm Hafenkran 47"  # noqa: S105 - bench users only


def previous_locate(markdown: str, quote: str) -> Any:
    """The anchoring before this change (regex over Markdown, then over the plain text)."""
    from drafting.text.anchors import _PLAIN_GAP, _plain_span_to_markdown
    from drafting.text.markdown import plain_text

    quote = quote.strip()
    found = markdown.find(quote)
    if found >= 0:
        return found, found + len(quote)
    words = [re.escape(word) for word in quote.split()]
    match = re.search(r"\s+".join(words), markdown)
    if match:
        return match.span()
    plain = plain_text(markdown)
    match = re.search(_PLAIN_GAP.join(words), plain)
    if match is None:
        return None
    return _plain_span_to_markdown(plain, markdown, *match.span())


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0])
    count = QUICK_COMMENTS if args.quick else COMMENTS
    common.header(f"{count} quoted comments on a {SECTION_CHARS:,}-character section", args.quick)
    rng = random.Random(9)
    with common.database(args.database_url) as url, tempfile.TemporaryDirectory() as tmp:
        app = common.make_app(url, Path(tmp) / "instance")
        with app.app_context():
            run(app, rng, count)


def run(app: Any, rng: random.Random, count: int) -> None:
    from drafting.extensions import db
    from drafting.models import OrgKind, Role
    from drafting.text import anchors, highlight
    from drafting.text.highlight import render_highlighted
    from drafting.text.markdown import plain_text
    from workflows import accounts
    from workflows import comments as comment_flow
    from workflows import papers as paper_flow
    from workflows import sections as section_flow
    from workflows.errors import TooLarge

    ministry = accounts.create_organisation("Ministerium Bench", "MIN", OrgKind.MINISTRY)
    lead = accounts.create_user(
        "lead@bench.example", "Lea Leitung", ministry, PASSWORD, check_strength=False
    )
    member = accounts.create_user(
        "member@bench.example", "Mia Mitglied", ministry, PASSWORD, check_strength=False
    )
    paper = paper_flow.create_paper(lead, "Benchmark-Papier", "")
    paper_flow.grant_role(lead, paper.id, member.email, Role.EDITOR)
    body = common.markdown_section(rng, SECTION_CHARS)[:SECTION_CHARS]
    section = section_flow.add_section(lead, paper.id, title="Langer Abschnitt", body=body)
    sid = section.id
    words = " ".join(plain_text(body).split()).split(" ")
    print(f"  section: {len(body):,} characters, {len(words):,} words")

    def selection(n: int) -> str:
        start = rng.randrange(0, len(words) - n)
        return " ".join(words[start : start + n])

    quotes: list[str] = []
    added: list[float] = []
    added_cpu: list[float] = []
    for n in range(count):
        quote = selection(rng.randint(3, 40))
        quotes.append(quote)
        started, started_cpu = time.perf_counter(), time.process_time()
        comment_flow.add_comment(member, sid, f"Anmerkung {n}.", quote=quote)
        added_cpu.append(time.process_time() - started_cpu)
        added.append(time.perf_counter() - started)
        if n == count // 2:  # half the anchors come from an older version
            section_flow.save_section(lead, sid, body=common.edited(rng, body, 40), base_version=1)
            body = section_flow.get_section(lead, sid)[0].body
            words = " ".join(plain_text(body).split()).split(" ")
    db.session.commit()

    client = app.test_client()
    response = client.post("/login", data={"email": member.email, "password": PASSWORD})
    assert response.status_code == 302, response.status_code

    def page() -> None:
        got = client.get(f"/sections/{sid}/comments")
        assert got.status_code == 200, got.status_code

    render_highlighted.cache_clear()
    highlight._plain.cache_clear()
    started, started_cpu = time.perf_counter(), time.process_time()
    page()
    cold = (time.perf_counter() - started, time.process_time() - started_cpu)
    shown = client.get(f"/sections/{sid}/comments").get_data(as_text=True)
    marks = len(set(re.findall(r'id="anchor-(\d+)"', shown)))
    page_stats = common.timed(page, repeat=10 if count < COMMENTS else 20, warmup=1)

    # The peer: str.find on text normalised once, outside the timing.
    plain_norm = " ".join(plain_text(body).split())

    def peer_all() -> None:
        for quote in quotes:
            plain_norm.find(" ".join(quote.split()))

    def ours_all() -> None:
        comment_flow.locate_quote.cache_clear()
        anchors._word_index.cache_clear()
        for quote in quotes:
            comment_flow.locate_quote(body, quote)

    ours_quotes = common.timed(ours_all, repeat=5, warmup=1)
    peer_quotes = common.timed(peer_all, repeat=5, warmup=1)

    # The 5 000-word quote, a new window each time (no cache hit), added for real.
    app.config["COMMENT_MAX_QUOTE_CHARS"] = 60_000
    big_wall: list[float] = []
    big_cpu: list[float] = []
    big_peer: list[float] = []
    big_quotes = [selection(BIG_QUOTE_WORDS) for _ in range(6)]
    for n, quote in enumerate(big_quotes):
        anchors._word_index.cache_clear()
        started, started_cpu = time.perf_counter(), time.process_time()
        comment_flow.add_comment(member, sid, f"Langes Zitat {n}.", quote=quote)
        big_cpu.append(time.process_time() - started_cpu)
        big_wall.append(time.perf_counter() - started)
        started = time.perf_counter()
        plain_norm.find(" ".join(quote.split()))
        big_peer.append(time.perf_counter() - started)
    big = common.stats(big_wall[1:], big_cpu[1:])
    peer_big = common.stats(big_peer[1:])
    started = time.perf_counter()
    before = previous_locate(body, big_quotes[0])
    previous = time.perf_counter() - started
    ours_span = comment_flow.locate_quote(body, big_quotes[0])
    assert ours_span is not None
    shown = " ".join(plain_text(body[ours_span[0] : ours_span[1]]).split())
    assert shown.startswith(big_quotes[0][:200]), "our anchor does not hold the quote"
    agree = "same span" if before == ours_span else f"previous gave {before}, ours {ours_span}"
    app.config["COMMENT_MAX_QUOTE_CHARS"] = 5_000
    started = time.perf_counter()
    try:
        comment_flow.add_comment(member, sid, "Zu lang.", quote=big_quotes[0])
    except TooLarge:
        refused = time.perf_counter() - started
    else:
        raise AssertionError("the 5 000-word quote was accepted under the default cap")
    db.session.commit()

    print(f"  quote: {len(big_quotes[0]):,} characters; {marks} of {count} passages highlighted")
    print()
    common.line(f"add_comment, 3–40-word quote (n={count})", common.stats(added, added_cpu))
    common.line(f"anchor {count} quotes (cold caches)", ours_quotes)
    common.line(f"peer: str.find of {count} quotes", peer_quotes)
    print(f"  {'discussion page, first view (cold)':<40} {cold[0] * 1000:8.0f} ms wall, "
          f"{cold[1] * 1000:.0f} ms CPU")  # fmt: skip
    common.line("discussion page, repeated views", page_stats)
    common.line(f"add_comment, {BIG_QUOTE_WORDS}-word quote", big)
    common.line(f"peer: str.find of the {BIG_QUOTE_WORDS}-word quote", peer_big)
    print(
        f"  {'previous anchoring, 5 000-word quote':<40} {previous * 1000:8.0f} ms wall (once; "
        f"{agree})"
    )
    print(f"  {'refusal at the default cap (5 000)':<40} {refused * 1000:8.2f} ms wall")
    print()
    common.ratio(f"anchoring {count} quotes / str.find", ours_quotes, peer_quotes)
    common.ratio(f"{BIG_QUOTE_WORDS}-word add_comment / str.find", big, peer_big)
    print(f"  {'previous / ours, 5 000-word quote':<40} ×{previous / big.p50:.1f}")
    common.verdict("discussion page p95", page_stats.p95 * 1000, PAGE_P95_MS)
    common.verdict(f"{BIG_QUOTE_WORDS}-word quote added, p95", big.p95 * 1000, BIG_QUOTE_MS)


if __name__ == "__main__":
    main()
