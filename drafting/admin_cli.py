"""Administration commands for operators (issue 18.8), kept apart from ``drafting.cli``:
``users list|invite|export|erase|set-password``, ``tokens list|revoke``,
``exports prune``, and the ``--all`` runs of ``audit verify`` and ``editions verify``.
Registered on the groups of ``drafting.cli``.

Every check exits non-zero on any problem, so cron or CI can alert on it.
"""

from __future__ import annotations

import re
import sys
from datetime import timedelta

import click
from flask import current_app
from sqlalchemy import delete, select

from drafting.extensions import db
from drafting.models import ApiToken, Export, ExportStatus, Paper, Role, User, utcnow
from workflows import accounts, invitations, jobs, privacy
from workflows.errors import WorkflowError

_DURATION = re.compile(r"^\s*(\d+)\s*([dhw])\s*$")


def parse_age(text: str) -> timedelta:
    """Read ``30d``, ``12h`` or ``2w``.

    :raises click.BadParameter: for anything else.
    """
    found = _DURATION.match(text or "")
    if not found:
        raise click.BadParameter(f"{text!r}: use a number and d, h or w, e.g. 30d")
    number, unit = int(found.group(1)), found.group(2)
    return {
        "d": timedelta(days=number),
        "h": timedelta(hours=number),
        "w": timedelta(weeks=number),
    }[unit]


def _user(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user with the e-mail address {email}")
    return user


def register(users_cli: click.Group, tokens_cli: click.Group) -> click.Group:
    """Add the commands to the existing groups; return the new ``exports`` group."""

    @users_cli.command("list")
    def users_list() -> None:
        """List user accounts: id, e-mail, organisation, flags, name."""
        for user in db.session.scalars(select(User).order_by(User.email)):
            flags = ",".join(
                f for f, on in (("admin", user.is_admin), ("inactive", not user.active)) if on
            )
            click.echo(
                f"{user.id}\t{user.email}\t{user.organisation.short_name}\t{flags or '-'}\t"
                f"{user.display_name}"
            )

    @users_cli.command("invite")
    @click.option("--email", required=True, help="Address of the person to invite.")
    @click.option("--organisation", "org_short", required=True, help="Short name.")
    @click.option("--paper", "paper_id", type=int, default=None, help="Invite to this paper.")
    @click.option(
        "--role",
        type=click.Choice([r.value for r in Role]),
        default=None,
        help="Role on the paper (needs --paper).",
    )
    @click.option("--locale", type=click.Choice(["de", "en"]), default="de")
    def users_invite(
        email: str, org_short: str, paper_id: int | None, role: str | None, locale: str
    ) -> None:
        """Invite a person by e-mail; prints the one-time link (also sent by e-mail)."""
        from drafting.auth import mail

        try:
            org = accounts.organisation_by_short(org_short)
            sent = invitations.invite(None, email, org, paper_id=paper_id, role=role, locale=locale)
        except WorkflowError as err:
            raise click.ClickException(str(err.message)) from err
        mail.send_invitation(sent.invitation, sent.token)
        jobs.wait_for_background_jobs(30)
        click.echo(f"Invitation {sent.invitation.id} for {sent.invitation.email} created.")
        click.echo(f"Link (valid until {sent.invitation.expires_at:%Y-%m-%d %H:%M} UTC, once):")
        click.echo(mail.invitation_url(sent.token))

    @users_cli.command("export")
    @click.option("--email", required=True)
    def users_export(email: str) -> None:
        """Print everything stored about a person as JSON (GDPR Art. 15)."""
        import json

        click.echo(json.dumps(privacy.export(_user(email)), ensure_ascii=False, indent=2))

    @users_cli.command("erase")
    @click.option("--email", required=True)
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def users_erase(email: str, yes: bool) -> None:
        """Erase a person who left (GDPR Art. 17): name and address removed, texts kept
        under a pseudonym, logs and editions stay verifiable."""
        user = _user(email)
        if not yes:
            click.confirm(
                f"Erase {user.email} ({user.display_name})? This cannot be undone", abort=True
            )
        try:
            name = privacy.erase(None, user.id)
        except WorkflowError as err:
            raise click.ClickException(str(err.message)) from err
        click.echo(f"Erased; the person appears as {name!r}.")

    @users_cli.command("set-password")
    @click.option("--email", required=True)
    @click.option(
        "--password-stdin",
        is_flag=True,
        required=True,
        help="Read the new password from standard input (never from the command line).",
    )
    def users_set_password(email: str, password_stdin: bool) -> None:
        """Set a user's password; their sessions end and their API tokens are revoked."""
        user = _user(email)
        password = sys.stdin.readline().rstrip("\r\n") if password_stdin else ""
        try:
            revoked = accounts.set_password(None, user, password)
        except WorkflowError as err:
            raise click.ClickException(err.message) from err
        click.echo(f"Password of {user.email} set; sessions ended, {revoked} API token(s) revoked.")

    @tokens_cli.command("list")
    @click.option("--all", "show_all", is_flag=True, help="Include revoked tokens.")
    def tokens_list(show_all: bool) -> None:
        """List API tokens: id, user, name, prefix, created, revoked."""
        query = select(ApiToken).order_by(ApiToken.id)
        if not show_all:
            query = query.where(ApiToken.revoked_at.is_(None))
        for token in db.session.scalars(query):
            revoked = token.revoked_at.isoformat(timespec="seconds") if token.revoked_at else "-"
            click.echo(
                f"{token.id}\t{token.user.email}\t{token.name}\t{token.prefix}…\t"
                f"{token.created_at.isoformat(timespec='seconds')}\t{revoked}"
            )

    @tokens_cli.command("revoke")
    @click.option("--id", "token_id", type=int, required=True, help="The id from `tokens list`.")
    def tokens_revoke(token_id: int) -> None:
        """Revoke an API token of any user."""
        token = db.session.get(ApiToken, token_id)
        if token is None:
            raise click.ClickException(f"no token with id {token_id}")
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            db.session.commit()
        click.echo(f"Token {token_id} of {token.user.email} is revoked.")

    @click.group("exports")
    def exports_cli() -> None:
        """Manage finished Word exports."""

    @exports_cli.command("prune")
    @click.option(
        "--older-than",
        "older_than",
        default=None,
        help="Age, e.g. 30d, 12h, 2w (default: EXPORT_RETENTION_DAYS).",
    )
    def exports_prune(older_than: str | None) -> None:
        """Delete finished and failed exports (and their files) older than the given age."""
        age = (
            parse_age(older_than)
            if older_than
            else timedelta(days=int(current_app.config["EXPORT_RETENTION_DAYS"]))
        )
        cutoff = utcnow() - age
        result = db.session.execute(
            delete(Export).where(
                Export.status.in_([ExportStatus.DONE, ExportStatus.FAILED]),
                Export.created_at < cutoff,
            )
        )
        db.session.commit()
        count = getattr(result, "rowcount", 0)
        click.echo(f"{count} export(s) older than {age.days} day(s) deleted.")

    return exports_cli


def edition_problems(paper_id: int) -> list[str]:
    """Describe every edition problem of a paper: hashes, and the log cross-check."""
    from workflows.integrity import editions_against_log
    from workflows.signoff import verify

    lines = [f"edition {p.edition}: {p.problem}" for p in verify(paper_id)]
    lines += [f"edition {p.edition}: {p.problem}" for p in editions_against_log(paper_id)]
    return lines


def audit_verify_all() -> None:
    """Recompute the hash chain of every paper and of the administrators' log; exit non-zero
    on any problem."""
    from workflows import adminlog
    from workflows.activity import verify

    bad = 0
    papers = db.session.scalars(select(Paper.id).order_by(Paper.id)).all()
    for paper_id in papers:
        for problem in verify(paper_id):
            bad += 1
            click.echo(f"paper {paper_id}, entry {problem.seq}: {problem.problem}", err=True)
    for problem in adminlog.verify():
        bad += 1
        click.echo(f"administrators' log, entry {problem.seq}: {problem.problem}", err=True)
    if bad:
        raise click.ClickException(f"{bad} problem(s) in the activity logs")
    click.echo(f"activity logs of {len(papers)} paper(s) and the administrators' log are intact")


def editions_verify_all() -> None:
    """Check every edition's hash and cross-check the editions with the activity log."""
    bad = 0
    papers = db.session.scalars(select(Paper.id).order_by(Paper.id)).all()
    for paper_id in papers:
        for line in edition_problems(paper_id):
            bad += 1
            click.echo(f"paper {paper_id}, {line}", err=True)
    if bad:
        raise click.ClickException(f"{bad} problem(s) with editions")
    click.echo(f"all editions of {len(papers)} paper(s) match their hashes and the activity log")
