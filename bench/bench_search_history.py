"""Search index upkeep on sections with a long history (many versions and comments each).

A save demotes the section's current search entry (kind 'section' → 'version') before it
adds the new one. It finds that entry as the previous head version's, by one seek in the
``(source, source_id)`` index; the named peer is the demote as it was before, by
``section_id`` and kind, which reads every entry of the section (versions, comments,
suggestions) through ``ix_search_entry_section``. Both are measured in the same run on the
same database, each as the upkeep share of ``PUT /api/v1/sections/<id>`` (with and without
``workflows.search.index_version``, interleaved, as in ``bench_search.py``).

    .venv/bin/python bench/bench_search_history.py [--quick] [--database-url POSTGRES_URL]

Without ``--database-url`` it runs SQLite only; with one, PostgreSQL too (the database named
is used as it is: its tables are dropped and created again).
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bench_search
import common
from sqlalchemy import func, insert, select, text, update

HISTORY, QUICK_HISTORY = 300, 60
PAPERS = 50


def add_history(app: Any, versions: int, rng: random.Random) -> int:
    """Give each section of paper 1 ``versions`` more versions and a comment per ten."""
    from drafting.extensions import db
    from drafting.models import Comment, Section, SectionVersion
    from workflows import search as flow

    now = datetime.now(UTC)
    with app.app_context():
        conn = db.session.connection()
        sections = list(conn.scalars(select(Section.id).where(Section.paper_id == 1)))
        next_version = int(conn.scalar(select(func.max(SectionVersion.id))) or 0) + 1
        next_comment = int(conn.scalar(select(func.max(Comment.id))) or 0) + 1
        for section_id in sections:
            rows, comments = [], []
            for number in range(2, versions + 2):
                body, body_html = bench_search.body_of(rng)
                rows.append(
                    {
                        "id": next_version,
                        "section_id": section_id,
                        "number": number,
                        "title": "Abschnitt",
                        "level": 1,
                        "body": body,
                        "body_html": body_html,
                        "author_id": 1,
                        "created_at": now - timedelta(minutes=versions - number),
                    }
                )
                next_version += 1
                if number % 10 == 0:
                    comments.append(
                        {
                            "id": next_comment,
                            "paper_id": 1,
                            "section_id": section_id,
                            "author_id": 2,
                            "body": bench_search.paragraph_text(rng),
                            "created_at": now,
                        }
                    )
                    next_comment += 1
            conn.execute(insert(SectionVersion), rows)
            conn.execute(insert(Comment), comments)
            conn.execute(
                update(Section).where(Section.id == section_id).values(head_id=rows[-1]["id"])
            )
        if db.engine.dialect.name == "postgresql":
            for table in ("section_version", "comment"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
        count = flow.rebuild(conn)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE search_entry"))
            db.session.commit()
        return count


def demote_by_section(
    paper_id: int, version: Any, organisation_id: int | None, _previous_head: int | None
) -> None:
    """The peer: index_version as it was, demoting by the section and the kind."""
    from sqlalchemy import bindparam

    from drafting.extensions import db
    from workflows import search as flow

    entries = flow.SearchEntry.__table__
    demote = (
        update(entries)
        .where(entries.c.section_id == bindparam("section"), entries.c.kind == "section")
        .values(kind="version")
    )
    conn = db.session.connection()
    conn.execute(demote, {"section": version.section_id})
    conn.execute(
        insert(entries), flow._version_row(paper_id, version, organisation_id, current=True)
    )


def run_backend(name: str, url: str, quick: bool) -> None:
    from drafting.extensions import db
    from workflows import search as flow

    print(f"\n## {name}")
    rng = random.Random(16)
    history = QUICK_HISTORY if quick else HISTORY
    saves = 30 if quick else 100
    with tempfile.TemporaryDirectory(prefix="kw-bench-history-") as tmp:
        app = common.make_app(url, Path(tmp))
        if not url.startswith("sqlite"):
            with app.app_context():
                db.drop_all()
                db.create_all()
        started = time.perf_counter()
        bench_search.build_corpus(app, PAPERS, 500, rng)
        count = add_history(app, history, rng)
        took = time.perf_counter() - started
        print(
            f"  corpus: {PAPERS} papers × {bench_search.SECTIONS} sections, paper 1's sections "
            f"with {history} more versions each; {count} index entries; {took:.1f} s"
        )
        # Two rounds each, alternated: the first saves on a long history run slower (cold
        # pages), which would otherwise count against whichever goes first.
        now = flow.index_version
        for round_ in (1, 2):
            print(f"  round {round_}: demote the previous head's entry (one seek), as now:")
            bench_search.measure_saves(app, saves, rng)
            print(
                f"  round {round_}: peer: demote by section and kind (every entry of the "
                "section), as before:"
            )
            flow.index_version = demote_by_section  # type: ignore[assignment]
            try:
                bench_search.measure_saves(app, saves, rng)
            finally:
                flow.index_version = now  # type: ignore[assignment]
        if not url.startswith("sqlite"):
            with app.app_context():
                db.drop_all()
                db.engine.dispose()


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0])
    common.header("Search index upkeep on a long history", args.quick)
    with common.database("") as sqlite_url:
        run_backend("SQLite (FTS5)", sqlite_url, args.quick)
    if args.database_url:
        run_backend("PostgreSQL (tsvector + GIN)", args.database_url, args.quick)


if __name__ == "__main__":
    main()
