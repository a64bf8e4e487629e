"""Full-text search: the same expectations on SQLite (FTS5) and PostgreSQL (tsvector)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text

from drafting.extensions import db
from drafting.models import PaperStatus, SearchEntry
from tests import factories
from tests.conftest import api_headers
from tests.integration.support import english, login
from tests.integration.test_openapi import check
from workflows import comments as comment_flow
from workflows import papers as paper_flow
from workflows import search as search_flow
from workflows import sections as section_flow
from workflows import suggestions as suggestion_flow
from workflows.search import Filters


def kinds_and_titles(user, query, **filters):  # noqa: ANN001, ANN201
    found = search_flow.search(user, query, Filters(**filters))
    return [(h.kind, h.title) for h in found.hits]


@pytest.fixture
def corpus(world: factories.World) -> factories.World:
    """A fixed corpus in the world's paper, plus an outsider's paper with the same words."""
    e = world.editor
    p = world.paper
    section_flow.save_section(
        e,
        world.section.id,
        body="Die Innenstadt lebt vom Handel. Leerstände nehmen zu.",
        base_version=1,
    )
    factories.section(e, p, title="Leerstand", body="Ein Kapitel ohne das Wort im Text.")
    factories.section(
        e,
        p,
        title="Zwischennutzung",
        body="Zwischennutzung von Ladenlokalen: Leerstand, Leerstand und nochmals Leerstand.",
    )
    factories.section(
        e,
        p,
        title="Mobilität",
        body="Die Straße am Markt wird zur Fußgängerzone. In den Innenstädten fehlen "
        "Radwege, und ein einzelner Leerstand fällt kaum auf, wenn viele andere Themen "
        "wie Verkehr, Parken, Lieferzonen, Bänke, Bäume, Beleuchtung und Sauberkeit "
        "diskutiert werden.",
    )
    s_events = factories.section(e, p, title="Veranstaltungen", body="Der Markt lebt.")
    comment = comment_flow.add_comment(
        world.reviewer, s_events.id, "Wir brauchen mehr Sitzbänke am Marktplatz."
    )
    comment_flow.add_comment(
        world.member, s_events.id, "Stimmt, auch Schatten.", parent_id=comment.id
    )
    suggestion_flow.create_suggestion(
        world.member,
        s_events.id,
        body="Der Wochenmarkt belebt die Mitte.",
        base_version=1,
        note="Begründung: Frequenzbringer am Samstag.",
    )
    # The outsiders' paper uses the very same words.
    other = factories.paper(world.outsider, title="Geheimer Leerstandsplan")
    factories.section(
        world.outsider, other, title="Leerstand", body="Leerstand Innenstadt Straße Frequenzbringer"
    )
    return world


def test_stemming_and_folding_find_inflected_forms(corpus: factories.World) -> None:
    member = corpus.member
    # Innenstädten → Innenstadt and back.
    found = kinds_and_titles(member, "Innenstädten")
    assert ("section", "Ausgangslage") in found and ("section", "Mobilität") in found
    assert ("section", "Mobilität") in kinds_and_titles(member, "innenstadt")
    # Leerstände finds Leerstand (and the other way round).
    assert ("section", "Zwischennutzung") in kinds_and_titles(member, "Leerstände")
    assert ("section", "Ausgangslage") in kinds_and_titles(member, "Leerstand")
    # ß folds to ss, case does not matter.
    assert kinds_and_titles(member, "strasse") == [("section", "Mobilität")]
    assert kinds_and_titles(member, "STRASSE") == [("section", "Mobilität")]
    assert kinds_and_titles(member, "Mobilitat") == [("section", "Mobilität")]


def test_phrase_and_prefix(corpus: factories.World) -> None:
    member = corpus.member
    # Words must appear next to each other, in this order.
    assert kinds_and_titles(member, '"lebt vom Handel"') == [("section", "Ausgangslage")]
    assert kinds_and_titles(member, '"Handel vom lebt"') == []
    assert kinds_and_titles(member, "Handel lebt") == [("section", "Ausgangslage")]
    # Zwischen* finds Zwischennutzung in the title and the text.
    assert kinds_and_titles(member, "Zwischen*") == [("section", "Zwischennutzung")]
    assert kinds_and_titles(member, "Zwischen") == []
    # Markt* finds Marktplatz (comment), Markt (sections).
    assert {k for k, _ in kinds_and_titles(member, "Markt*")} == {"section", "comment"}


def test_comments_replies_suggestions_and_papers_are_found(corpus: factories.World) -> None:
    member = corpus.member
    assert kinds_and_titles(member, "Sitzbänke") == [("comment", "Veranstaltungen")]
    assert kinds_and_titles(member, "Schatten") == [("comment", "Veranstaltungen")]
    # Suggestion text and note.
    assert kinds_and_titles(member, "Wochenmarkt") == [("suggestion", "Veranstaltungen")]
    assert kinds_and_titles(member, "Frequenzbringer") == [("suggestion", "Veranstaltungen")]
    assert kinds_and_titles(member, "Konzept") == [("paper", "Konzept Innenstadt")]


def test_ranking_order_is_fixed(corpus: factories.World) -> None:
    """Title first, then the short text saying it three times, then the long texts."""
    found = search_flow.search(corpus.member, "Leerstand")
    assert [h.title for h in found.hits] == [
        "Leerstand",
        "Zwischennutzung",
        "Ausgangslage",
        "Mobilität",
    ]
    assert found.total == 4
    scores = [h.score for h in found.hits]
    assert scores == sorted(scores, reverse=True)


def test_only_visible_papers(corpus: factories.World) -> None:
    # The outsider sees only their own paper's matches; the member never sees theirs.
    outsider_hits = search_flow.search(corpus.outsider, "Leerstand").hits
    assert [(h.kind, h.title) for h in outsider_hits] == [("section", "Leerstand")]
    assert outsider_hits[0].paper_id != corpus.paper.id
    assert all(
        h.paper_id == corpus.paper.id for h in search_flow.search(corpus.member, "Leerstand").hits
    )
    # The only matches are in a paper the user cannot see: nothing at all, not even a count.
    found = search_flow.search(corpus.member, "Leerstandsplan")
    assert found.total == 0 and found.hits == []
    # Once the city's organisation leaves, the member no longer finds the paper's texts.
    paper_flow.remove_participant(corpus.coordinator, corpus.paper.id, corpus.city.id)
    assert search_flow.search(corpus.member, "Leerstand").total == 0


def test_older_versions_only_on_request(corpus: factories.World) -> None:
    member = corpus.member
    # "Wohnen" was only in version 1 of the first section.
    assert kinds_and_titles(member, "Wohnen") == []
    assert kinds_and_titles(member, "Wohnen", versions=True) == [("version", "Ausgangslage")]
    hit = search_flow.search(member, "Wohnen", Filters(versions=True)).hits[0]
    assert hit.version_number == 1


def test_filters(corpus: factories.World) -> None:
    member = corpus.member
    assert kinds_and_titles(member, "Markt*", kind="comment") == [("comment", "Veranstaltungen")]
    # Organisation of the author: the chamber's reviewer wrote the Marktplatz comment.
    assert kinds_and_titles(member, "Markt*", organisation_id=corpus.chamber.id) == [
        ("comment", "Veranstaltungen")
    ]
    assert kinds_and_titles(member, "Leerstand", paper_id=corpus.paper.id + 1000) == []
    assert kinds_and_titles(member, "Leerstand", state=PaperStatus.FINAL) == []
    assert len(kinds_and_titles(member, "Leerstand", state=PaperStatus.DRAFTING)) == 4
    today = date.today()
    assert len(kinds_and_titles(member, "Leerstand", date_from=today - timedelta(days=1))) == 4
    assert kinds_and_titles(member, "Leerstand", date_to=today - timedelta(days=2)) == []


def test_snippets_are_escaped_and_mark_only_the_match(corpus: factories.World) -> None:
    s = factories.section(
        corpus.editor,
        corpus.paper,
        title="Sicherheit",
        body="Bitte <script>alert(1)</script> Laternen & Licht.",
    )
    hit = search_flow.search(corpus.member, "Laternen").hits[0]
    assert hit.section_id == s.id
    assert "<script>" not in hit.snippet_html
    assert "&lt;script&gt;" in hit.snippet_html or "alert" not in hit.snippet_html
    assert "<mark>Laternen</mark>" in hit.snippet_html
    assert hit.snippet_html.count("<mark>") == 1
    assert hit.matched == ("Laternen",)


def test_index_follows_edits_removals_and_deletions(corpus: factories.World) -> None:
    member, editor = corpus.member, corpus.editor
    s = factories.section(editor, corpus.paper, title="Parken", body="Parkhaus am Ring.")
    assert kinds_and_titles(member, "Parkhaus") == [("section", "Parken")]
    section_flow.remove_section(editor, s.id)
    assert kinds_and_titles(member, "Parkhaus") == []
    section_flow.undo_remove(editor, s.id)
    assert kinds_and_titles(member, "Parkhaus") == [("section", "Parken")]
    comment = comment_flow.add_comment(member, s.id, "Zu teuer das Parkticket.")
    assert kinds_and_titles(member, "Parkticket") == [("comment", "Parken")]
    comment_flow.edit_comment(member, comment.id, "Zu teuer die Gebühr.")
    assert kinds_and_titles(member, "Parkticket") == []
    assert kinds_and_titles(member, "Gebühr") == [("comment", "Parken")]
    comment_flow.delete_comment(member, comment.id)
    assert kinds_and_titles(member, "Gebühr") == []
    paper_flow.update_paper(corpus.coordinator, corpus.paper.id, "Lebendige Zentren", "")
    assert kinds_and_titles(member, "Zentren") == [("paper", "Lebendige Zentren")]


def test_each_section_keeps_one_current_entry(corpus: factories.World) -> None:
    """Saves, a restored version and an accepted suggestion: the head is the one "section"."""
    e, sid = corpus.editor, corpus.section.id
    section_flow.save_section(e, sid, body="Zweite Fassung.", base_version=2)
    section_flow.save_section(e, sid, body="Dritte Fassung.", base_version=3)
    section_flow.restore_version(e, sid, 2)
    suggestion = suggestion_flow.create_suggestion(
        corpus.member, sid, body="Vierte Fassung mit Vorschlag.", base_version=5
    )
    suggestion_flow.accept(e, suggestion.id)
    db.session.commit()
    head = section_flow.history(sid)[0]
    assert head.number == 6
    current = db.session.execute(
        db.select(SearchEntry.source_id).where(
            SearchEntry.section_id == sid, SearchEntry.kind == "section"
        )
    ).all()
    assert [row.source_id for row in current] == [head.id]
    older = db.session.scalar(
        db.select(db.func.count()).where(
            SearchEntry.section_id == sid, SearchEntry.kind == "version"
        )
    )
    assert older == 5
    assert set(kinds_and_titles(corpus.member, "Vorschlag")) == {
        ("section", "Ausgangslage"),
        ("suggestion", "Ausgangslage"),
    }


def test_rebuild_reproduces_the_index(corpus: factories.World) -> None:
    before = search_flow.search(corpus.member, "Leerstand")
    db.session.execute(db.delete(SearchEntry))
    db.session.commit()
    assert search_flow.search(corpus.member, "Leerstand").total == 0
    count = search_flow.rebuild(db.session.connection())
    db.session.commit()
    assert count > 10
    after = search_flow.search(corpus.member, "Leerstand")
    assert [h.title for h in after.hits] == [h.title for h in before.hits]


def test_suggested_sections_and_removals_are_found(corpus: factories.World) -> None:
    member, editor = corpus.member, corpus.editor
    new = suggestion_flow.suggest_new_section(
        member,
        corpus.paper.id,
        title="Lastenräder",
        level=1,
        body="Lastenräder entlasten den Lieferverkehr.",
        after=None,
        note="Begründung: Klimaschutz",
    )
    suggestion_flow.suggest_removal(member, corpus.section.id, note="Veraltete Zahlen")
    # The proposed title and text, and a removal's reason under the section's title.
    assert kinds_and_titles(member, "Lieferverkehr") == [("suggestion", "Lastenräder")]
    assert kinds_and_titles(member, "Klimaschutz") == [("suggestion", "Lastenräder")]
    assert kinds_and_titles(member, "veraltet") == [("suggestion", "Ausgangslage")]
    assert search_flow.search(corpus.outsider, "Lieferverkehr").total == 0
    # A rebuild keeps the suggestion that belongs to no section yet.
    db.session.execute(db.delete(SearchEntry))
    search_flow.rebuild(db.session.connection())
    db.session.commit()
    assert kinds_and_titles(member, "Lieferverkehr") == [("suggestion", "Lastenräder")]
    # Accepted, it belongs to the new section: the section is found, and so is the suggestion.
    suggestion_flow.accept(editor, new.id)
    found = search_flow.search(member, "Lieferverkehr")
    assert {(h.kind, h.title) for h in found.hits} == {
        ("section", "Lastenräder"),
        ("suggestion", "Lastenräder"),
    }
    placed = next(h for h in found.hits if h.kind == "suggestion")
    assert placed.section_id == next(h for h in found.hits if h.kind == "section").section_id


def test_reindex_command(app: Flask, corpus: factories.World) -> None:
    db.session.execute(db.delete(SearchEntry))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "indexed" in result.output
    assert search_flow.search(corpus.member, "Leerstand").total == 4


def test_paging_never_loses_visible_rows(corpus: factories.World) -> None:
    first = search_flow.search(corpus.member, "Leerstand", per_page=3, page=1)
    second = search_flow.search(corpus.member, "Leerstand", per_page=3, page=2)
    assert first.total == second.total == 4
    assert len(first.hits) == 3 and len(second.hits) == 1
    assert first.pages == 2


def test_a_page_past_the_last_still_counts_all_matches(corpus: factories.World) -> None:
    # PostgreSQL takes the total from a window over the page's rows: an empty page must
    # count apart, and the planner settings of the ranking must not outlive it.
    past = search_flow.search(corpus.member, "Leerstand", per_page=3, page=5)
    assert past.total == 4 and past.hits == []
    if db.session.get_bind().dialect.name == "postgresql":
        settings = db.session.execute(
            text("SELECT current_setting('enable_seqscan'), current_setting('enable_indexscan')")
        ).one()
        assert tuple(settings) == ("on", "on")


def test_nonsense_queries_are_harmless(corpus: factories.World) -> None:
    for query in [
        "",
        "   ",
        '"',
        "*",
        "AND OR NOT",
        "(",
        "a:b",
        "-",
        "'; DROP TABLE paper; --",
        "NEAR(",
    ]:
        found = search_flow.search(corpus.member, query)
        assert found.total >= 0


# --- pages and API ------------------------------------------------------------------------


def test_search_page_shows_results_with_links(client: FlaskClient, corpus: factories.World) -> None:
    login(client, corpus.member.email)
    response = client.get("/search?q=Leerst%C3%A4nde")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<mark>Leerstände</mark>" in page
    assert f"/papers/{corpus.paper.id}?highlight=" in page
    assert "#section-" in page
    assert "Geheimer" not in page


def test_search_page_in_english_keeps_the_filters(
    client: FlaskClient, corpus: factories.World
) -> None:
    english(corpus)
    login(client, corpus.member.email)
    page = client.get("/search?q=Leerstand&kind=section").get_data(as_text=True)
    assert "<h1>Search</h1>" in page and 'value="Leerstand"' in page
    assert "Also in earlier versions" in page and "4 results" in page


def test_search_box_in_header(client: FlaskClient, corpus: factories.World) -> None:
    login(client, corpus.member.email)
    page = client.get("/").get_data(as_text=True)
    assert 'role="search"' in page and 'name="q"' in page
    assert "search.js" in page


def test_paper_page_accepts_highlight(client: FlaskClient, corpus: factories.World) -> None:
    login(client, corpus.member.email)
    response = client.get(f"/papers/{corpus.paper.id}?highlight=Leerst%C3%A4nde")
    assert response.status_code == 200
    assert "search.js" in response.get_data(as_text=True)


def test_api_search(client: FlaskClient, corpus: factories.World) -> None:
    token = factories.token(corpus.member)
    response = client.get("/api/v1/search?q=Leerstand", headers=api_headers(token))
    assert response.status_code == 200
    data = check(response, "/search", "get")
    assert data["total"] == 4
    first = data["results"][0]
    assert set(first) == {"kind", "paper_id", "section_id", "title", "snippet", "url", "score"}
    assert first["kind"] == "section" and first["title"] == "Leerstand"
    assert first["url"].startswith(f"/papers/{corpus.paper.id}?highlight=")
    versions = client.get(
        "/api/v1/search?q=Wohnen&versions=1", headers=api_headers(token)
    ).get_json()
    assert [r["kind"] for r in versions["results"]] == ["version"]
    assert "/versions/1" in versions["results"][0]["url"]
    bad = client.get("/api/v1/search?q=x&kind=nothing", headers=api_headers(token))
    assert bad.status_code == 422
    check(bad, "/search", "get")
    assert bad.get_json()["error"]["code"]
    bad_date = client.get("/api/v1/search?q=x&from=gestern", headers=api_headers(token))
    assert bad_date.status_code == 422


def test_api_search_outsider_gets_total_zero(client: FlaskClient, corpus: factories.World) -> None:
    token = factories.token(corpus.outsider)
    data = client.get("/api/v1/search?q=Sitzb%C3%A4nke", headers=api_headers(token)).get_json()
    assert data == {"total": 0, "results": []}
    data = client.get(
        f"/api/v1/search?q=Leerstand&paper={corpus.paper.id}", headers=api_headers(token)
    ).get_json()
    assert data == {"total": 0, "results": []}


def test_sections_added_in_bulk_are_found(world: factories.World) -> None:
    """A Word import appends its sections with ``add_sections``: they are indexed too."""
    section_flow.add_sections(
        world.editor,
        world.paper.id,
        [
            section_flow.NewSection("Ladenlokale", 1, "Leerstände in der Fußgängerzone."),
            section_flow.NewSection("Verkehr", 2, "Radwege und Lieferzonen."),
        ],
    )
    assert kinds_and_titles(world.member, "Fussgangerzone") == [("section", "Ladenlokale")]
    assert kinds_and_titles(world.member, "Lieferzone") == [("section", "Verkehr")]


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"kind": "comment"},
        {"versions": True},
        {"organisation": True, "paper": True},
        {"state": PaperStatus.DRAFTING, "date_from": date(2020, 1, 1), "date_to": date(2099, 1, 1)},
    ],
)
def test_sqlite_ranks_from_the_narrow_index_driven_by_fts5(
    corpus: factories.World, filters: dict[str, object]
) -> None:
    """Each match is looked up once in the covering index, by its FTS5 rowid alone.

    A filter that took part in the seek (the visible papers as an ``IN`` list, say) would
    probe the index once per paper for every match: ten times slower at 1 000 papers.
    """
    if db.session.get_bind().dialect.name != "sqlite":
        pytest.skip("the plan of SQLite's FTS5 query")
    if filters.pop("organisation", False):
        filters["organisation_id"] = corpus.member.organisation_id
    if filters.pop("paper", False):
        filters["paper_id"] = corpus.paper.id
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if "MATCH" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        found = search_flow.search(corpus.member, "Leerstand", Filters(**filters))  # type: ignore[arg-type]
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert found.total >= 0 and seen
    raw = db.session.connection().connection.driver_connection
    assert raw is not None
    plan = [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {seen[0][0]}", seen[0][1])]
    steps = [step for step in plan if step.startswith(("SCAN", "SEARCH"))]
    assert steps[:2] == [
        "SCAN search_fts VIRTUAL TABLE INDEX 0:M2",
        f"SEARCH matched USING COVERING INDEX {search_flow.NARROW_INDEX} (id=?)",
    ], plan
