"""Reference documents (.docx) whose styles the Word export uses."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from drafting.extensions import db
from drafting.models import ReferenceTemplate, User, utcnow
from exports.docx_safety import check
from workflows.errors import NotFound, ValidationFailed
from workflows.uow import use_case


@use_case
def upload(actor: User, name: str, data: bytes) -> ReferenceTemplate:
    """Store a checked reference document and make it the active one."""
    name = (name or "").strip()[:200]
    if not name:
        raise ValidationFailed(_l("Please give the document a name."), field="name")
    check(data)
    db.session.execute(update(ReferenceTemplate).values(active=False))
    template = ReferenceTemplate(
        name=name,
        content=data,
        size=len(data),
        active=True,
        uploaded_by_id=actor.id,
        uploaded_at=utcnow(),
    )
    db.session.add(template)
    return template


@use_case
def activate(template_id: int) -> None:
    """Make one reference document active (0: use the built-in styles)."""
    if template_id and db.session.get(ReferenceTemplate, template_id) is None:
        raise NotFound(_l("Reference document not found."))
    db.session.execute(update(ReferenceTemplate).values(active=False))
    if template_id:
        db.session.execute(
            update(ReferenceTemplate).where(ReferenceTemplate.id == template_id).values(active=True)
        )


def listing() -> list[ReferenceTemplate]:
    """List the uploaded reference documents, newest first."""
    return list(db.session.scalars(select(ReferenceTemplate).order_by(ReferenceTemplate.id.desc())))
