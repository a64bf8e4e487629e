"""API routes of accounts: invitations, and personal data (GDPR)."""

from __future__ import annotations

from drafting.api import api_user, bp, schemas
from drafting.auth import mail
from drafting.models import Invitation
from workflows import accounts, invitations, privacy
from workflows.errors import NotAllowed


def invitation_model(invitation: Invitation) -> schemas.Invitation:
    """Serialise an invitation (never its link: that goes to the invited address only)."""
    return schemas.Invitation(
        id=invitation.id,
        email=invitation.email,
        organisation=invitation.organisation.short_name,
        paper_id=invitation.paper_id,
        role=invitation.role.value if invitation.role is not None else None,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
    )


@bp.post("/invitations")
@schemas.endpoint(json=schemas.NewInvitation, answer=(201, schemas.Invitation))
def create_invitation() -> tuple[schemas.Invitation, int]:
    """Invite a person by e-mail (administrators; coordinators for their paper)."""
    data = schemas.body(schemas.NewInvitation)
    organisation = accounts.organisation_by_short(data.organisation)
    sent = invitations.invite(
        api_user(),
        data.email,
        organisation,
        paper_id=data.paper_id,
        role=data.role,
        locale=data.locale,
    )
    mail.send_invitation(sent.invitation, sent.token)
    return invitation_model(sent.invitation), 201


@bp.get("/me/export")
@schemas.endpoint(answer=(200, schemas.PersonalData))
def my_data() -> schemas.PersonalData:
    """Everything stored about the caller (GDPR Art. 15), as JSON."""
    return schemas.PersonalData(privacy.export(api_user()))


@bp.post("/admin/users/<int:user_id>/erase")
@schemas.endpoint(answer=(200, schemas.Erased))
def erase_user(user_id: int) -> schemas.Erased:
    """Erase a person who left (GDPR Art. 17), administrators only → ``{"pseudonym"}``."""
    user = api_user()
    if not user.is_admin:
        raise NotAllowed("only administrators may erase people")
    return schemas.Erased(pseudonym=privacy.erase(user, user_id))
