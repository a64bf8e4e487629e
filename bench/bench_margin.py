"""The paper page with 50 open margin comments at 300 sections (issue 12, item 5).

Figures: p50/p95 server time of the paper page of 300 sections × 20 versions with 50 open
comment threads on quoted passages (a third of them with a reply, a third of their sections
edited since, so their anchors are moved through a diff), against the same page without
comments measured in the same run (the named peer) and ``/health``; SQL queries per page;
and the gzipped size of the editor bundle (target ≤ 200 KB).

    .venv/bin/python bench/bench_margin.py [--quick] [--database-url URL]
"""

from __future__ import annotations

import gc
import gzip
import random
import re
from pathlib import Path
from tempfile import TemporaryDirectory

import bench_paper_page as paper_bench
import common

COMMENTS, PAGE_P95_MS, BUNDLE_KB = 50, 100, 200
# Three words in a row in a paragraph: a passage a reader would select.
_PASSAGE = re.compile(
    r"(?<![\w*_])[A-Za-zÄÖÜäöüß]{3,} [A-Za-zÄÖÜäöüß]{3,} [A-Za-zÄÖÜäöüß]{3,}(?![\w*_])"
)


def seed_comments(paper_id: int, lead_id: int, count: int) -> int:
    """Put ``count`` open threads on quoted passages of as many sections; return the count."""
    from drafting.extensions import db
    from drafting.models import Section, User
    from workflows import comments as flow
    from workflows import sections as section_flow

    rng = random.Random(12)
    lead = db.session.get(User, lead_id)
    assert lead is not None
    sections = list(
        db.session.scalars(
            db.select(Section).where(Section.paper_id == paper_id).order_by(Section.position)
        )
    )
    made = 0
    for index, section in enumerate(rng.sample(sections, min(count, len(sections)))):
        head = section.head
        assert head is not None
        found = _PASSAGE.search(head.body)
        assert found is not None
        quote = found.group(0)
        comment = flow.add_comment(
            lead, section.id, f"Anmerkung {index}: bitte prüfen.", quote=quote
        )
        if index % 3 == 0:
            flow.add_comment(lead, section.id, "Antwort.", parent_id=comment.id)
        if index % 3 == 1:
            fresh = db.session.get(Section, section.id)
            assert fresh is not None and fresh.head is not None
            section_flow.save_section(
                lead,
                section.id,
                body="Vorweg ein neuer Satz. " + fresh.head.body,
                base_version=fresh.head.number,
            )
        made += 1
    return made


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0])
    sections, versions = (
        (paper_bench.QUICK_SECTIONS, paper_bench.QUICK_VERSIONS)
        if args.quick
        else (paper_bench.SECTIONS, paper_bench.VERSIONS)
    )
    repeat = 15 if args.quick else 60
    common.header(f"paper page with {COMMENTS} margin comments at {sections} sections", args.quick)
    with TemporaryDirectory(prefix="kw-bench-") as tmp, common.database(args.database_url) as url:
        app = common.make_app(url, Path(tmp) / "instance")
        print(f"  database: {url.split('://')[0]}")
        with app.app_context():
            paper_id, _small, lead_id, _token = paper_bench.seed_paper(sections, versions)
        client = app.test_client()
        login = client.post(
            "/login", data={"email": "lead@bench.example", "password": paper_bench.PASSWORD}
        )
        assert login.status_code == 302, login.status_code
        page_url = f"/papers/{paper_id}"

        def get(path: str) -> None:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        gc.collect()
        bare = common.timed(lambda: get(page_url), repeat)
        with app.app_context():
            made = seed_comments(paper_id, lead_id, COMMENTS)
        html = client.get(page_url).get_data(as_text=True)
        threads = html.count('class="margin-thread')
        marks = html.count('<mark class="anchor" id="anchor-')
        with common.counted_statements(app) as statements:
            get(page_url)
        gc.collect()
        page = common.timed(lambda: get(page_url), repeat)
        health = common.timed(lambda: get("/health"), repeat)
        # As the server runs it: gunicorn.conf.py freezes the start-up heap (gc.freeze), so
        # a full collection does not walk the app, SQLAlchemy and Babel's data on each request.
        gc.collect()
        gc.freeze()
        frozen = common.timed(lambda: get(page_url), repeat)
        gc.unfreeze()
        print(f"\n  {made} open threads seeded; page shows {threads} in the margin, {marks} marked")
        print(
            f"  paper page: {len(html) / 1024:.0f} KB of HTML, "
            f"{len(common.queries(statements))} SQL queries"
        )
        common.line(f"GET /papers/<id> with {made} margin comments", page)
        common.line("GET /papers/<id> with comments, heap frozen", frozen)
        common.line("GET /papers/<id> without comments (same run)", bare)
        common.line("GET /health (same run)", health)
        common.ratio("with margin comments / without", page, bare)

    static = Path(__file__).resolve().parent.parent / "drafting" / "static"
    sizes = {
        name: len(gzip.compress((static / name).read_bytes(), 9))
        for name in (
            "editor.bundle.js",
            "editor.bundle.css",
            "comments.js",
            "mentions.js",
            "tracked.js",
        )
    }
    print()
    for name, size in sizes.items():
        print(f"  {name}: {size / 1024:.1f} KB gzipped")
    print()
    common.verdict("paper page with margin comments p95", page.p95 * 1000, PAGE_P95_MS)
    common.verdict("paper page with margin comments p95, CPU", page.cpu_p95 * 1000, PAGE_P95_MS)
    common.verdict("same, heap frozen", frozen.p95 * 1000, PAGE_P95_MS)
    common.verdict("same, heap frozen, CPU", frozen.cpu_p95 * 1000, PAGE_P95_MS)
    bundle = (sizes["editor.bundle.js"] + sizes["editor.bundle.css"]) / 1024
    common.verdict("editor bundle gzipped", bundle, BUNDLE_KB, unit="KB")
    if args.quick:
        print("  (quick run: fewer sections than the target is defined for)")


if __name__ == "__main__":
    main()
