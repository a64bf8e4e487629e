"""Request and response schemas of the JSON API, declared once as pydantic models.

The same declarations validate requests (:func:`endpoint`, through SpecTree), serialise the
answers and give the OpenAPI document its component schemas (:func:`component_schemas`,
used by :mod:`drafting.api.openapi`). A refused request keeps the API's error envelope:
a body that is not a JSON object is a 400 ``bad_request``, a field that breaks a rule a 422
``validation_failed`` naming the ``field``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from flask import request
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    RootModel,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import models_json_schema
from spectree import Response as Answers
from spectree import SpecTree
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response as FlaskResponse

from drafting.inputs import bounded_int
from workflows.errors import ValidationFailed

# Validation and serialisation only: the document is assembled in drafting.api.openapi (its
# paths, parameters and error answers are the API's contract and stay spelt out there).
spectree = SpecTree("flask", mode="strict", annotations=False)

Timestamp = Annotated[
    datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
Level = Annotated[int, Field(ge=1, le=3, description="Heading level 1–3.")]
# A number in the query string: out of the columns' range is a 400 (drafting.inputs raises
# BadRequest, which pydantic lets through), not a number at all a 422.
QueryInt = Annotated[int, BeforeValidator(lambda value: bounded_int(str(value)))]
PaperState = Literal["drafting", "signing", "final", "archived"]


class Request(BaseModel):
    """A request body: JSON types are taken as they are (no ``"1"`` for 1, no true for 1).

    ``messages`` gives a field's refusal its own text (the one clients have always seen);
    other fields get the generic ones of :func:`_refusal`.
    """

    model_config = ConfigDict(strict=True, extra="ignore")
    messages: ClassVar[dict[str, str]] = {}


def _iso_day(value: object) -> date | None:
    """A day as ``YYYY-MM-DD``; anything empty is none (as the hand-written checks took it)."""
    if not value:
        return None
    return date.fromisoformat(str(value))  # ValueError: refused, with the field's message


# An optional day in a request body: "", null or a missing field are none.
Day = Annotated[date | None, BeforeValidator(_iso_day), Field(description="YYYY-MM-DD")]
Emails = list[Annotated[str, Field(json_schema_extra={"format": "email"})]]


# ---------------------------------------------------------------- requests


class NewPaper(Request):
    title: str = Field(min_length=1)
    summary: str | None = None
    language: str | None = Field(
        default=None,
        description="The language the paper is written in (de or en): the Word file's "
        "fixed words and hyphenation. Default: the caller's interface language.",
    )


class NewParticipant(Request):
    organisation: str = Field(description="Short name.")


class NewRole(Request):
    email: str = Field(json_schema_extra={"format": "email"})
    role: Literal["coordinator", "editor", "reviewer", "signatory"]


class NewSection(Request):
    title: str = Field(min_length=1)
    level: Level = 1
    body: str | None = Field(default="", description="Markdown.")
    note: str | None = Field(default=None, description="Optional change note.")


class SaveSection(Request):
    body: str = Field(description="The whole new Markdown text.")
    base_version: int = Field(description="The version the text was edited from.")
    title: str | None = None
    level: Level | None = None
    note: str | None = None
    # Any value is accepted, as before: only JSON true marks the save as editorial.
    editorial: Any = Field(
        default=False,
        description="true marks a correction that does not need a new review; "
        "any other value counts as false.",
    )


class PresenceBeat(Request):
    editing: bool = Field(
        default=True,
        description="true while the caller has the section's editor open; false: present "
        "but not editing.",
    )


class DiffQuery(BaseModel):
    """The query of a word diff: two version numbers."""

    first: QueryInt = Field(alias="from", description="The older version.")
    second: QueryInt = Field(alias="to", description="The newer.")


# ---------------------------------------------------------------- answers


class PaperSummary(BaseModel):
    id: int
    title: str
    summary: str
    status: PaperState
    lead_organisation: str = Field(description="Short name.")
    updated_at: Timestamp
    language: str = Field(description="The language the paper is written in (de or en).")


class SectionSummary(BaseModel):
    id: int
    title: str
    level: Level
    position: int = Field(ge=1, description="1 for the first.")
    version: int = Field(description="Number of the current version.")


class Paper(PaperSummary):
    participants: list[str] = Field(description="Short names of the participating organisations.")
    sections: list[SectionSummary]


class PaperList(BaseModel):
    papers: list[PaperSummary]


class Role(BaseModel):
    id: int
    email: str
    role: str


class Section(BaseModel):
    id: int
    paper_id: int
    title: str
    level: Level
    body: str = Field(description="Markdown of the current version.")
    version: int = Field(description="Number of the current version.")
    removed: bool
    updated_at: Timestamp
    updated_by: str = Field(description="Author of the current version.")
    review_state: str = Field(description="draft, in_review, changes_requested or approved.")
    approved_version: int | None
    approval_carried_to: int | None


class Saved(Section):
    merged: bool = Field(description="True when others saved meanwhile and the edits merged.")
    merged_with: int | None = Field(description="The version merged with, if any.")
    created: bool = Field(
        description="False when the text equals the current one: no version was made."
    )


class VersionSummary(BaseModel):
    number: int
    title: str
    level: Level
    author: str
    coauthor: str | None = Field(description="Whose suggestion the author combined into this text.")
    created_at: Timestamp
    note: str
    merged_with: int | None
    restored_from: int | None


class Version(VersionSummary):
    body: str


class VersionList(BaseModel):
    versions: list[VersionSummary] = Field(description="Newest first.")


class Diff(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    first: int = Field(alias="from")
    second: int = Field(alias="to")
    ops: list[tuple[Literal[-1, 0, 1], str]] = Field(
        description="Word-level operations: -1 deleted, 0 kept, 1 inserted."
    )
    html: str = Field(description="Inline diff with <del> and <ins>.")


class PresenceEntry(BaseModel):
    name: str
    organisation: str = Field(description="Short name of the person's organisation.")
    editing: bool
    since: Timestamp = Field(description="First heartbeat of this stay.")


class Presence(BaseModel):
    head_version: int = Field(description="The section's newest version.")
    others: list[PresenceEntry] = Field(
        description="Everyone else with the section open (heartbeat within the last 30 s)."
    )


# ---------------------------------------------------------------- review


class Submit(Request):
    """The optional body of a submission for review."""

    messages = {
        "reviewers": "'reviewers' must be a list of e-mail addresses",
        "due": "'due' must be a date YYYY-MM-DD",
    }
    reviewers: Annotated[Emails, BeforeValidator(lambda value: value or [])] = Field(
        default_factory=list, description="Reviewers to ask, by e-mail address."
    )
    due: Day = None


class Review(Request):
    version: int = Field(description="The version decided on.")
    comment: str | None = None
    decision: Literal["approve", "request_changes"]


class ReviewState(BaseModel):
    section_id: int
    review_state: str = Field(description="draft, in_review, changes_requested or approved.")
    approved_version: int | None
    approval_carried_to: int | None


# ---------------------------------------------------------------- comments


class NewComment(Request):
    body: str
    parent_id: int | None = Field(default=None, description="The comment replied to.")
    quote: str | None = Field(default=None, description="The passage commented on.")


class Anchor(BaseModel):
    start: int
    end: int


class Comment(BaseModel):
    id: int
    parent_id: int | None
    author: str
    body: str
    quote: str
    created_at: Timestamp
    edited: bool
    deleted: bool
    resolved: bool
    anchor: Anchor | None = Field(
        description="Offsets in the current body; null when none or changed."
    )
    passage_changed: bool


class CommentList(BaseModel):
    comments: list[Comment]


# ---------------------------------------------------------------- suggestions


class NewSuggestion(Request):
    body: str
    base_version: int
    note: str | None = None


class Rejection(Request):
    reason: str = Field(min_length=1)


class AcceptChoice(Request):
    """The optional body of an acceptance; a body that is not an object counts as none."""

    messages = {
        "changes": "'changes' must be a list of change ids",
        "body": "'body' must be a string",
        "base_version": "'base_version' (an integer) is required",
    }
    changes: list[int] | None = Field(
        default=None,
        description="Ids of the changes to accept; the others are rejected. "
        "Without it every change is accepted.",
    )
    body: str | None = Field(
        default=None,
        description="The text an editor combined after a conflict (then the editor's "
        "version, with the suggester as co-author); needs base_version.",
    )
    base_version: int | None = Field(
        default=None, description="The version the combined body was made against."
    )

    @model_validator(mode="before")
    @classmethod
    def _lenient(cls, data: Any) -> Any:
        # As before: a body that is not an object accepts everything, and base_version only
        # counts together with a combined body.
        if not isinstance(data, dict):
            return {}
        if data.get("body") is None:
            return {key: value for key, value in data.items() if key != "base_version"}
        return data


class Suggestion(BaseModel):
    id: int
    kind: Literal["text", "new_section", "remove_section", "move_section"] = Field(
        default="text",
        description="A new text of a section, or a new, removed or moved section.",
    )
    section_id: int | None = Field(
        description="The section; for a new section empty until accepted, then the new one."
    )
    title: str | None = Field(
        default=None, description="A suggested title (text), or the new section's title."
    )
    level: int | None = Field(default=None, description="The new section's heading level.")
    after_section_id: int | None = Field(
        default=None,
        description="new_section and move_section: the section it goes after; empty for the "
        "start of the paper.",
    )
    author: str
    base_version: int
    body: str
    note: str
    status: Literal["open", "accepted", "partly_accepted", "rejected"]
    reason: str | None
    result_version: int | None
    created_at: Timestamp


class SuggestionChange(BaseModel):
    id: int
    kind: Literal["insert", "delete", "replace"]
    before: str = Field(description="The base text's words it replaces.")
    after: str = Field(description="The suggested words.")
    context: str = Field(description="The sentence(s) of the base around it.")


class SuggestionWithChanges(Suggestion):
    changes: list[SuggestionChange]
    decided_changes: dict[str, list[int]] | None = Field(
        description="After a decision by change: accepted and rejected change ids."
    )


class SuggestionList(BaseModel):
    suggestions: list[Suggestion]


class AcceptedSuggestion(Suggestion):
    version: int = Field(description="The version the suggestion became.")
    merged: bool
    accepted: list[int] = Field(description="Ids of the changes taken.")
    rejected: list[int] = Field(description="Ids of the changes left out.")


# ---------------------------------------------------------------- sign-off and editions


class StartSignoff(Request):
    """The optional body of a sign-off start."""

    messages = {
        "label": "'label' must be a string",
        "deadline": "'deadline' must be a date YYYY-MM-DD",
    }
    label: Annotated[str, BeforeValidator(lambda value: value or "")] = Field(
        default="", description="A name for the edition."
    )
    deadline: Day = None


class Decision(Request):
    decision: Literal["approve", "approve_with_reservation", "reject"]
    note: str | None = Field(default=None, description="Required for a reservation or a rejection.")
    edition_hash: str | None = Field(default=None, description="The edition decided on.")


class Edition(BaseModel):
    number: int
    label: str
    hash: str = Field(description="Hash of the frozen texts.")
    status: str
    created_at: Timestamp
    deadline: date | None = Field(description="YYYY-MM-DD")


class EditionText(BaseModel):
    section_id: int
    version: int
    title: str
    level: Level
    body: str


class EditionWithTexts(Edition):
    sections: list[EditionText]


class EditionList(BaseModel):
    editions: list[Edition]


class SignoffStarted(BaseModel):
    edition: Edition


class OrganisationDecision(BaseModel):
    organisation: str
    name: str
    decision: str | None
    note: str | None
    signatory: str | None
    decided_at: Timestamp | None
    edition_hash: str | None
    overdue: bool


class Round(BaseModel):
    status: str
    edition: Edition | None
    organisations: list[OrganisationDecision]


class NewInvitation(Request):
    email: str = Field(json_schema_extra={"format": "email"})
    organisation: str = Field(description="Short name of the organisation.")
    paper_id: int | None = Field(
        default=None, description="Invite to this paper (coordinators; needed for a role)."
    )
    role: Literal["coordinator", "editor", "reviewer", "signatory"] | None = None
    locale: Literal["de", "en"] = Field(default="de", description="Language of the e-mail.")


class Invitation(BaseModel):
    id: int
    email: str
    organisation: str = Field(description="Short name.")
    paper_id: int | None
    role: str | None
    created_at: Timestamp
    expires_at: Timestamp


# ---------------------------------------------------------------- activity log


class ActivityEntry(BaseModel):
    seq: int
    time: Timestamp
    actor: str | None = Field(description="E-mail address of who acted, if anyone.")
    action: str
    section_id: int | None
    version: int | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class ActivityLog(BaseModel):
    entries: list[ActivityEntry] = Field(
        description="Oldest first; each entry's hash covers the one before."
    )


# ---------------------------------------------------------------- exports, imports, figures

_EDITION_NUMBER = "'{}' must be an edition number"


class NewExport(Request):
    """The optional body of an export request (fields in the order they are checked)."""

    messages = {
        "comments": "'comments' must be true or false",
        "format": '\'format\' must be "docx" or "pdf"',
        "edition": _EDITION_NUMBER.format("edition"),
        "redline_against": _EDITION_NUMBER.format("redline_against"),
    }
    comments: bool = False
    format: Literal["docx", "pdf"] = Field(
        default="docx",
        description="pdf: the PDF/A-2b records copy of an edition (sealed when the "
        "installation has a seal); needs an edition (a final paper's final edition when none "
        "is given), no redline_against, no comments.",
    )
    edition: int | None = Field(default=None, description="Default: the working draft.")
    redline_against: int | None = Field(default=None, description="Edition to compare.")


def _absent(value: object) -> bool:
    return value is None


class Export(BaseModel):
    id: int
    status: str
    progress: int
    options: dict[str, Any]
    size: int | None
    filename: str | None
    created_at: Timestamp
    error: str | None = Field(
        default=None, exclude_if=_absent, description="Why it failed (only then)."
    )
    download: str | None = Field(
        default=None, exclude_if=_absent, description="Link to the file (once done)."
    )


class QueuedExport(BaseModel):
    id: int
    status: str


class Figure(BaseModel):
    id: int
    markdown: str = Field(description="The line that places the figure: ![Caption](figure:<id>).")


class Loss(BaseModel):
    kind: str
    where: str
    what: str


class ImportOutline(BaseModel):
    """Suggested changes of the paper's outline (an import into an existing paper)."""

    new_sections: int = Field(description="Headings new in the file: suggested new sections.")
    removals: int = Field(
        description="Sections whose heading the file deleted: suggested removals."
    )
    moves: int = Field(description="Sections the file puts elsewhere: suggested moves.")


class ImportReport(BaseModel):
    created: int
    suggested: int
    comments: int
    footnotes: int
    figures: int
    lost: list[Loss]
    lost_by_kind: dict[str, int]
    outline: ImportOutline


class Import(BaseModel):
    paper_id: int | None
    sections: int
    suggestions: int
    suggestion_ids: list[int]
    dry_run: bool
    report: ImportReport


# ---------------------------------------------------------------- search and notifications


class SearchHit(BaseModel):
    kind: Literal["section", "version", "comment", "suggestion", "paper"]
    paper_id: int
    section_id: int | None
    title: str
    snippet: str = Field(
        description="HTML-escaped excerpt; only the matches are wrapped in <mark>."
    )
    url: str = Field(
        description="Link to the passage; the page marks the words given in ?highlight=."
    )
    score: float


class SearchResults(BaseModel):
    total: int
    results: list[SearchHit]


class Notification(BaseModel):
    id: int
    kind: str
    message: str = Field(description="In the caller's language.")
    detail: str | None
    paper_id: int | None
    section_id: int | None
    actor: str | None
    url: str
    created_at: Timestamp
    read_at: Timestamp | None


def _page(value: object) -> int:
    """A page number as the inbox always took it: anything that is not one is page 1.

    A number out of the columns' range stays a 400 (``bounded_int`` raises BadRequest).
    """
    try:
        return bounded_int(str(value)) or 1
    except ValueError:
        return 1


class InboxQuery(BaseModel):
    """The query of the notification list."""

    page: Annotated[int, BeforeValidator(_page)] = Field(default=1, description="1 for the first.")


class NotificationList(BaseModel):
    notifications: list[Notification] = Field(description="Newest first.")
    unread: int
    page: int
    pages: int
    total: int


class MarkRead(Request):
    """Which notifications to mark read: ``{"ids": [..]}`` or ``{"all": true}``."""

    messages = {"ids": 'send {"ids": [notification ids]} or {"all": true}'}
    ids: list[int] | None = Field(default=None, description="Needed unless all is true.")
    all: bool = Field(default=False, description="true marks every notification.")

    @model_validator(mode="before")
    @classmethod
    def _all_or_ids(cls, data: Any) -> Any:
        # As before: only JSON true means all (then ids do not matter); anything else, ids.
        if isinstance(data, dict):
            if data.get("all") is True:
                return {"all": True}
            return {key: value for key, value in data.items() if key != "all"}
        return data


class Marked(BaseModel):
    marked: int = Field(description="How many were marked now.")
    unread: int


# ---------------------------------------------------------------- accounts


class PersonalData(RootModel[dict[str, Any]]):
    """Everything stored about a person (GDPR Art. 15)."""


class Erased(BaseModel):
    pseudonym: str


MODELS: tuple[type[BaseModel], ...] = (
    Submit,
    AcceptChoice,
    AcceptedSuggestion,
    StartSignoff,
    ActivityEntry,
    ActivityLog,
    NewExport,
    Export,
    QueuedExport,
    Figure,
    Loss,
    ImportReport,
    Import,
    SearchHit,
    SearchResults,
    Notification,
    NotificationList,
    MarkRead,
    Marked,
    PersonalData,
    Erased,
    Review,
    ReviewState,
    Decision,
    Edition,
    EditionText,
    EditionWithTexts,
    EditionList,
    SignoffStarted,
    OrganisationDecision,
    Round,
    NewComment,
    Anchor,
    Comment,
    CommentList,
    NewSuggestion,
    Rejection,
    Suggestion,
    SuggestionChange,
    SuggestionWithChanges,
    SuggestionList,
    NewPaper,
    NewParticipant,
    NewRole,
    NewSection,
    SaveSection,
    PaperSummary,
    SectionSummary,
    Paper,
    PaperList,
    Role,
    Section,
    Saved,
    VersionSummary,
    Version,
    VersionList,
    Diff,
    PresenceBeat,
    PresenceEntry,
    Presence,
    NewInvitation,
    Invitation,
)


def component_schemas() -> dict[str, Any]:
    """Return the JSON schemas of :data:`MODELS` for ``components/schemas``."""
    _, top = models_json_schema(
        [
            (model, "validation" if issubclass(model, Request) else "serialization")
            for model in MODELS
        ],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = top["$defs"]
    return schemas


# ---------------------------------------------------------------- validation


def _refusal(err: ValidationError, model: type[Request] | None) -> ValidationFailed:
    """Turn pydantic's first complaint into the API's ``validation_failed`` error."""
    first = err.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    if model is not None and field in model.messages:
        return ValidationFailed(model.messages[field], field=field)
    if first["type"] == "missing":
        return ValidationFailed(f"'{field}' is required", field=field)
    if first["type"] in _TYPE_NAMES:
        return ValidationFailed(f"'{field}' must be {_TYPE_NAMES[first['type']]}", field=field)
    return ValidationFailed(f"'{field}': {first['msg']}", field=field)


# The messages the hand-written checks gave for a wrong JSON type (clients may show them).
_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
}

BodyKind = Literal["object", "optional", "lenient"]


@dataclass(frozen=True)
class Declared:
    """What a view declared: its body model and how strictly a body must be an object."""

    json: type[Request] | None
    query: type[BaseModel] | None
    body: BodyKind
    answers: dict[int, type[BaseModel]]


#: Flask endpoint name -> its declaration (the OpenAPI tests read it too).
DECLARED: dict[str, Declared] = {}


def _before(req: Any, resp: Any, err: Exception | None, instance: Any, *_: Any) -> None:
    """SpecTree's hook: refuse with the API's envelope instead of SpecTree's own answer."""
    declared = DECLARED.get(req.url_rule.endpoint) if req.url_rule else None
    model = declared.json if declared else None
    if declared and model and req.method not in ("GET", "DELETE"):
        data = req.get_json(silent=True)
        if declared.body == "object" and not isinstance(data, dict):
            # Malformed rather than unacceptable: 400, not 422.
            raise BadRequest("the request body must be a JSON object")
        if declared.body == "optional" and data and not isinstance(data, dict):
            raise ValidationFailed("the request body must be a JSON object")
    if isinstance(err, ValidationError):
        raise _refusal(err, model)


def endpoint(
    *,
    json: type[Request] | None = None,
    body: BodyKind = "object",
    query: type[BaseModel] | None = None,
    answer: tuple[int, type[BaseModel]] | dict[int, type[BaseModel]],
) -> Callable[[Callable[..., Any]], Callable[..., FlaskResponse]]:
    """Validate a view's request with the given models and serialise its answer.

    ``body`` says what a body that is not a JSON object is: ``"object"`` a 400 (the body is
    required), ``"optional"`` none when empty and a 422 otherwise, ``"lenient"`` whatever
    the model makes of it. The view reads the validated body from :func:`body` and returns
    a model instance (and, for statuses other than 200, the status).
    """
    answers = dict([answer]) if isinstance(answer, tuple) else dict(answer)

    def decorate(func: Callable[..., Any]) -> Callable[..., FlaskResponse]:
        DECLARED[f"api.{func.__name__}"] = Declared(json, query, body, answers)
        wrapped: Callable[..., FlaskResponse] = spectree.validate(
            json=json,
            query=query,
            resp=Answers(**{f"HTTP_{status}": model for status, model in answers.items()}),
            before=_before,
            validation_error_status=422,
        )(func)
        return wrapped

    return decorate


M = TypeVar("M", bound=BaseModel)


def body(model: type[M]) -> M:
    """Return the validated request body of the current view."""
    value = request.context.json  # type: ignore[attr-defined]
    assert isinstance(value, model)
    return value


def query(model: type[M]) -> M:
    """Return the validated query of the current view."""
    value = request.context.query  # type: ignore[attr-defined]
    assert isinstance(value, model)
    return value
