"""Command-line interface: ``flask --app wsgi demo | orgs | users | tokens | worker``."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from redis.exceptions import RedisError
from sqlalchemy import select

from drafting.extensions import db
from drafting.models import Organisation, OrgKind, Paper, User
from workflows import accounts, jobs
from workflows.errors import WorkflowError


def _fail(err: WorkflowError) -> None:
    raise click.ClickException(err.message)


@click.group("orgs")
def orgs_cli() -> None:
    """Manage partner organisations."""


@orgs_cli.command("create")
@click.option("--name", required=True, help="Full name, e.g. 'Stadt Lindenau'.")
@click.option("--short", "short_name", required=True, help="Unique short name, e.g. 'LIN'.")
@click.option("--kind", type=click.Choice([k.value for k in OrgKind]), required=True)
@click.option(
    "--may-create-papers/--no-paper-creation",
    default=True,
    help="Whether its users may create papers (default: yes).",
)
def orgs_create(name: str, short_name: str, kind: str, may_create_papers: bool) -> None:
    """Create a partner organisation."""
    try:
        org = accounts.create_organisation(
            name,
            short_name,
            kind,
            may_create_papers=may_create_papers,
            audit_as=accounts.COMMAND_LINE,
        )
    except WorkflowError as err:
        _fail(err)
    else:
        click.echo(f"Created organisation {org.short_name} (id {org.id}).")


@orgs_cli.command("paper-creation")
@click.argument("short_name")
@click.argument("allowed", type=click.Choice(["allow", "deny"]))
def orgs_paper_creation(short_name: str, allowed: str) -> None:
    """Allow or deny an organisation's users to create papers."""
    try:
        org = accounts.organisation_by_short(short_name)
        accounts.update_organisation(
            org.id,
            org.name,
            org.short_name,
            org.kind,
            may_create_papers=allowed == "allow",
            audit_as=accounts.COMMAND_LINE,
        )
    except WorkflowError as err:
        _fail(err)
    else:
        click.echo(
            f"{org.short_name}: paper creation {'allowed' if allowed == 'allow' else 'denied'}."
        )


@orgs_cli.command("list")
def orgs_list() -> None:
    """List partner organisations."""
    for org in db.session.scalars(select(Organisation).order_by(Organisation.short_name)):
        click.echo(f"{org.short_name}\t{org.kind.value}\t{org.name}")


@click.group("users")
def users_cli() -> None:
    """Manage user accounts."""


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True, help="Display name.")
@click.option("--org", "org_short", required=True, help="Short name of the organisation.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (scripts).",
)
@click.option(
    "--password",
    default=None,
    help="The password on the command line (visible in the shell history and process "
    "list; prefer the prompt or --password-stdin).",
)
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option("--locale", type=click.Choice(["de", "en"]), default="de")
def users_create(
    email: str,
    name: str,
    org_short: str,
    password_stdin: bool,
    password: str | None,
    admin: bool,
    locale: str,
) -> None:
    """Create a user account; asks for the password (hidden, twice) unless given otherwise.

    The password must have at least 10 characters and be hard to guess (not built from the
    e-mail address, name or organisation, no common password, word or sequence).
    """
    if password_stdin and password is not None:
        raise click.UsageError("give either --password or --password-stdin, not both")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        org = accounts.organisation_by_short(org_short)
        user = accounts.create_user(
            email,
            name,
            org,
            password,
            is_admin=admin,
            locale=locale,
            audit_as=accounts.COMMAND_LINE,
        )
    except WorkflowError as err:
        _fail(err)
    else:
        click.echo(f"Created user {user.email} (id {user.id}).")


@users_cli.command("move")
@click.option("--email", required=True)
@click.option("--org", "org_short", required=True, help="Short name of the new organisation.")
def users_move(email: str, org_short: str) -> None:
    """Move a user to another organisation; their roles on papers end (and are logged)."""
    try:
        org = accounts.organisation_by_short(org_short)
    except WorkflowError as err:
        _fail(err)
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException("no such user")
    try:
        accounts.move_user(user.id, org.id, audit_as=accounts.COMMAND_LINE)
    except WorkflowError as err:
        _fail(err)
    else:
        click.echo(f"Moved {email} to {org.short_name}; their paper roles were removed.")


@users_cli.command("deactivate")
@click.option("--email", required=True)
def users_deactivate(email: str) -> None:
    """Deactivate a user account; its sessions and tokens stop working at once."""
    try:
        user = accounts.deactivate_user(email, audit_as=accounts.COMMAND_LINE)
    except WorkflowError:
        raise click.ClickException("no such user") from None
    click.echo(f"Deactivated {user.email}; its sessions ended and its API tokens are revoked.")


@click.group("tokens")
def tokens_cli() -> None:
    """Manage API tokens."""


@tokens_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", default="CLI", help="A name to recognise the token by.")
def tokens_create(email: str, name: str) -> None:
    """Create an API token for a user and print it as the last line."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active:
        raise click.ClickException("no active user with this e-mail address")
    token, plain = accounts.create_token(user, name)
    valid_until = token.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    click.echo(
        f"API token for {user.email}, valid until {valid_until} (shown once, stored only hashed):"
    )
    click.echo(plain)


@click.command("demo")
@click.option("--force", is_flag=True, help="Load even if the database is not empty.")
def demo_command(force: bool) -> None:
    """Load the demo alliance (organisations, users, a sample paper) into an empty database."""
    from drafting.demo import DEMO_PASSWORD, load_demo

    if not force and db.session.scalar(select(Paper.id).limit(1)) is not None:
        click.echo("The database already holds papers; demo data not loaded (use --force).")
        return
    if not force and db.session.scalar(select(User.id).limit(1)) is not None:
        click.echo("The database already holds users; demo data not loaded (use --force).")
        return
    logins = load_demo()
    click.echo("Demo alliance loaded. Logins (password for all: " + DEMO_PASSWORD + "):")
    for email, description in logins:
        click.echo(f"  {email:<32} {description}")


@click.command("demo-logins", hidden=True)
def demo_logins_command() -> None:
    """Print the logins of the demo users in this database (``make run`` shows them each start)."""
    from drafting.demo import DEMO_PASSWORD, USERS

    emails = [email for email, *_rest in USERS]
    query = select(User.email).where(User.email.in_(emails), User.active)
    present = set(db.session.scalars(query))
    if not present:
        click.echo("No demo users in this database.")
        return
    click.echo(f"Demo logins (password, unless changed since: {DEMO_PASSWORD}):")
    for email, name, short, roles, admin in USERS:
        if email in present:
            described = ", ".join(r.value for r in roles)
            described = described or ("administrator" if admin else "member")
            click.echo(f"  {email:<32} {name} ({short}): {described}")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then exit (tests, cron).")
def worker_command(burst: bool) -> None:
    """Run an rq worker for the mail and export queues on the Redis at REDIS_URL."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException(
            "REDIS_URL is not set. Without Redis, jobs run inside the web process "
            "and no worker is needed."
        )
    try:
        worker = jobs.make_worker(str(url))
    except RedisError as err:
        raise click.ClickException(f"Redis at REDIS_URL is not reachable: {err}") from err
    # The flask command has pushed an app context; it stays active while the worker runs,
    # and forked work horses inherit it, so job functions can use db.session.
    worker.work(burst=burst, with_scheduler=True)
    # Exit non-zero unless asked to stop (a signal) or done (burst), so that systemd or the
    # orchestrator restarts a worker that lost its scheduler or gave up on Redis.
    if worker.scheduler_failed:
        raise SystemExit("worker stopped: its rq scheduler could not be kept running")
    if not burst and worker._shutdown_requested_date is None:
        raise SystemExit("worker stopped unexpectedly (see the log above)")


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(orgs_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(demo_logins_command)
    app.cli.add_command(audit_cli)
    app.cli.add_command(editions_cli)
    app.cli.add_command(search_cli)
    # Operators' commands (issue 18.8): users list/set-password, tokens list/revoke, exports.
    from drafting import admin_cli

    app.cli.add_command(admin_cli.register(users_cli, tokens_cli))


@click.group("search")
def search_cli() -> None:
    """Maintain the full-text search index."""


@search_cli.command("reindex")
def search_reindex() -> None:
    """Rebuild the search index from all papers (after an upgrade or a restore)."""
    from workflows.search import rebuild

    count = rebuild(db.session.connection())
    db.session.commit()
    click.echo(f"indexed {count} texts")


@click.group("audit")
def audit_cli() -> None:
    """Check the tamper-evident activity log."""


@audit_cli.command("verify")
@click.argument("paper_id", type=int, required=False)
@click.option("--all", "every", is_flag=True, help="Check every paper.")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    metavar="SEQ:HASH",
    help="A head recorded earlier with `audit anchor` (plain SHA-256); may be repeated.",
)
def audit_verify(paper_id: int | None, every: bool, anchors: tuple[str, ...]) -> None:
    """Recompute a paper's hash chain and keyed seals; exit non-zero on any altered, missing
    or re-sealed entry, or on a recorded head the log no longer holds."""
    from workflows.activity import check_anchor, verify

    if every:
        from drafting.admin_cli import audit_verify_all

        audit_verify_all()
        return
    if paper_id is None:
        raise click.UsageError("give a paper id or --all")
    if db.session.get(Paper, paper_id) is None:
        raise click.ClickException(f"paper {paper_id} does not exist")
    problems = verify(paper_id)
    for given in anchors:
        seq, _sep, head = given.partition(":")
        if not seq.strip().isdigit() or not head.strip():
            raise click.BadParameter(f"{given!r} is not SEQ:HASH", param_hint="--anchor")
        problem = check_anchor(paper_id, int(seq), head)
        if problem is not None:
            problems.append(problem)
    if problems:
        for problem in problems:
            click.echo(f"entry {problem.seq}: {problem.problem}", err=True)
        raise click.ClickException(
            f"activity log of paper {paper_id} is NOT intact ({len(problems)} problem(s))"
        )
    click.echo(f"activity log of paper {paper_id} is intact")


@audit_cli.command("anchor")
@click.argument("paper_id", type=int)
def audit_anchor(paper_id: int) -> None:
    """Print a paper's chain head (plain SHA-256 and keyed) for a record kept elsewhere."""
    from workflows.activity import anchor

    head = anchor(paper_id)
    if head is None:
        raise click.ClickException(f"paper {paper_id} does not exist")
    click.echo(f"paper:       {head.paper_id}")
    click.echo(f"entries:     {head.seq}")
    click.echo(f"head:        {head.head}")
    click.echo(f"head-keyed:  {head.keyed}")
    click.echo(f"at:          {head.at}")
    click.echo(
        f"check later: flask --app wsgi audit verify {paper_id} --anchor {head.seq}:{head.head}"
    )


@click.group("editions")
def editions_cli() -> None:
    """Check editions and run sign-off reminders."""


@editions_cli.command("verify")
@click.argument("paper_id", type=int, required=False)
@click.option("--all", "every", is_flag=True, help="Check every paper.")
def editions_verify(paper_id: int | None, every: bool) -> None:
    """Recompute every edition's hash from the stored versions and cross-check the editions
    with the activity log; exit non-zero on any mismatch or missing edition."""
    from drafting.admin_cli import edition_problems, editions_verify_all

    if every:
        editions_verify_all()
        return
    if paper_id is None:
        raise click.UsageError("give a paper id or --all")
    if db.session.get(Paper, paper_id) is None:
        raise click.ClickException(f"paper {paper_id} does not exist")
    problems = edition_problems(paper_id)
    if problems:
        for line in problems:
            click.echo(line, err=True)
        raise click.ClickException(f"editions of paper {paper_id} do NOT match their hashes")
    click.echo(f"all editions of paper {paper_id} match their hashes")


@editions_cli.command("verify-pdf")
@click.argument("pdf_file", type=click.Path(exists=True, dir_okay=False))
def editions_verify_pdf(pdf_file: str) -> None:
    """Check a records PDF: its seal (against SEAL_CERT) and that the edition hash in its
    metadata is the stored edition's, whose texts still match it; exit non-zero otherwise."""
    from pathlib import Path

    from drafting.models import Edition
    from exports import pdfa
    from workflows.signoff import verify

    data = Path(pdf_file).read_bytes()
    try:
        meta = pdfa.read_metadata(data)
    except Exception as err:  # noqa: BLE001 — any unreadable file gets one clear message
        raise click.ClickException(f"not a readable PDF: {err}") from err
    if meta.paper_id is None or meta.edition is None or meta.edition_hash is None:
        raise click.ClickException("the PDF names no Konzeptwerk edition in its metadata")
    failures = []
    cert = current_app.config.get("SEAL_CERT")
    trust = [Path(cert).read_bytes()] if cert else []
    seal = pdfa.verify_seal(data, trust)
    if not seal.sealed:
        if cert:
            failures.append("the PDF carries no seal")
        else:
            click.echo("seal: none (SEAL_CERT is not configured)")
    elif not seal.intact:
        failures.append("the seal is broken: the PDF was changed after sealing")
    elif not seal.trusted:
        failures.append(
            f"the seal was not made with this installation's certificate ({seal.signer})"
        )
    elif not seal.covers_whole_file:
        failures.append("the PDF was changed after sealing (content after the seal)")
    else:
        click.echo(f"seal: intact, by {seal.signer}")
    edition = db.session.scalar(
        select(Edition).where(Edition.paper_id == meta.paper_id, Edition.number == meta.edition)
    )
    if edition is None:
        failures.append(f"paper {meta.paper_id} has no edition {meta.edition}")
    elif edition.content_hash != meta.edition_hash:
        failures.append(f"edition hash {meta.edition_hash} is not the stored edition's")
    elif any(p.edition == meta.edition for p in verify(meta.paper_id)):
        failures.append("the stored edition's texts no longer match its hash")
    else:
        click.echo(f"edition: paper {meta.paper_id}, edition {meta.edition}, hash matches")
    if failures:
        for line in failures:
            click.echo(line, err=True)
        raise click.ClickException(f"{pdf_file} does NOT match a sealed stored edition")
    click.echo(f"{pdf_file} matches edition {meta.edition} of paper {meta.paper_id}")


@editions_cli.command("remind")
def editions_remind() -> None:
    """Remind signatories before sign-off deadlines pass (run daily, e.g. from cron)."""
    from workflows.signoff import send_reminders

    click.echo(f"reminders sent: {send_reminders()}")
