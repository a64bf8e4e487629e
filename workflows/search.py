"""Full-text search: the index kept on write, and the query a user may run.

Every searchable text has one :class:`SearchEntry` row, written in the same transaction as
the text itself (by the section, comment, suggestion and paper workflows). The stems come
from :mod:`drafting.text.searchtext`; SQLite matches them with FTS5, PostgreSQL with a tsvector
and a GIN index. Permissions are part of the query (a join on the user's organisation's
participations), so a page of results never loses rows to a later filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    TableClause,
    bindparam,
    column,
    delete,
    func,
    insert,
    literal_column,
    select,
    table,
    text,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from drafting.extensions import db
from drafting.models import (
    Comment,
    Paper,
    PaperStatus,
    Participant,
    SearchEntry,
    Section,
    SectionVersion,
    Suggestion,
    User,
)
from drafting.text.searchtext import (
    Term,
    fts5_expression,
    parse_query,
    plain_text,
    snippet,
    terms,
    tsquery_expression,
)

KINDS = ("section", "version", "comment", "suggestion", "paper")
PER_PAGE = 20
# Title matches weigh ten times a body match on both backends.
TITLE_WEIGHT = 10.0
_ENTRIES = SearchEntry.__table__
# The section's current entry is its previous head version's: found by one seek in the
# (source, source_id) index. kind is in no index on PostgreSQL, so the update can stay a
# heap-only tuple there; on SQLite it touches the narrow index only.
_DEMOTE = (
    update(_ENTRIES)
    .where(
        _ENTRIES.c.source == "version",
        _ENTRIES.c.source_id == bindparam("previous_head"),
        _ENTRIES.c.kind == "section",
    )
    .values(kind="version")
)
_INSERT = insert(_ENTRIES)

# --- upkeep ---------------------------------------------------------------------------------


def _row(
    source: str,
    source_id: int,
    kind: str,
    *,
    paper_id: int,
    section_id: int | None,
    organisation_id: int | None,
    created_at: datetime,
    title: str,
    body: str,
) -> dict[str, Any]:
    return {
        "source": source,
        "source_id": source_id,
        "kind": kind,
        "paper_id": paper_id,
        "section_id": section_id,
        "organisation_id": organisation_id,
        "created_at": created_at,
        "title": title[:300],
        "text": body,
        "title_terms": terms(title),
        "body_terms": terms(body),
    }


# PostgreSQL demotes and inserts in one statement (one round trip): the UPDATE as a CTE.
# The new row's parameters are prefixed, so that none of them names a column to update;
# the columns are those _row() fills.
_ROW = tuple(
    _row(
        "",
        0,
        "",
        paper_id=0,
        section_id=None,
        organisation_id=None,
        created_at=datetime.min,
        title="",
        body="",
    )
)
_INDEX_HEAD_POSTGRESQL = (
    insert(_ENTRIES)
    .values({name: bindparam(f"new_{name}", type_=_ENTRIES.c[name].type) for name in _ROW})
    .add_cte(_DEMOTE.cte("demoted"))
)


def _put(row: dict[str, Any]) -> None:
    existing = db.session.scalar(
        select(SearchEntry.id).where(
            SearchEntry.source == row["source"], SearchEntry.source_id == row["source_id"]
        )
    )
    if existing is None:
        db.session.execute(insert(_ENTRIES).values(**row))
    else:
        db.session.execute(update(_ENTRIES).where(_ENTRIES.c.id == existing).values(**row))


def _paper_row(paper: Paper) -> dict[str, Any]:
    return _row(
        "paper",
        paper.id,
        "paper",
        paper_id=paper.id,
        section_id=None,
        organisation_id=paper.lead_organisation_id,
        created_at=paper.created_at,
        title=paper.title,
        body=paper.summary or "",
    )


def _version_row(
    paper_id: int, version: SectionVersion, organisation_id: int | None, *, current: bool
) -> dict[str, Any]:
    return _row(
        "version",
        version.id,
        "section" if current else "version",
        paper_id=paper_id,
        section_id=version.section_id,
        organisation_id=organisation_id,
        created_at=version.created_at,
        title=version.title,
        body=plain_text(version.body_html),
    )


def _comment_row(comment: Comment, organisation_id: int | None) -> dict[str, Any]:
    return _row(
        "comment",
        comment.id,
        "comment",
        paper_id=comment.paper_id,
        section_id=comment.section_id,
        organisation_id=organisation_id,
        created_at=comment.created_at,
        title="",
        body=comment.body,
    )


def _suggestion_row(suggestion: Suggestion, organisation_id: int | None) -> dict[str, Any]:
    body = suggestion.body if not suggestion.note else f"{suggestion.body}\n\n{suggestion.note}"
    return _row(
        "suggestion",
        suggestion.id,
        "suggestion",
        paper_id=suggestion.paper_id,
        section_id=suggestion.section_id,
        organisation_id=organisation_id,
        created_at=suggestion.created_at,
        title=suggestion.title or "",
        body=body,
    )


def index_paper(paper: Paper) -> None:
    """Index a paper's title and summary (after creating or changing it)."""
    db.session.flush()
    _put(_paper_row(paper))


def index_version(
    paper_id: int,
    version: SectionVersion,
    organisation_id: int | None,
    previous_head: int | None,
) -> None:
    """Index a section's new current version; the previous head becomes an older version."""
    # Prepared Core statements on the session's connection: no ORM bookkeeping and no
    # statement building on the save path.
    conn = db.session.connection()
    row = _version_row(paper_id, version, organisation_id, current=True)
    if conn.dialect.name == "postgresql":
        parameters = {f"new_{name}": value for name, value in row.items()}
        conn.execute(_INDEX_HEAD_POSTGRESQL, {**parameters, "previous_head": previous_head})
        return
    if previous_head is not None:
        conn.execute(_DEMOTE, {"previous_head": previous_head})
    # One row as a plain dict: the single-row path, not executemany.
    conn.execute(_INSERT, row)


def index_new_sections(
    paper_id: int, versions: Sequence[SectionVersion], organisation_id: int | None
) -> None:
    """Index the first versions of sections just added (a Word import) in one statement."""
    if versions:
        db.session.connection().execute(
            _INSERT, [_version_row(paper_id, v, organisation_id, current=True) for v in versions]
        )


def index_comment(comment: Comment, organisation_id: int | None) -> None:
    """Index a new or changed comment or reply."""
    _put(_comment_row(comment, organisation_id))


def index_suggestion(suggestion: Suggestion, organisation_id: int | None) -> None:
    """Index a suggestion's text and note."""
    _put(_suggestion_row(suggestion, organisation_id))


def unindex(source: str, source_id: int) -> None:
    """Drop one text from the index (a deleted comment)."""
    db.session.execute(
        delete(_ENTRIES).where(_ENTRIES.c.source == source, _ENTRIES.c.source_id == source_id)
    )


def unindex_section(section_id: int) -> None:
    """Drop a removed section's texts (versions, comments, suggestions) from the index."""
    db.session.execute(delete(_ENTRIES).where(_ENTRIES.c.section_id == section_id))


def index_section(section_id: int) -> None:
    """Index all texts of one section again (after bringing a removed section back)."""
    unindex_section(section_id)
    rows = _section_rows(db.session.connection(), [section_id])
    if rows:
        db.session.execute(insert(_ENTRIES), rows)


def _org_of_users(conn: Connection) -> dict[int, int]:
    return {uid: oid for uid, oid in conn.execute(select(User.id, User.organisation_id))}


def _section_rows(
    conn: Connection, section_ids: Sequence[int] | None, orgs: dict[int, int] | None = None
) -> list[dict[str, Any]]:
    """Build the index rows of live sections (all of them when ``section_ids`` is None)."""
    orgs = orgs if orgs is not None else _org_of_users(conn)
    live = select(Section.id, Section.paper_id, Section.head_id).where(Section.removed_at.is_(None))
    if section_ids is not None:
        live = live.where(Section.id.in_(section_ids))
    sections = {sid: (pid, head) for sid, pid, head in conn.execute(live)}
    if not sections:
        return []
    ids = list(sections)
    rows: list[dict[str, Any]] = []
    for v in conn.execute(select(SectionVersion).where(SectionVersion.section_id.in_(ids))):
        paper_id, head_id = sections[v.section_id]
        rows.append(
            _version_row(paper_id, v, orgs.get(v.author_id), current=v.id == head_id)  # type: ignore[arg-type]
        )
    for c in conn.execute(
        select(Comment).where(Comment.section_id.in_(ids), Comment.deleted_at.is_(None))
    ):
        rows.append(_comment_row(c, orgs.get(c.author_id)))  # type: ignore[arg-type]
    for s in conn.execute(select(Suggestion).where(Suggestion.section_id.in_(ids))):
        rows.append(_suggestion_row(s, orgs.get(s.author_id)))  # type: ignore[arg-type]
    return rows


def rebuild(conn: Connection, batch: int = 500) -> int:
    """Rebuild the whole index from the papers, sections, comments and suggestions.

    Runs on a plain connection (the CLI and the benchmark); returns the number of rows.
    """
    conn.execute(delete(_ENTRIES))
    orgs = _org_of_users(conn)
    total = 0
    papers = [
        _paper_row(p)  # type: ignore[arg-type]
        for p in conn.execute(select(Paper))
    ]
    if papers:
        conn.execute(insert(_ENTRIES), papers)
        total += len(papers)
    section_ids = list(conn.scalars(select(Section.id).where(Section.removed_at.is_(None))))
    for start in range(0, len(section_ids), batch):
        rows = _section_rows(conn, section_ids[start : start + batch], orgs)
        if rows:
            conn.execute(insert(_ENTRIES), rows)
            total += len(rows)
    # Suggested new sections not accepted yet belong to no section.
    unplaced = [
        _suggestion_row(s, orgs.get(s.author_id))  # type: ignore[arg-type]
        for s in conn.execute(select(Suggestion).where(Suggestion.section_id.is_(None)))
    ]
    if unplaced:
        conn.execute(insert(_ENTRIES), unplaced)
        total += len(unplaced)
    return total


# --- query ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What a search is narrowed to; all optional."""

    paper_id: int | None = None
    kind: str | None = None
    organisation_id: int | None = None
    state: PaperStatus | None = None
    date_from: date | None = None
    date_to: date | None = None
    versions: bool = False


@dataclass(frozen=True)
class Hit:
    """One result: what matched, where, and an escaped snippet with the matches marked."""

    kind: str
    paper_id: int
    paper_title: str
    section_id: int | None
    source_id: int
    version_number: int | None
    title: str
    title_html: str
    snippet_html: str
    matched: tuple[str, ...]
    score: float
    created_at: datetime


@dataclass(frozen=True)
class Results:
    """One page of results and the number of all matches."""

    query: str
    total: int
    page: int
    per_page: int
    hits: list[Hit]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


# SQLite reads the few columns a ranking needs (id, kind, paper, organisation, date) from a
# covering index instead of search_entry's wide rows (text and stems, about one page each):
# a broad query looks up 15 000-20 000 matches, three times faster from the narrow index (see
# bench/README.md). Without statistics SQLite's planner would take the rowid lookup, so the
# FROM names the index; the index is created beside the FTS5 table (models.SEARCH_DDL).
NARROW_INDEX = "ix_search_entry_narrow"


class _NarrowEntries(TableClause):
    """search_entry as ``search_entry AS matched INDEXED BY ix_search_entry_narrow`` (SQLite)."""

    __visit_name__ = "narrow_entries"
    inherit_cache = True


@compiles(_NarrowEntries)
def _narrow_entries(element: _NarrowEntries, compiler: SQLCompiler, **kw: Any) -> str:
    name = compiler.preparer.quote(element.name)
    if not kw.get("asfrom"):
        return name
    linter = kw.get("from_linter")
    if linter:
        linter.froms[element] = element.name
    return f"search_entry AS {name} INDEXED BY {NARROW_INDEX}"


_NARROW_COLUMNS = ("id", "kind", "paper_id", "organisation_id", "created_at")
_NARROW = _NarrowEntries(
    "matched", *(column(name, _ENTRIES.c[name].type) for name in _NARROW_COLUMNS)
)
# The filters test those columns as ``+matched.kind`` &c.: SQLite's unary plus keeps a term
# from driving the index seek, which the FTS5 rowid already makes (an ``IN`` list of papers
# in the seek would probe the index once per visible paper for every match).
_NARROW_TESTED = SimpleNamespace(
    **{name: literal_column(f"+matched.{name}", _ENTRIES.c[name].type) for name in _NARROW_COLUMNS}
)


def _conditions(user: User, filters: Filters, e: Any) -> list[ColumnElement[bool]]:
    """The permission and filter conditions on search entries ``e``, as semi-joins."""
    # Permissions inside the query: only papers the user's organisation takes part in.
    found: list[ColumnElement[bool]] = [
        e.paper_id.in_(
            select(Participant.paper_id).where(Participant.organisation_id == user.organisation_id)
        )
    ]
    if filters.kind:
        found.append(e.kind == filters.kind)
    elif not filters.versions:
        found.append(e.kind != "version")
    if filters.paper_id is not None:
        found.append(e.paper_id == filters.paper_id)
    if filters.organisation_id is not None:
        found.append(e.organisation_id == filters.organisation_id)
    if filters.state is not None:
        found.append(e.paper_id.in_(select(Paper.id).where(Paper.status == filters.state)))
    if filters.date_from is not None:
        found.append(e.created_at >= datetime.combine(filters.date_from, time.min))
    if filters.date_to is not None:
        found.append(e.created_at < datetime.combine(filters.date_to + timedelta(days=1), time.min))
    return found


@dataclass(frozen=True)
class _Matching:
    """What a query matches: the FROM clause, its entries' columns, the score and conditions."""

    source: Any
    entries: Any
    score: ColumnElement[Any]
    where: list[ColumnElement[bool]]


def _matching(user: User, parsed: list[Term], filters: Filters, dialect: str) -> _Matching:
    if dialect == "sqlite":
        fts = table("search_fts", column("rowid"))
        e = _NARROW.c
        bm25: ColumnElement[Any] = literal_column(f"-bm25(search_fts, {TITLE_WEIGHT}, 1.0)")
        match: ColumnElement[bool] = literal_column("search_fts", Boolean).op("MATCH")(
            bindparam("fts_query", fts5_expression(parsed))
        )
        source = fts.join(_NARROW, e.id == fts.c.rowid)
        return _Matching(source, e, bm25, [match, *_conditions(user, filters, _NARROW_TESTED)])
    tsq = func.to_tsquery(literal_column("'simple'::regconfig"), tsquery_expression(parsed))
    tsv: ColumnElement[Any] = literal_column("search_entry.tsv")
    # Normalisation 1 divides by the log of the length, like BM25 favours short texts.
    # Weights {D, C, B, A}: a title (A) counts ten times a body word (D).
    weights: ColumnElement[Any] = literal_column(
        f"'{{0.1, 0.2, 0.4, {0.1 * TITLE_WEIGHT}}}'::float4[]"
    )
    rank: ColumnElement[Any] = func.ts_rank(weights, tsv, tsq, 1)
    where = [tsv.op("@@")(tsq), *_conditions(user, filters, _ENTRIES.c)]
    return _Matching(_ENTRIES, _ENTRIES.c, rank, where)


# What a result shows of its entry and paper (both backends' result rows).
_SHOWN = (
    *(
        _ENTRIES.c[name]
        for name in (
            "id",
            "kind",
            "paper_id",
            "section_id",
            "source",
            "source_id",
            "title",
            "text",
            "created_at",
        )
    ),
    Paper.title.label("paper_title"),
)


def search(
    user: User, query: str, filters: Filters | None = None, page: int = 1, per_page: int = PER_PAGE
) -> Results:
    """Search the texts of the papers the user may see; best matches first."""
    filters = filters or Filters()
    parsed = parse_query(query)
    page = max(1, page)
    if not parsed:
        return Results(query, 0, page, per_page, [])
    found = _matching(user, parsed, filters, db.session.get_bind().dialect.name)
    rows = _ranked(found, page, per_page)
    total = int(rows[0].total) if rows else 0
    if not rows and page > 1:
        counted = select(func.count()).select_from(found.source).where(*found.where)
        total = int(db.session.scalar(counted) or 0)
    return Results(query, total, page, per_page, _hits(rows, parsed))


# PostgreSQL plans the broad queries best as one pass over the GIN index's matches with the
# visible papers hashed beside them; left to itself it walks every visible paper's entries
# through ix_search_entry_paper and tests each tsvector (2-4 times slower on 5 000 hits, see
# bench/README.md). The settings hold for the ranking statement only: set_config(..., true)
# is transaction-local and the reset puts back the session's values right after it.
_PLAN = text(
    "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_indexscan', 'off', true),"
    " set_config('jit', 'off', true)"
)
_UNPLAN = text(
    "SELECT set_config(name, reset_val, true) FROM pg_settings"
    " WHERE name IN ('enable_seqscan', 'enable_indexscan', 'jit')"
)


def _ranked(found: _Matching, page: int, per_page: int) -> Sequence[Any]:
    """One page of results with the number of all matches, in one statement.

    The matches are ranked on narrow rows (id, date, score) with the permissions as
    semi-joins; only the page's rows are joined to their text and paper afterwards.
    PostgreSQL counts the matches with a window; SQLite cannot run FTS5's bm25() inside a
    window query, so it keeps the ranked matches once (a materialised CTE) and counts them.
    """
    e = found.entries
    matches = (
        select(e.id, e.created_at, found.score.label("score"))
        .select_from(found.source)
        .where(*found.where)
    )
    postgresql = found.entries is _ENTRIES.c
    total: ColumnElement[Any]
    if postgresql:
        matches = matches.add_columns(func.count().over().label("total"))
    else:
        kept = matches.cte("matches").prefix_with("MATERIALIZED")
        matches = select(kept)
        total = select(func.count()).select_from(kept).scalar_subquery()
    m = matches.selected_columns
    ranked = (
        matches.order_by(m.score.desc(), m.created_at.desc(), m.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
        .subquery("ranked")
    )
    if postgresql:
        total = ranked.c.total
    statement = (
        select(*_SHOWN, ranked.c.score, total.label("total"))
        .select_from(ranked)
        .join(_ENTRIES, _ENTRIES.c.id == ranked.c.id)
        .join(Paper, Paper.id == _ENTRIES.c.paper_id)
        .order_by(ranked.c.score.desc(), ranked.c.created_at.desc(), ranked.c.id.desc())
    )
    conn = db.session.connection()
    if not postgresql:
        return conn.execute(statement).all()
    conn.execute(_PLAN)
    rows = conn.execute(statement).all()
    # (On an error the rollback undoes the settings with the transaction.)
    conn.execute(_UNPLAN)
    return rows


def _hits(rows: Sequence[Any], parsed: list[Term]) -> list[Hit]:
    version_ids = [r.source_id for r in rows if r.source == "version"]
    numbers: dict[int, int] = {}
    if version_ids:
        numbers = dict(
            iter(
                db.session.execute(
                    select(SectionVersion.id, SectionVersion.number).where(
                        SectionVersion.id.in_(version_ids)
                    )
                )
            )
        )
    section_ids = {r.section_id for r in rows if r.section_id is not None}
    section_titles: dict[int, str] = {}
    if section_ids:
        section_titles = dict(
            iter(
                db.session.execute(
                    select(Section.id, SectionVersion.title)
                    .join(SectionVersion, SectionVersion.id == Section.head_id)
                    .where(Section.id.in_(section_ids))
                )
            )
        )
    hits = []
    for r in rows:
        title = r.title or section_titles.get(r.section_id, "") or r.paper_title
        body = snippet(r.text, parsed)
        head = snippet(title, parsed, width=60)
        hits.append(
            Hit(
                kind=r.kind,
                paper_id=r.paper_id,
                paper_title=r.paper_title,
                section_id=r.section_id,
                source_id=r.source_id,
                version_number=numbers.get(r.source_id) if r.source == "version" else None,
                title=title,
                title_html=head.html,
                snippet_html=body.html,
                matched=tuple(dict.fromkeys(head.matched + body.matched)),
                score=round(float(r.score), 6),
                created_at=r.created_at,
            )
        )
    return hits
