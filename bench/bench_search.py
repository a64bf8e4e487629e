"""Full-text search on 1 000 papers × 50 sections and 20 000 comments, SQLite and PostgreSQL.

Figures per backend: time to build the index (``workflows.search.rebuild``), p50/p95 of
``workflows.search.search`` (ranking, permissions, count and snippets of the first page) over
a mix of queries — one word, an inflected word, a phrase, a prefix, two words, a rare word,
with and without filters — as a user whose organisation takes part in about a third of the
papers; the named peer is a plain ``LIKE '%word%'`` scan of the current section texts with
the same permission join, count and LIMIT 20, measured in the same run. Then the save path:
``workflows.sections.save_section`` with the index upkeep and without it (the upkeep call
replaced by a no-op), interleaved, and the ratio of the two.

    .venv/bin/python bench/bench_search.py [--quick] [--database-url POSTGRES_URL]

Without ``--database-url`` it runs SQLite only; with one, PostgreSQL too. The PostgreSQL
database named is used as it is (its tables are dropped and created again), so give it a
database of its own, e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/kw_search_bench``.
The corpus is written with bulk INSERTs (plain paragraphs; each version's HTML is the escaped
text in ``<p>``), not through the workflows, so that it takes seconds, not hours.
"""

from __future__ import annotations

import html
import itertools
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import common
from sqlalchemy import insert, select, text, update

PAPERS, QUICK_PAPERS = 1000, 100
SECTIONS = 50
COMMENTS, QUICK_COMMENTS = 20_000, 2_000
ORGS = 9
QUERIES = [
    ("one word", "Leerstand", {}),
    ("inflected", "Innenstädten", {}),
    ("phrase", '"Zwischennutzung von Ladenlokalen"', {}),
    ("prefix", "Wochenmark*", {}),
    ("two words", "Fassade Beleuchtung", {}),
    ("rare word", "Kopfsteinpflaster", {}),
    ("comments only", "Sitzbänke", {"kind": "comment"}),
    ("in one paper", "Leerstand", {"paper": True}),
    ("with versions", "Nahversorgung", {"versions": True}),
]
RARE = ["Kopfsteinpflaster", "Sitzbänke", "Trinkbrunnen", "Lastenrad", "Pop-up-Store"]


# Content words: 3 000 compounds of the common words, drawn with Zipf weights (a few are
# frequent, most are rare), and now and then one of the plain words — each plain word then
# stands in about one section in twelve, like a topic word of a real paper.
COMPOUNDS = [a + b.lower() for a in common.WORDS for b in common.WORDS if a != b]
ZIPF = list(itertools.accumulate(1 / rank**1.1 for rank in range(1, len(COMPOUNDS) + 1)))


def sentence(rng: random.Random) -> str:
    words = []
    for _ in range(rng.randint(8, 18)):
        roll = rng.random()
        if roll < 0.55:
            words.append(rng.choice(common.GLUE))
        elif roll < 0.60:
            words.append(rng.choice(common.WORDS))
        else:
            words.append(rng.choices(COMPOUNDS, cum_weights=ZIPF)[0])
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def paragraph_text(rng: random.Random) -> str:
    """A German-ish paragraph; now and then a rare word, a fixed phrase or an inflected form."""
    text_ = " ".join(sentence(rng) for _ in range(rng.randint(2, 5)))
    roll = rng.random()
    if roll < 0.02:
        text_ += f" {rng.choice(RARE)} am Platz."
    elif roll < 0.06:
        text_ += " Die Zwischennutzung von Ladenlokalen hilft gegen Leerstände."
    elif roll < 0.10:
        text_ += " In den Innenstädten fehlen Bänke."
    return text_


def body_of(rng: random.Random) -> tuple[str, str]:
    paragraphs = [paragraph_text(rng) for _ in range(rng.randint(2, 4))]
    return "\n\n".join(paragraphs), "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


def build_corpus(app: Any, papers: int, comments: int, rng: random.Random) -> dict[str, Any]:
    """Write the corpus with bulk INSERTs; return ids the measurements need."""
    from drafting.extensions import db
    from drafting.models import (
        Comment,
        Organisation,
        Paper,
        PaperRole,
        Participant,
        Section,
        SectionVersion,
        User,
    )

    now = datetime.now(UTC)
    with app.app_context():
        conn = db.session.connection()
        conn.execute(
            insert(Organisation),
            [
                {"id": i, "name": f"Organisation {i}", "short_name": f"O{i}", "kind": "other"}
                for i in range(1, ORGS + 1)
            ],
        )
        conn.execute(
            insert(User),
            [
                {
                    "id": i,
                    "email": f"user{i}@bench.example",
                    "display_name": f"Person {i}",
                    "password_hash": "x",
                    "organisation_id": (i - 1) % ORGS + 1,
                }
                for i in range(1, ORGS * 5 + 1)
            ],
        )
        conn.execute(
            insert(Paper),
            [
                {
                    "id": p,
                    "title": f"Konzept {rng.choice(common.WORDS)} {p}",
                    "summary": common.sentence(rng),
                    "lead_organisation_id": (p - 1) % ORGS + 1,
                    "created_by_id": (p - 1) % ORGS + 1,
                    "created_at": now - timedelta(days=p % 400),
                    "updated_at": now,
                }
                for p in range(1, papers + 1)
            ],
        )
        # Each paper: its lead organisation and two more (every organisation sees ~1/3).
        participants = []
        for p in range(1, papers + 1):
            lead = (p - 1) % ORGS + 1
            others = {(lead + 2) % ORGS + 1, (lead + 5) % ORGS + 1}
            participants += [{"paper_id": p, "organisation_id": o} for o in {lead, *others}]
        conn.execute(insert(Participant), participants)
        sections, versions = [], []
        sid = 0
        for p in range(1, papers + 1):
            for position in range(1, SECTIONS + 1):
                sid += 1
                sections.append({"id": sid, "paper_id": p, "position": position})
                body, body_html = body_of(rng)
                versions.append(
                    {
                        "id": sid,
                        "section_id": sid,
                        "number": 1,
                        "title": f"{rng.choice(common.WORDS)} und {rng.choice(common.WORDS)}",
                        "level": 1,
                        "body": body,
                        "body_html": body_html,
                        "author_id": rng.randint(1, ORGS * 5),
                        "created_at": now - timedelta(days=rng.randint(0, 400)),
                    }
                )
            if len(sections) >= 5000:
                conn.execute(insert(Section), sections)
                conn.execute(insert(SectionVersion), versions)
                sections, versions = [], []
        if sections:
            conn.execute(insert(Section), sections)
            conn.execute(insert(SectionVersion), versions)
        conn.execute(update(Section).values(head_id=Section.id))
        rows = []
        for c in range(1, comments + 1):
            section_id = rng.randint(1, sid)
            rows.append(
                {
                    "id": c,
                    "paper_id": (section_id - 1) // SECTIONS + 1,
                    "section_id": section_id,
                    "author_id": rng.randint(1, ORGS * 5),
                    "body": paragraph_text(rng),
                    "created_at": now - timedelta(days=rng.randint(0, 400)),
                }
            )
        for start in range(0, len(rows), 5000):
            conn.execute(insert(Comment), rows[start : start + 5000])
        if db.engine.dialect.name == "postgresql":
            # The ids were given explicitly: move the sequences past them.
            for table in (
                "organisation",
                "user_account",
                "paper",
                "section",
                "section_version",
                "comment",
            ):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
        # User 1 (organisation 1) edits paper 1 (led by organisation 1): the save benchmark.
        conn.execute(insert(PaperRole), [{"paper_id": 1, "user_id": 1, "role": "editor"}])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            for table in ("search_entry", "section_version", "comment", "participant", "paper"):
                db.session.execute(text(f"ANALYZE {table}"))  # noqa: S608 - fixed names
            db.session.commit()
    return {"sections": sid, "comments": comments}


def measure_search(app: Any, repeat: int) -> None:
    """Time the query mix and its LIKE peer."""
    from drafting.extensions import db
    from drafting.models import Participant, Section, SectionVersion, User
    from workflows import search as flow

    with app.app_context():
        user = db.session.get(User, 1)
        assert user is not None
        visible_paper = db.session.scalar(
            select(Participant.paper_id).where(Participant.organisation_id == 1).limit(1)
        )
        all_samples: list[float] = []
        all_cpu: list[float] = []
        for label, query, options in QUERIES:
            filters = flow.Filters(
                paper_id=visible_paper if options.get("paper") else None,
                kind=options.get("kind"),
                versions=bool(options.get("versions")),
            )
            found = flow.search(user, query, filters)

            def run(query: str = query, filters: flow.Filters = filters) -> None:
                flow.search(user, query, filters)
                db.session.rollback()

            run()
            wall: list[float] = []
            cpu: list[float] = []
            for _ in range(repeat):
                started, started_cpu = time.perf_counter(), time.process_time()
                run()
                wall.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
            common.line(f"{label} ({found.total} hits)", common.stats(wall, cpu))
            all_samples += wall
            all_cpu += cpu
        ours = common.stats(all_samples, all_cpu)
        common.line("all queries", ours)

        def like(word: str) -> None:
            pattern = f"%{word}%"
            where = (
                select(SectionVersion.id, SectionVersion.title)
                .join(Section, Section.head_id == SectionVersion.id)
                .join(Participant, Participant.paper_id == Section.paper_id)
                .where(
                    Participant.organisation_id == user.organisation_id,
                    Section.removed_at.is_(None),
                    SectionVersion.body.like(pattern),
                )
            )
            db.session.execute(select(text("count(*)")).select_from(where.subquery())).scalar()
            db.session.execute(where.limit(20)).all()
            db.session.rollback()

        words = ["Leerstand", "Innenstädten", "Kopfsteinpflaster", "Wochenmark", "Fassade"]
        peer_wall: list[float] = []
        peer_cpu: list[float] = []
        for _ in range(max(2, repeat // 2)):
            for word in words:
                started, started_cpu = time.perf_counter(), time.process_time()
                like(word)
                peer_wall.append(time.perf_counter() - started)
                peer_cpu.append(time.process_time() - started_cpu)
        peer = common.stats(peer_wall, peer_cpu)
        common.line("peer: LIKE '%word%' scan", peer)
        common.ratio("search / LIKE scan", ours, peer)
        common.verdict("search p95", ours.p95 * 1000, 100)


def measure_saves(app: Any, saves: int, rng: random.Random) -> None:
    """Time ``PUT /api/v1/sections/<id>`` (in-process) with and without the index upkeep."""
    from drafting.extensions import db
    from drafting.models import Section, User
    from workflows import accounts
    from workflows import search as search_flow

    upkeep = search_flow.index_version

    def skip(*_args: Any, **_kwargs: Any) -> None:
        return None

    with app.app_context():
        user = db.session.get(User, 1)
        assert user is not None
        token = accounts.create_token(user, "bench")[1]
        sections = db.session.scalars(select(Section).where(Section.paper_id == 1)).all()
        versions = {s.id: s.version for s in sections}
        section_ids = list(versions)
        db.session.remove()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    samples: dict[bool, tuple[list[float], list[float]]] = {True: ([], []), False: ([], [])}
    for n in range(saves * 2):
        section_id = section_ids[n % len(section_ids)]
        indexed = n % 2 == 0
        search_flow.index_version = upkeep if indexed else skip  # type: ignore[assignment]
        payload = {"body": body_of(rng)[0], "base_version": versions[section_id]}
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.put(f"/api/v1/sections/{section_id}", json=payload, headers=headers)
        wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
        assert response.status_code == 200, response.get_data(as_text=True)
        versions[section_id] = response.get_json()["version"]
        if n >= 4:
            samples[indexed][0].append(wall)
            samples[indexed][1].append(cpu)
    search_flow.index_version = upkeep  # type: ignore[assignment]
    on, off = common.stats(*samples[True]), common.stats(*samples[False])
    common.line("PUT section with index upkeep", on)
    common.line("peer: PUT section without upkeep", off)
    common.ratio("with / without upkeep", on, off)
    common.verdict("upkeep share of a save, wall p50", (on.p50 / off.p50 - 1) * 100, 10, "%")
    share = (on.cpu_p50 / off.cpu_p50 - 1) * 100
    common.verdict("upkeep share of a save, cpu p50", share, 10, "%")


def run_backend(name: str, url: str, quick: bool) -> None:
    from drafting.extensions import db
    from workflows import search as flow

    print(f"\n## {name}")
    rng = random.Random(15)
    with tempfile.TemporaryDirectory(prefix="kw-bench-search-") as tmp:
        app = common.make_app(url, Path(tmp))
        if not url.startswith("sqlite"):
            with app.app_context():
                db.drop_all()
                db.create_all()
        papers = QUICK_PAPERS if quick else PAPERS
        comments = QUICK_COMMENTS if quick else COMMENTS
        started = time.perf_counter()
        built = build_corpus(app, papers, comments, rng)
        print(
            f"  corpus: {papers} papers × {SECTIONS} sections = {built['sections']} sections, "
            f"{built['comments']} comments, written in {time.perf_counter() - started:.1f} s"
        )
        with app.app_context():
            started = time.perf_counter()
            count = flow.rebuild(db.session.connection())
            db.session.commit()
            if db.engine.dialect.name == "postgresql":
                db.session.execute(text("ANALYZE search_entry"))
                db.session.commit()
            print(f"  index: {count} entries built in {time.perf_counter() - started:.1f} s")
        measure_search(app, 10 if quick else 30)
        measure_saves(app, 20 if quick else 150, rng)
        if not url.startswith("sqlite"):
            with app.app_context():
                db.drop_all()
                db.engine.dispose()


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0])
    common.header("Full-text search", args.quick)
    with common.database("") as sqlite_url:
        run_backend("SQLite (FTS5)", sqlite_url, args.quick)
    if args.database_url:
        run_backend("PostgreSQL (tsvector + GIN)", args.database_url, args.quick)


if __name__ == "__main__":
    main()
