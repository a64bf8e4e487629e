"""Request and response schemas of the JSON API, declared once as pydantic models.

The same declarations validate requests (:func:`endpoint`, through SpecTree), serialise the
answers and give the OpenAPI document its component schemas (:func:`component_schemas`,
used by :mod:`drafting.api.openapi`). A refused request keeps the API's error envelope:
a body that is not a JSON object is a 400 ``bad_request``, a field that breaks a rule a 422
``validation_failed`` naming the ``field``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar

from flask import request
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
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
    """A request body: JSON types are taken as they are (no ``"1"`` for 1, no true for 1)."""

    model_config = ConfigDict(strict=True, extra="ignore")


# ---------------------------------------------------------------- requests


class NewPaper(Request):
    title: str = Field(min_length=1)
    summary: str | None = None


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


# ---------------------------------------------------------------- sign-off and editions


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


MODELS: tuple[type[BaseModel], ...] = (
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


def _refusal(err: ValidationError) -> ValidationFailed:
    """Turn pydantic's first complaint into the API's ``validation_failed`` error."""
    first = err.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
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


def _before(req: Any, resp: Any, err: Exception | None, instance: Any, *_: Any) -> None:
    """SpecTree's hook: refuse with the API's envelope instead of SpecTree's own answer."""
    if req.method not in ("GET", "DELETE") and _expects_json(req):
        if not isinstance(req.get_json(silent=True), dict):
            raise BadRequest("the request body must be a JSON object")
    if isinstance(err, ValidationError):
        raise _refusal(err)


def _expects_json(req: Any) -> bool:
    view = req.url_rule and _JSON_VIEWS.get(req.url_rule.endpoint)
    return bool(view)


_JSON_VIEWS: dict[str, bool] = {}


def endpoint(
    *,
    json: type[Request] | None = None,
    query: type[BaseModel] | None = None,
    answer: tuple[int, type[BaseModel]],
) -> Callable[[Callable[..., Any]], Callable[..., FlaskResponse]]:
    """Validate a view's request with the given models and serialise its answer.

    The view reads the validated body from :func:`body` and returns a model instance (and,
    for statuses other than 200, the status).
    """
    status, model = answer

    def decorate(func: Callable[..., Any]) -> Callable[..., FlaskResponse]:
        if json is not None:
            _JSON_VIEWS[f"api.{func.__name__}"] = True
        wrapped: Callable[..., FlaskResponse] = spectree.validate(
            json=json,
            query=query,
            resp=Answers(**{f"HTTP_{status}": model}),
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
