"""The e-mails of accounts: invitation, password-reset link, "your password was changed"."""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from drafting import links
from drafting.inbox.mail import plain_message
from drafting.models import Invitation, User
from workflows import jobs


def invitation_url(token: str) -> str:
    """Return the absolute link of an invitation."""
    return links.absolute(links.path_for("auth.accept_invitation", token=token))


def reset_url(token: str) -> str:
    """Return the absolute link of a password reset."""
    return links.absolute(links.path_for("auth.reset_password", token=token))


def send_invitation(invitation: Invitation, token: str) -> None:
    """E-mail an invitation's link in the invitation's language."""
    with force_locale(invitation.locale or "de"):
        inviter = invitation.invited_by
        body = render_template(
            "email/invitation.txt",
            inviter=inviter.display_name if inviter else "",
            inviter_org=inviter.organisation.name if inviter else "",
            organisation=invitation.organisation.name,
            paper=invitation.paper.title if invitation.paper else "",
            link=invitation_url(token),
            expires=invitation.expires_at,
        )
        subject = _("Invitation to Konzeptwerk")
    jobs.enqueue_email(plain_message("", invitation.email, subject, body, invitation.locale))


def send_reset(user: User, token: str, minutes: int) -> None:
    """E-mail a password-reset link in the user's language."""
    locale = user.locale or "de"
    with force_locale(locale):
        body = render_template(
            "email/password_reset.txt",
            name=user.display_name,
            link=reset_url(token),
            minutes=minutes,
        )
        subject = _("Reset your Konzeptwerk password")
    jobs.enqueue_email(plain_message(user.display_name, user.email, subject, body, locale))


def send_password_changed(user: User) -> None:
    """Tell a user that their password was changed (by them or through a reset link)."""
    locale = user.locale or "de"
    with force_locale(locale):
        body = render_template(
            "email/password_changed.txt",
            name=user.display_name,
            forgot=links.absolute(links.path_for("auth.forgot_password")),
        )
        subject = _("Your password was changed")
    jobs.enqueue_email(plain_message(user.display_name, user.email, subject, body, locale))
