"""The conflict page, in one place for section edits and for accepting suggestions.

Both pages show each conflicting sentence (or cell, or paragraph) as it was, as the other
person wrote it (name, organisation, time) and as the user wrote it, with the changed words
marked; per conflict the user takes theirs, takes theirs own, or edits. The primary button
saves exactly what the page shows: the combined text, rebuilt from the choices live by
``static/conflict.js``, or without JavaScript on the server (:func:`text_to_save`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import render_template
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from drafting.models import Paper, Section
from drafting.sections.forms import ResolveForm
from drafting.text import textdiff
from drafting.text.merge import EDITED, THEIRS, YOURS, Conflict, MergeResult, resolve
from workflows.errors import ConflictInfo

CHOICES = (THEIRS, YOURS, EDITED)


@dataclass(frozen=True)
class Region:
    """A piece of the merge on the page: settled text, or a conflict with its choice."""

    text: str | None
    conflict: Conflict | None = None
    index: int = 0
    choice: str = THEIRS
    edited: str = ""
    theirs_html: Markup = Markup("")
    yours_html: Markup = Markup("")


def posted_choices(data: MultiDict[str, str], count: int) -> tuple[dict[int, str], dict[int, str]]:
    """Read ``choice-N`` and ``edit-N`` fields: the choice and the edited text per conflict."""
    choices: dict[int, str] = {}
    texts: dict[int, str] = {}
    for index in range(count):
        choice = data.get(f"choice-{index}", THEIRS)
        texts[index] = _lf(data.get(f"edit-{index}", ""))
        choices[index] = choice if choice in CHOICES else THEIRS
    return choices, texts


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def combined(merge: MergeResult, choices: Mapping[int, str], texts: Mapping[int, str]) -> str:
    """The text the page shows for these choices."""
    return resolve(merge, choices, texts) if not merge.clean else merge.text


def text_to_save(
    merge: MergeResult,
    posted: str,
    generated: str | None,
    choices: Mapping[int, str],
    texts: Mapping[int, str],
) -> str | None:
    """Decide what the primary button saves: the choices, or the hand-edited combined text.

    ``generated`` is the combined text the page was built with (``conflict.js`` keeps it up
    to date). Unchanged combined text: the choices as posted decide (they may have changed
    without JavaScript). Edited combined text with the choices as built: the edited text.
    Both changed: ``None`` — the page must be shown again rather than guess.
    """
    posted = _lf(posted)
    if generated is None:  # an older form: the combined text is what was meant
        return posted
    generated = _lf(generated)
    fresh = combined(merge, choices, texts)
    if posted == generated:
        return fresh
    if fresh == generated:
        return posted
    return None


def _regions(
    merge: MergeResult, choices: Mapping[int, str], texts: Mapping[int, str]
) -> list[Region]:
    labels = {"deleted_label": _("deleted"), "inserted_label": _("inserted")}
    regions: list[Region] = []
    index = 0
    for chunk in merge.chunks:
        if chunk.conflict is None:
            regions.append(Region(text=chunk.text))
            continue
        c = chunk.conflict
        regions.append(
            Region(
                text=None,
                conflict=c,
                index=index,
                choice=choices.get(index, THEIRS),
                edited=texts.get(index) or c.yours,
                theirs_html=textdiff.inline_html(textdiff.diff_ops(c.base, c.theirs), **labels),
                yours_html=textdiff.inline_html(textdiff.diff_ops(c.base, c.yours), **labels),
            )
        )
        index += 1
    return regions


def conflict_page(
    info: ConflictInfo,
    *,
    section: Section,
    paper: Paper,
    action: str,
    suggestion: Any = None,
    note: str = "",
    choices: Mapping[int, str] | None = None,
    texts: Mapping[int, str] | None = None,
    form: ResolveForm | None = None,
    error: str | None = None,
) -> str:
    """Render the conflict page for a section edit, or (``suggestion``) for accepting one."""
    merge = info.body_merge
    assert merge is not None, "conflict_info() gives the merge"
    choices = dict(choices or {})
    texts = dict(texts or {})
    text = combined(merge, choices, texts)
    if form is None:
        # formdata=None: after a second conflict the posted (outdated) versions must not win.
        form = ResolveForm(
            formdata=None,
            base_version=info.base_version,
            current_version=info.current_version,
            title=info.yours.title if info.title_conflicts else info.merged_title,
            level=info.yours.level,
            yours=info.yours.body,
            combined=text,
            note=note,
        )
    else:
        form.combined.data = text if error is None else form.combined.data
    generated = text
    return render_template(
        "conflicts/page.html",
        info=info,
        section=section,
        paper=paper,
        suggestion=suggestion,
        action=action,
        form=form,
        regions=_regions(merge, choices, texts),
        generated=generated,
        error=error,
    )
