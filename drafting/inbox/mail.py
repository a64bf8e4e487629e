"""The e-mail of a notification, written from templates/email/ in the recipient's language."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, render_template
from flask.sansio.app import App
from flask_babel import force_locale

from drafting import links
from drafting.models import Notification, User
from workflows import notifications


def compose_email(notification: Notification, user: User) -> EmailMessage:
    """Write the plain-text e-mail of a notification in the recipient's language."""
    with force_locale(user.locale or "de"):
        text = notifications.message(notification)
        values = {
            "name": user.display_name,
            "text": text,
            "quote": notifications.detail(notification).splitlines(),
            "paper": (notification.params or {}).get("paper") or "",
            "link": links.notification_url(notification),
            "settings": links.absolute(links.path_for("inbox.settings")),
        }
        body = render_template("email/notification.txt", **values)
        subject = render_template("email/notification_subject.txt", **values)

    return plain_message(user.display_name, user.email, subject, body, user.locale or "de")


def plain_message(
    display_name: str, address: str, subject: str, body: str, locale: str
) -> EmailMessage:
    """Build a plain-text e-mail from the installation to one person."""
    config = current_app.config
    email = EmailMessage()
    # Titles and names come from users: one line only, so they cannot add header lines.
    email["Subject"] = " ".join(subject.split())
    email["From"] = config.get("MAIL_FROM") or "konzeptwerk@localhost"
    to_name = " ".join((display_name or "").split())
    email["To"] = Address(display_name=to_name, addr_spec=address) if to_name else address
    email["Date"] = formatdate(usegmt=True)
    # An explicit domain: without one, make_msgid looks up the host's FQDN, which can hang.
    sender_domain = str(email["From"]).rpartition("@")[2].strip("> ") or "konzeptwerk.localhost"
    email["Message-ID"] = make_msgid(domain=sender_domain)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(body.rstrip("\n") + "\n")
    email["Content-Language"] = locale  # after set_content, which drops Content-*
    return email


def init_app(app: App) -> None:
    """Let the workflows' mail job write e-mails with these templates."""
    app.extensions[notifications.EMAIL_WRITER] = compose_email
