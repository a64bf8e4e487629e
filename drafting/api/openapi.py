"""The OpenAPI 3.1 description of the JSON API, served at ``/api/v1/openapi.json``.

``tests/integration/test_openapi.py`` holds it to the implementation: every route of the
``api`` blueprint is described here and nothing else, the document is valid OpenAPI, and
live answers match the schemas below. A new route needs its entry in :data:`PATHS`.
"""

from __future__ import annotations

from typing import Any

from drafting.api.schemas import component_schemas

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: list[str], properties: dict[str, Schema], **extra: Any) -> Schema:
    return {"type": "object", "required": required, "properties": properties, **extra}


def _json(schema: Schema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _answer(description: str, schema: Schema) -> dict[str, Any]:
    return {"description": description, "content": _json(schema)}


def _error(description: str) -> dict[str, Any]:
    return {"$ref": f"#/components/responses/{description}"}


def _body(schema: Schema, description: str) -> dict[str, Any]:
    return {"required": True, "description": description, "content": _json(schema)}


def _id(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "integer", "minimum": 1},
    }


PAPER_ID = _id("paper_id", "Id of the paper.")
SECTION_ID = _id("section_id", "Id of the section.")
NUMBER = _id("number", "Number of the version (1 is the first).")

_STRING = {"type": "string"}
_INT = {"type": "integer"}
_LEVEL = {"type": "integer", "minimum": 1, "maximum": 3, "description": "Heading level 1–3."}

# Request and answer bodies: generated from the pydantic models that also validate the
# requests and serialise the answers (drafting.api.schemas). Errors are spelt out here.
SCHEMAS: dict[str, Schema] = {
    **component_schemas(),
    "Error": _obj(
        ["error"],
        {
            "error": _obj(
                ["code", "message"],
                {
                    "code": {
                        "type": "string",
                        "description": "Stable machine-readable code, e.g. not_found, "
                        "validation_failed, edit_conflict.",
                    },
                    "message": {"type": "string", "description": "Explanation for people."},
                },
            ),
            "field": {"type": "string", "description": "The input field that was refused."},
            "limit": {"type": "integer", "description": "The size limit that was exceeded."},
        },
        description="Every error answer. Some carry further top-level keys (see 409).",
    ),
    "ConflictRegion": _obj(
        [
            "base_start",
            "base_end",
            "unit",
            "base",
            "theirs",
            "yours",
            "theirs_author",
            "theirs_version",
        ],
        {
            "base_start": {"type": "integer", "description": "Offset in the base text."},
            "base_end": _INT,
            "unit": {
                "type": "string",
                "enum": ["sentence", "cell", "paragraph"],
                "description": "What the region holds: one sentence, one table cell, or more.",
            },
            "base": {"type": "string", "description": "The whole units as they were."},
            "theirs": {"type": "string", "description": "The other change's whole units."},
            "yours": {"type": "string", "description": "Your whole units."},
            "theirs_author": _obj(
                ["name", "organisation"],
                {"name": _STRING, "organisation": _STRING},
            ),
            "theirs_version": {"type": "integer", "description": "The version saved meanwhile."},
        },
    ),
    "EditConflict": {
        "allOf": [
            _ref("Error"),
            _obj(
                ["error", "base_version", "current", "yours", "conflicts"],
                {
                    "error": {"properties": {"code": {"const": "edit_conflict"}}},
                    "base_version": _INT,
                    "current": _obj(
                        ["version", "title", "body", "level"],
                        {"version": _INT, "title": _STRING, "body": _STRING, "level": _LEVEL},
                    ),
                    "yours": _obj(
                        ["title", "body", "level"],
                        {"title": _STRING, "body": _STRING, "level": _LEVEL},
                    ),
                    "conflicts": {"type": "array", "items": _ref("ConflictRegion")},
                    "title_conflicts": {"type": "array", "items": _ref("ConflictRegion")},
                },
            ),
        ],
        "description": "Nothing was saved: the other save and yours changed the same words.",
    },
    "PaperLocked": {
        "allOf": [
            _ref("Error"),
            _obj(
                ["error", "status"],
                {
                    "error": {"properties": {"code": {"const": "paper_locked"}}},
                    "status": {"type": "string", "description": "The paper's state."},
                },
            ),
        ],
        "description": "The paper is frozen for sign-off, final or archived.",
    },
    "SectionRemoved": {
        "allOf": [
            _ref("Error"),
            _obj(
                ["error", "yours"],
                {
                    "error": {"properties": {"code": {"const": "section_removed"}}},
                    "yours": _obj(
                        ["body"], {"title": {"type": ["string", "null"]}, "body": _STRING}
                    ),
                },
            ),
        ],
        "description": "The section was removed meanwhile; your text comes back untouched.",
    },
}

RESPONSES: dict[str, dict[str, Any]] = {
    "BadRequest": _answer("The body is not a JSON object.", _ref("Error")),
    "Unauthorized": _answer(
        "No bearer token, or one that is unknown, revoked or belongs to an inactive user.",
        _ref("Error"),
    ),
    "Forbidden": _answer("The caller sees the paper but lacks the role.", _ref("Error")),
    "NotFound": _answer(
        "Does not exist, or the caller's organisation does not take part in the paper.",
        _ref("Error"),
    ),
    "Conflict": _answer(
        "Not possible in the paper's current state (code invalid_transition).", _ref("Error")
    ),
    "TooLarge": _answer("A text is over the configured size limit.", _ref("Error")),
    "TooManyRequests": _answer(
        "Too many requests of this kind lately (code too_many_requests); the Retry-After "
        "header and the body's retry_after give the seconds to wait.",
        _ref("Error"),
    ),
    "Invalid": _answer(
        "Well-formed but not acceptable: empty or overlong title, level outside 1–3, "
        "unknown organisation, role or version.",
        _ref("Error"),
    ),
}

_AUTH = {"401": _error("Unauthorized")}
_SEE = {**_AUTH, "404": _error("NotFound")}
_WRITE = {**_SEE, "400": _error("BadRequest"), "403": _error("Forbidden"), "422": _error("Invalid")}

PATHS: dict[str, dict[str, Any]] = {
    "/papers": {
        "get": {
            "operationId": "listPapers",
            "summary": "List the papers the caller's organisation takes part in.",
            "responses": {"200": _answer("The visible papers.", _ref("PaperList")), **_AUTH},
        },
        "post": {
            "operationId": "createPaper",
            "summary": "Create a paper led by the caller's organisation; the caller coordinates.",
            "requestBody": _body(_ref("NewPaper"), "Title and optional summary."),
            "responses": {
                "201": _answer("The new paper.", _ref("Paper")),
                **_AUTH,
                "400": _error("BadRequest"),
                "413": _error("TooLarge"),
                "422": _error("Invalid"),
            },
        },
    },
    "/papers/{paper_id}": {
        "parameters": [PAPER_ID],
        "get": {
            "operationId": "getPaper",
            "summary": "Return a paper with its participants and sections in order.",
            "responses": {"200": _answer("The paper.", _ref("Paper")), **_SEE},
        },
    },
    "/papers/{paper_id}/participants": {
        "parameters": [PAPER_ID],
        "post": {
            "operationId": "addParticipant",
            "summary": "Add a participating organisation (coordinators).",
            "requestBody": _body(_ref("NewParticipant"), "The organisation's short name."),
            "responses": {
                "201": _answer("The paper with its participants.", _ref("Paper")),
                **_WRITE,
                "409": _error("Conflict"),
            },
        },
    },
    "/papers/{paper_id}/roles": {
        "parameters": [PAPER_ID],
        "post": {
            "operationId": "grantRole",
            "summary": "Give a user of a participating organisation a role (coordinators).",
            "requestBody": _body(_ref("NewRole"), "Whom and which role."),
            "responses": {"201": _answer("The role.", _ref("Role")), **_WRITE},
        },
    },
    "/papers/{paper_id}/sections": {
        "parameters": [PAPER_ID],
        "post": {
            "operationId": "createSection",
            "summary": "Add a section at the end of the paper as its version 1 (editors).",
            "requestBody": _body(_ref("NewSection"), "Title, level and Markdown body."),
            "responses": {
                "201": _answer("The new section.", _ref("Section")),
                **_WRITE,
                "409": _answer("The paper is frozen.", _ref("PaperLocked")),
                "413": _error("TooLarge"),
            },
        },
    },
    "/sections/{section_id}": {
        "parameters": [SECTION_ID],
        "get": {
            "operationId": "getSection",
            "summary": "Return a section with its current text.",
            "responses": {"200": _answer("The section.", _ref("Section")), **_SEE},
        },
        "put": {
            "operationId": "saveSection",
            "summary": "Save a new text edited from base_version; merge with saves made "
            "meanwhile where the edits do not overlap (editors).",
            "requestBody": _body(_ref("SaveSection"), "The new text and its base version."),
            "responses": {
                "200": _answer(
                    "Saved (or nothing changed): the section with the version now current.",
                    _ref("Saved"),
                ),
                **_WRITE,
                "409": _answer(
                    "Nothing saved: an edit conflict, the paper is frozen, or the section "
                    "was removed.",
                    {
                        "anyOf": [
                            _ref("EditConflict"),
                            _ref("PaperLocked"),
                            _ref("SectionRemoved"),
                            _ref("Error"),
                        ]
                    },
                ),
                "413": _error("TooLarge"),
            },
        },
    },
    "/sections/{section_id}/presence": {
        "parameters": [SECTION_ID],
        "get": {
            "operationId": "getPresence",
            "summary": "Return who else has the section open and its newest version number "
            "(without registering the caller).",
            "responses": {"200": _answer("Presence.", _ref("Presence")), **_SEE},
        },
        "post": {
            "operationId": "heartbeat",
            "summary": "Register the caller on the section for 30 seconds (send every 10–15 s "
            "while editing) and return who else has it open.",
            "requestBody": _body(_ref("PresenceBeat"), "Whether the caller is editing."),
            "responses": {
                "200": _answer("Presence.", _ref("Presence")),
                **_SEE,
                "400": _error("BadRequest"),
                "422": _error("Invalid"),
            },
        },
        "delete": {
            "operationId": "leave",
            "summary": "Remove the caller's presence on the section at once.",
            "responses": {"200": _answer("Presence.", _ref("Presence")), **_SEE},
        },
    },
    "/sections/{section_id}/versions": {
        "parameters": [SECTION_ID],
        "get": {
            "operationId": "listVersions",
            "summary": "List a section's versions, newest first, without their texts.",
            "responses": {"200": _answer("The versions.", _ref("VersionList")), **_SEE},
        },
    },
    "/sections/{section_id}/versions/{number}": {
        "parameters": [SECTION_ID, NUMBER],
        "get": {
            "operationId": "getVersion",
            "summary": "Return one version of a section with its text.",
            "responses": {"200": _answer("The version.", _ref("Version")), **_SEE},
        },
    },
    "/sections/{section_id}/diff": {
        "parameters": [SECTION_ID],
        "get": {
            "operationId": "diffVersions",
            "summary": "Compare two versions word by word.",
            "parameters": [
                {
                    "name": name,
                    "in": "query",
                    "required": True,
                    "description": description,
                    "schema": {"type": "integer", "minimum": 1},
                }
                for name, description in (("from", "The older version."), ("to", "The newer."))
            ],
            "responses": {
                "200": _answer("Operations and inline HTML.", _ref("Diff")),
                **_SEE,
                "422": _error("Invalid"),
            },
        },
    },
    "/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "Return this description.",
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
}

# ---------------------------------------------------------------- routes of later features
# Review, suggestions, comments, sign-off, editions, exports, notifications, activity log.

COMMENT_ID = _id("comment_id", "Id of the comment.")
SUGGESTION_ID = _id("suggestion_id", "Id of the suggestion.")
EXPORT_ID = _id("export_id", "Id of the export.")
FIGURE_ID = _id("figure_id", "Id of the figure.")
EDITION = _id("number", "Number of the edition (1 is the first).")

_ACT = {**_SEE, "403": _error("Forbidden"), "409": _error("Conflict")}


def _post(
    operation_id: str, summary: str, answer: dict[str, Any], body: Any = None, **responses: Any
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "responses": {**answer, **_ACT, **responses},
    }
    if body is not None:
        # An optional body that is not JSON counts as none; only a required one is a 400.
        operation["requestBody"] = body
        operation["responses"]["422"] = _error("Invalid")
        if body["required"]:
            operation["responses"]["400"] = _error("BadRequest")
    return operation


def _get(operation_id: str, summary: str, answer: dict[str, Any]) -> dict[str, Any]:
    return {"operationId": operation_id, "summary": summary, "responses": {**answer, **_SEE}}


def _optional(schema: Schema, description: str) -> dict[str, Any]:
    return {"required": False, "description": description, "content": _json(schema)}


PATHS.update(
    {
        "/sections/{section_id}/submit": {
            "parameters": [SECTION_ID],
            "post": _post(
                "submitSection",
                "Submit the section's current version for review (editors).",
                {"200": _answer("The review state.", _ref("ReviewState"))},
                _optional(_ref("Submit"), "Reviewers to ask and a due date."),
            ),
        },
        "/sections/{section_id}/reviews": {
            "parameters": [SECTION_ID],
            "post": _post(
                "reviewSection",
                "Approve a version or request changes (reviewers; not the version's author).",
                {"200": _answer("The review state.", _ref("ReviewState"))},
                _body(_ref("Review"), "The decision on a version."),
            ),
        },
        "/sections/{section_id}/suggestions": {
            "parameters": [SECTION_ID],
            "get": _get(
                "listSuggestions",
                "List the section's suggestions.",
                {"200": _answer("The suggestions.", _ref("SuggestionList"))},
            ),
            "post": _post(
                "createSuggestion",
                "Propose a new text for the section (members of participating organisations).",
                {"201": _answer("The suggestion.", _ref("Suggestion"))},
                _body(_ref("NewSuggestion"), "The proposed text and its base version."),
                **{"413": _error("TooLarge")},
            ),
        },
        "/suggestions/{suggestion_id}": {
            "parameters": [SUGGESTION_ID],
            "get": _get(
                "getSuggestion",
                "A suggestion with its changes (word-diff hunks grouped by sentence); a "
                "suggested new, removed or moved section (kind) has none.",
                {"200": _answer("The suggestion.", _ref("SuggestionWithChanges"))},
            ),
        },
        "/suggestions/{suggestion_id}/accept": {
            "parameters": [SUGGESTION_ID],
            "post": _post(
                "acceptSuggestion",
                "Accept a suggestion, only the given changes, or the text an editor combined "
                "after a conflict (editors): one new version. A suggested new, removed or "
                "moved section is carried out whole; 409 outline_conflict when the section "
                "changed or went meanwhile.",
                {
                    "200": _answer(
                        "The suggestion with the version it became.", _ref("AcceptedSuggestion")
                    )
                },
                _optional(_ref("AcceptChoice"), "What to accept; nothing: every change."),
            ),
        },
        "/suggestions/{suggestion_id}/reject": {
            "parameters": [SUGGESTION_ID],
            "post": _post(
                "rejectSuggestion",
                "Reject a suggestion with a reason (editors).",
                {"200": _answer("The suggestion.", _ref("Suggestion"))},
                _body(_ref("Rejection"), "Why."),
            ),
        },
        "/sections/{section_id}/comments": {
            "parameters": [SECTION_ID],
            "get": _get(
                "listComments",
                "List the section's comments, oldest first, anchored in the current text.",
                {"200": _answer("The comments.", _ref("CommentList"))},
            ),
            "post": _post(
                "addComment",
                "Comment on the section or a quoted passage, or reply to a comment.",
                {"201": _answer("The comment.", _ref("Comment"))},
                _body(_ref("NewComment"), "The comment."),
            ),
        },
        "/comments/{comment_id}/resolve": {
            "parameters": [COMMENT_ID],
            "post": _post(
                "resolveComment",
                "Mark a thread as resolved.",
                {"200": _answer("The comment.", _ref("Comment"))},
            ),
        },
        "/comments/{comment_id}/reopen": {
            "parameters": [COMMENT_ID],
            "post": _post(
                "reopenComment",
                "Open a resolved thread again.",
                {"200": _answer("The comment.", _ref("Comment"))},
            ),
        },
        "/papers/{paper_id}/signoff": {
            "parameters": [PAPER_ID],
            "get": _get(
                "getSignoff",
                "Return the sign-off round with each organisation's decision.",
                {"200": _answer("The round.", _ref("Round"))},
            ),
            "post": _post(
                "startSignoff",
                "Freeze an edition and open the sign-off round (coordinators; every section "
                "approved).",
                {"201": _answer("The frozen edition.", _ref("SignoffStarted"))},
                _optional(_ref("StartSignoff"), "A label and a deadline."),
            ),
        },
        "/papers/{paper_id}/signoff/decisions": {
            "parameters": [PAPER_ID],
            "post": _post(
                "decideSignoff",
                "Record the caller's organisation's decision (signatories).",
                {"200": _answer("The round.", _ref("Round"))},
                _body(_ref("Decision"), "The decision."),
            ),
        },
        "/papers/{paper_id}/signoff/cancel": {
            "parameters": [PAPER_ID],
            "post": _post(
                "cancelSignoff",
                "Cancel the open round; the paper returns to drafting (coordinators).",
                {"200": _answer("The round.", _ref("Round"))},
            ),
        },
        "/papers/{paper_id}/editions": {
            "parameters": [PAPER_ID],
            "get": _get(
                "listEditions",
                "List the paper's editions, newest first.",
                {"200": _answer("The editions.", _ref("EditionList"))},
            ),
        },
        "/papers/{paper_id}/editions/{number}": {
            "parameters": [PAPER_ID, EDITION],
            "get": _get(
                "getEdition",
                "Return one edition with its section texts.",
                {"200": _answer("The edition.", _ref("EditionWithTexts"))},
            ),
        },
        "/papers/{paper_id}/activity": {
            "parameters": [PAPER_ID],
            "get": _get(
                "getActivity",
                "Return the paper's activity log with its hash chain.",
                {"200": _answer("The log.", _ref("ActivityLog"))},
            ),
        },
        "/papers/{paper_id}/exports": {
            "parameters": [PAPER_ID],
            "post": _post(
                "createExport",
                "Queue a Word export (or the PDF/A of an edition) of the paper; the same "
                "request while the caller's "
                "earlier one is queued or running returns that export.",
                {"202": _answer("The queued export.", _ref("QueuedExport"))},
                _optional(_ref("NewExport"), "What to export."),
                **{"429": _error("TooManyRequests")},
            ),
        },
        "/exports/{export_id}": {
            "parameters": [EXPORT_ID],
            "get": _get(
                "getExport",
                "Return an export's state and progress.",
                {"200": _answer("The export.", _ref("Export"))},
            ),
        },
        "/exports/{export_id}/download": {
            "parameters": [EXPORT_ID],
            "get": {
                "operationId": "downloadExport",
                "summary": "Download the finished Word file.",
                "responses": {
                    "200": {
                        "description": "The .docx file.",
                        "content": {
                            "application/vnd.openxmlformats-officedocument."
                            "wordprocessingml.document": {
                                "schema": {"type": "string", "format": "binary"}
                            }
                        },
                    },
                    **_SEE,
                    "409": _error("Conflict"),
                },
            },
        },
        "/papers/{paper_id}/figures": {
            "parameters": [PAPER_ID],
            "post": {
                "operationId": "createFigure",
                "summary": "Upload an image (PNG, JPEG or SVG, converted to PNG) as a figure of "
                "the paper; it is re-encoded without metadata. Place it in a section with the "
                "returned Markdown line.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": _obj(
                                ["file"],
                                {
                                    "file": {"type": "string", "format": "binary"},
                                    "caption": _STRING,
                                },
                            )
                        }
                    },
                },
                "responses": {
                    "201": _answer("The new figure.", _ref("Figure")),
                    **_ACT,
                    "409": _error("Conflict"),
                    "413": _error("TooLarge"),
                    "422": _error("Invalid"),
                },
            },
        },
        "/figures/{figure_id}": {
            "parameters": [FIGURE_ID],
            "get": {
                "operationId": "getFigure",
                "summary": "Return a figure's image (404 for figures of papers the caller "
                "cannot see).",
                "responses": {
                    "200": {
                        "description": "The image.",
                        "content": {
                            "image/png": {"schema": {"type": "string", "format": "binary"}},
                            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                        },
                    },
                    **_SEE,
                },
            },
        },
        "/imports": {
            "post": {
                "operationId": "importDocx",
                "summary": "Import a .docx as a new paper, or as suggestions into paper_id.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": _obj(
                                ["file"],
                                {
                                    "file": {"type": "string", "format": "binary"},
                                    "paper_id": _INT,
                                    "dry_run": {"type": "boolean"},
                                },
                            )
                        }
                    },
                },
                "responses": {
                    "200": _answer("dry_run: what would be imported.", _ref("Import")),
                    "201": _answer("What was imported.", _ref("Import")),
                    **_ACT,
                    "413": _error("TooLarge"),
                    "422": _error("Invalid"),
                },
            },
        },
        "/search": {
            "get": {
                "operationId": "search",
                "summary": "Search the papers the caller may see: current section texts and "
                "titles, paper titles, comments and replies, suggestions and their notes, and "
                "with versions=1 earlier versions. German word forms are found ('Innenstädten' "
                "finds 'Innenstadt'), \"phrases\" in quotes, prefixes with a trailing *. "
                "Best matches first, 20 a page.",
                "parameters": [
                    {"name": "q", "in": "query", "required": True, "schema": _STRING},
                    {"name": "paper", "in": "query", "required": False, "schema": _INT},
                    {
                        "name": "kind",
                        "in": "query",
                        "required": False,
                        "schema": {
                            "type": "string",
                            "enum": ["section", "version", "comment", "suggestion", "paper"],
                        },
                    },
                    {
                        "name": "organisation",
                        "in": "query",
                        "required": False,
                        "description": "Id of the author's organisation.",
                        "schema": _INT,
                    },
                    {
                        "name": "state",
                        "in": "query",
                        "required": False,
                        "description": "State of the paper.",
                        "schema": {
                            "type": "string",
                            "enum": ["drafting", "signing", "final", "archived"],
                        },
                    },
                    {
                        "name": "from",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "format": "date"},
                    },
                    {
                        "name": "to",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "format": "date"},
                    },
                    {
                        "name": "versions",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "enum": [0, 1], "default": 0},
                    },
                    {
                        "name": "page",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "default": 1},
                    },
                ],
                "responses": {
                    "200": _answer(
                        "One page of results and the number of all.", _ref("SearchResults")
                    ),
                    **_AUTH,
                    "422": _error("Invalid"),
                },
            },
        },
        "/invitations": {
            "post": _post(
                "createInvitation",
                "Invite a person by e-mail: administrators into any organisation, coordinators "
                "to their paper (for a participating organisation). The link goes by e-mail "
                "only; it is valid INVITATION_DAYS days and once.",
                {"201": _answer("The invitation.", _ref("Invitation"))},
                _body(_ref("NewInvitation"), "Who is invited, where to."),
            ),
        },
        "/me/export": {
            "get": _get(
                "exportMyData",
                "Everything stored about the caller (GDPR Art. 15): profile, roles, versions, "
                "comments, suggestions, decisions, drafts, notifications, logins, tokens, log "
                "entries.",
                {"200": _answer("The personal data.", _ref("PersonalData"))},
            ),
        },
        "/admin/users/{user_id}/erase": {
            "parameters": [_id("user_id", "A user account.")],
            "post": _post(
                "eraseUser",
                "Erase a person who left (GDPR Art. 17, administrators): name and address are "
                "removed, texts stay under a pseudonym, logs and editions stay verifiable.",
                {"200": _answer("The pseudonym.", _ref("Erased"))},
            ),
        },
        "/notifications": {
            "get": {
                "operationId": "listNotifications",
                "summary": "List the caller's notifications, newest first, a page at a time.",
                "parameters": [
                    {
                        "name": "page",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "default": 1},
                    }
                ],
                "responses": {
                    "200": _answer("A page of notifications.", _ref("NotificationList")),
                    **_AUTH,
                },
            },
        },
        "/notifications/read": {
            "post": {
                "operationId": "readNotifications",
                "summary": "Mark notifications as read.",
                "requestBody": _body(_ref("MarkRead"), "Which ones."),
                "responses": {
                    "200": _answer("How many were marked; how many are unread.", _ref("Marked")),
                    **_AUTH,
                    "400": _error("BadRequest"),
                    "422": _error("Invalid"),
                },
            },
        },
    }
)


SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Konzeptwerk API",
        "version": "1",
        "description": "Read and write the alliance's concept papers: papers, participating "
        "organisations, per-paper roles, sections and their immutable versions. "
        "Authenticate with `Authorization: Bearer <token>`; create tokens in your profile "
        "or with `flask tokens create`. Errors are "
        '`{"error": {"code": "…", "message": "…"}}` with a fitting status.',
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearerAuth": []}],
    "paths": PATHS,
    "components": {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "A personal API token; session cookies are not accepted.",
            }
        },
        "schemas": SCHEMAS,
        "responses": RESPONSES,
    },
}
