"""The paper page at 300 sections × 20 versions, and diffs of two 50 KB versions.

Figures: SQL statements per paper page (also for a 3-section paper: they must not grow),
p50/p95 server time of the paper page against a bare ``/health`` in the same run, and of a
diff of two 50 KB versions — ``drafting.text.textdiff.diff_ops``, the API diff and the compare
page — against pure-Python ``diff_match_patch`` (``diff_main`` + ``diff_cleanupSemantic``)
as the named peer. Server time is measured through the WSGI test client (no network).

    .venv/bin/python bench/bench_paper_page.py [--quick] [--database-url URL]
"""

from __future__ import annotations

import gc
import random
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import common
from diff_match_patch import diff_match_patch
from sqlalchemy import func, insert, select, text, update

SECTIONS, VERSIONS = 300, 20
QUICK_SECTIONS, QUICK_VERSIONS = 60, 5
DIFF_SIZE = 50_000
PAGE_P95_MS, PAGE_QUERIES, DIFF_P95_MS = 100, 10, 60
PASSWORD = "bench-password-1"


def seed_paper(sections: int, versions: int) -> tuple[int, int, int, str]:
    """Insert a paper of many sections with many versions each; return ids and a token.

    Versions go in by bulk INSERT with their HTML rendered once here — as a save would have —
    so seeding 6 000 versions takes seconds, not minutes.
    """
    from drafting.extensions import db
    from drafting.models import OrgKind, Section, SectionVersion, utcnow
    from drafting.text.markdown import render
    from workflows import accounts
    from workflows import papers as paper_flow
    from workflows import sections as section_flow

    rng = random.Random(2024)
    ministry = accounts.create_organisation("Ministerium Bench", "MIN", OrgKind.MINISTRY)
    lead = accounts.create_user(
        "lead@bench.example", "Lea Leitung", ministry, PASSWORD, check_strength=False
    )
    token = accounts.create_token(lead, "bench")[1]
    paper = paper_flow.create_paper(lead, "Innenstadtkonzept 2030 (Benchmark)", "Lang.")
    small = paper_flow.create_paper(lead, "Kurzes Papier", "Kurz.")
    for i in range(3):
        section_flow.add_section(
            lead,
            small.id,
            title=f"Teil {i + 1}",
            level=1 + i % 2,
            body=common.markdown_section(rng, 1500),
        )

    first_section = (db.session.scalar(select(func.max(Section.id))) or 0) + 1
    next_version = (db.session.scalar(select(func.max(SectionVersion.id))) or 0) + 1
    now = utcnow()
    section_rows, version_rows, heads = [], [], []
    for i in range(sections):
        section_id = first_section + i
        section_rows.append(
            {"id": section_id, "paper_id": paper.id, "position": i + 1, "created_at": now}
        )
        level = 1 if i % 10 == 0 else 2 if i % 3 else 3
        title = f"{rng.choice(common.WORDS)} und {rng.choice(common.WORDS)}"
        body = common.markdown_section(rng, rng.randint(1000, 2000))
        for number in range(1, versions + 1):
            if number > 1:
                body = common.edited(rng, body, 3)
            version_rows.append(
                {
                    "id": next_version,
                    "section_id": section_id,
                    "number": number,
                    "title": title,
                    "level": level,
                    "body": body,
                    "body_html": str(render(body)),
                    "author_id": lead.id,
                    "created_at": now,
                    "note": "",
                }
            )
            next_version += 1
        heads.append({"id": section_id, "head_id": next_version - 1})
    db.session.execute(insert(Section), section_rows)
    for start in range(0, len(version_rows), 1000):
        db.session.execute(insert(SectionVersion), version_rows[start : start + 1000])
    db.session.execute(update(Section), heads)
    if db.engine.dialect.name == "postgresql":
        # The ids above were given explicitly: move the sequences past them.
        for statement in (
            "SELECT setval(pg_get_serial_sequence('section', 'id'), MAX(id)) FROM section",
            "SELECT setval(pg_get_serial_sequence('section_version', 'id'), MAX(id)) "
            "FROM section_version",
        ):
            db.session.execute(text(statement))
    db.session.commit()
    return paper.id, small.id, lead.id, token


def seed_diff(lead_id: int, paper_id: int) -> tuple[int, str, str]:
    """Add a section whose versions 1 and 2 are two 50 KB texts a few dozen edits apart."""
    from drafting.extensions import db
    from drafting.models import User
    from workflows import sections as section_flow

    rng = random.Random(50)
    old = common.markdown_section(rng, DIFF_SIZE)
    new = common.edited(rng, old, 120)
    paragraphs = new.split("\n\n")
    paragraphs.insert(len(paragraphs) // 3, common.paragraph(rng))
    del paragraphs[2 * len(paragraphs) // 3]
    new = "\n\n".join(paragraphs)
    lead = db.session.get(User, lead_id)
    assert lead is not None
    section = section_flow.add_section(lead, paper_id, title="Langer Abschnitt", body=old)
    section_flow.save_section(lead, section.id, body=new, base_version=1)
    return section.id, old, new


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0])
    sections, versions = (QUICK_SECTIONS, QUICK_VERSIONS) if args.quick else (SECTIONS, VERSIONS)
    repeat = 15 if args.quick else 60
    common.header(f"paper page: {sections} sections × {versions} versions; 50 KB diffs", args.quick)
    from drafting.text import textdiff

    with TemporaryDirectory(prefix="kw-bench-") as tmp, common.database(args.database_url) as url:
        app = common.make_app(url, Path(tmp) / "instance")
        print(f"  database: {url.split('://')[0]}")
        started = time.perf_counter()
        with app.app_context():
            paper_id, small_id, lead_id, token = seed_paper(sections, versions)
            diff_section, old, new = seed_diff(lead_id, small_id)
        print(f"  seeded {sections * versions} versions in {time.perf_counter() - started:.1f} s")

        client = app.test_client()
        login = client.post("/login", data={"email": "lead@bench.example", "password": PASSWORD})
        assert login.status_code == 302, login.status_code

        page_url, small_url = f"/papers/{paper_id}", f"/papers/{small_id}"
        for url_ in (page_url, small_url):
            response = client.get(url_)
            assert response.status_code == 200, (url_, response.status_code)
        with common.counted_statements(app) as big:
            client.get(page_url)
        with common.counted_statements(app) as little:
            client.get(small_url)
        queries, few = common.queries(big), common.queries(little)
        html = client.get(page_url).get_data(as_text=True)
        print(f"\n  paper page: {len(html) / 1024:.0f} KB of HTML")
        print(
            f"  SQL queries per page: {len(queries)} at {sections} sections, {len(few)} at 3 "
            f"sections (statements incl. transaction control: {len(big)})"
        )
        for statement in queries:
            print(f"    {' '.join(statement.split())[:96]}")

        def get(path: str, **headers: str) -> None:
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.status_code)

        page = common.timed(lambda: get(page_url), repeat)
        health = common.timed(lambda: get("/health"), repeat)
        # The p95 of a big page is mostly Python's full garbage collection walking the whole
        # heap (the app, SQLAlchemy, Babel's data). A server that freezes its start-up heap
        # (gc.freeze() in a gunicorn hook) does not pay that on every collection.
        gc.collect()
        gc.freeze()
        frozen = common.timed(lambda: get(page_url), repeat)
        gc.unfreeze()
        common.line(f"GET /papers/<id> ({sections} sections)", page)
        common.line("GET /papers/<id>, start-up heap frozen", frozen)
        common.line("GET /health (same run)", health)
        common.ratio("paper page / health", page, health)

        print(f"\n  diff of two versions of {len(old) / 1000:.0f} KB and {len(new) / 1000:.0f} KB")
        diff_repeat = 10 if args.quick else 30
        ours = common.timed(lambda: textdiff.diff_ops(old, new), diff_repeat)
        api = common.timed(
            lambda: get(
                f"/api/v1/sections/{diff_section}/diff?from=1&to=2", Authorization=f"Bearer {token}"
            ),
            diff_repeat,
        )
        compare = common.timed(
            lambda: get(f"/sections/{diff_section}/compare?from=1&to=2"), diff_repeat
        )
        dmp = diff_match_patch()

        def peer_diff() -> None:
            diffs = dmp.diff_main(old, new)
            dmp.diff_cleanupSemantic(diffs)

        peer = common.timed(peer_diff, 5 if args.quick else 10, warmup=1)
        common.line("textdiff.diff_ops (word level, C++ dmp)", ours)
        common.line("GET /api/v1/sections/<id>/diff", api)
        common.line("GET /sections/<id>/compare", compare)
        common.line("peer: diff_match_patch (pure Python)", peer)
        common.ratio("diff_ops / peer", ours, peer)
        common.ratio("compare page / peer", compare, peer)

        print()
        for check in (
            common.verdict("paper page p95", page.p95 * 1000, PAGE_P95_MS),
            common.verdict("paper page p95, CPU", page.cpu_p95 * 1000, PAGE_P95_MS),
            common.verdict("paper page p95, heap frozen", frozen.p95 * 1000, PAGE_P95_MS),
            common.verdict("paper page p95, heap frozen, CPU", frozen.cpu_p95 * 1000, PAGE_P95_MS),
            common.verdict("SQL queries per paper page", len(queries), PAGE_QUERIES, ""),
            common.verdict("50 KB diff p95 (API diff)", api.p95 * 1000, DIFF_P95_MS),
            common.verdict("50 KB diff p95 (API diff), CPU", api.cpu_p95 * 1000, DIFF_P95_MS),
            common.verdict("50 KB diff p95 (compare page)", compare.p95 * 1000, DIFF_P95_MS),
            common.verdict(
                "50 KB diff p95 (compare page), CPU", compare.cpu_p95 * 1000, DIFF_P95_MS
            ),
        ):
            del check  # each verdict prints itself; a benchmark reports, it does not fail
        if args.quick:
            print("  (quick run: fewer sections than the target is defined for)")
        with app.app_context():
            from drafting.extensions import db

            db.engine.dispose()


if __name__ == "__main__":
    main()
