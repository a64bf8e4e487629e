"""Export jobs: request, run (on rq or in-process), retry, and recover from dead workers.

With ``REDIS_URL`` the job goes to the rq queue ``exports`` (``flask --app wsgi worker`` runs
it); without Redis it runs in this process on a background thread with the same code and the
same status records. Job functions take the export's id, never ORM objects.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from redis.exceptions import RedisError
from rq import get_current_job
from sqlalchemy import func, or_, select

from drafting.extensions import db
from drafting.models import (
    Edition,
    EditionStatus,
    Export,
    ExportStatus,
    Paper,
    ReferenceTemplate,
    User,
    utcnow,
)
from exports import layout, pdfa
from exports.builder import build_document
from exports.collect import collect
from workflows import activity, throttle, uow
from workflows.errors import ValidationFailed, WorkflowError
from workflows.jobs import EXPORTS_QUEUE, Retries, submit, wait_for_background_jobs
from workflows.papers import get_paper
from workflows.uow import unit_of_work, use_case

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
RETRY_INTERVALS = [5, 15, 45]
#: A running export whose heartbeat is older than this is taken as abandoned by a dead worker
#: (the app config ``EXPORT_STALE_SECONDS`` overrides it).
STALE_AFTER = timedelta(seconds=90)
#: A queued export that no worker has started for this long counts as lost (its rq job gone:
#: Redis flushed, or the in-process runner's process ended); ``EXPORT_QUEUED_STALE_SECONDS``
#: overrides it. Well above rq's retry waits, so a retry on its way is not taken for lost.
QUEUED_STALE_AFTER = timedelta(seconds=600)
JOB_TIMEOUT = 900

#: Tries after the first: the export is built at most MAX_ATTEMPTS times.
RETRIES = Retries(max=MAX_ATTEMPTS - 1, intervals=tuple(RETRY_INTERVALS))


class QueueUnavailable(WorkflowError):
    """The job queue (Redis) cannot be reached; nothing was exported."""

    code = "queue_unavailable"
    status = 503


def safe_filename(title: str, suffix: str) -> str:
    """Return an ASCII file name for a paper title (umlauts spelled out)."""
    text = title.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = text.replace("Ä", "Ae").replace("Ö", "Oe").replace("Ü", "Ue")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:80] or "konzeptpapier"
    return f"{text}-{suffix}.docx"


@use_case
def request_export(
    actor: User,
    paper_id: int,
    *,
    edition: int | None = None,
    redline_against: int | None = None,
    comments: bool = False,
    fmt: str = "docx",
) -> Export:
    """Create an export of a paper (an edition or the working draft) and queue it.

    ``fmt`` "pdf" makes the PDF/A records copy of an edition (of the final edition when none
    is given and the paper is final): no comparison, no comments.
    The same request while the user's earlier one is queued or running returns that export.

    :raises RateLimited: when the user reached ``EXPORT_RATE_LIMIT``.
    :raises ValidationFailed: for unknown editions or a redline that is not earlier.
    :raises QueueUnavailable: when Redis is configured but cannot be reached.
    """
    access = get_paper(actor, paper_id)
    numbers = set(db.session.scalars(select(Edition.number).where(Edition.paper_id == paper_id)))
    if fmt not in FORMATS:
        raise ValidationFailed(_l("The format must be docx or pdf."), field="format")
    if fmt == "pdf":
        edition = _pdf_edition(paper_id, edition, redline_against, comments)
    if edition is not None and edition not in numbers:
        raise ValidationFailed(_l("Edition %(n)s does not exist.", n=edition), field="edition")
    if redline_against is not None:
        if redline_against not in numbers:
            raise ValidationFailed(
                _l("Edition %(n)s does not exist.", n=redline_against), field="redline_against"
            )
        if edition is not None and redline_against >= edition:
            raise ValidationFailed(
                _l("The comparison must be with an earlier edition."), field="redline_against"
            )
    options: dict[str, Any] = {
        "edition": edition,
        "redline_against": redline_against,
        "comments": bool(comments),
    }
    if fmt == "pdf":
        options["format"] = "pdf"
    running = throttle.same_export(actor, paper_id, options)
    if running is not None:
        return running
    throttle.check_export_rate(actor)
    export = Export(
        paper_id=paper_id,
        requested_by_id=actor.id,
        status=ExportStatus.QUEUED,
        options=options,
        created_at=utcnow(),
    )
    db.session.add(export)
    db.session.flush()
    suffix = f"fassung-{edition}" if edition is not None else "arbeitsstand"
    if redline_against is not None:
        suffix += f"-aenderungen-zu-{redline_against}"
    export.filename = safe_filename(access.paper.title, suffix)
    if fmt == "pdf":
        export.filename = export.filename.removesuffix(".docx") + ".pdf"
    export.job_id = f"export-{export.id}"
    export_id = export.id
    # The worker must find the row: hand it to the queue once the request's unit of work
    # has committed (QueueUnavailable then reaches the caller as before).
    uow.on_commit(lambda: enqueue(export_id))
    return export


FORMATS = ("docx", "pdf")


def _pdf_edition(
    paper_id: int, edition: int | None, redline_against: int | None, comments: bool
) -> int:
    """Return the edition a PDF/A records copy is made of, or refuse the combination."""
    if redline_against is not None:
        raise ValidationFailed(
            _l("A PDF for the records shows an edition as it is, without comparison."),
            field="redline_against",
        )
    if comments:
        raise ValidationFailed(_l("A PDF for the records contains no comments."), field="comments")
    if edition is None:
        final = db.session.scalar(
            select(Edition.number)
            .where(Edition.paper_id == paper_id, Edition.status == EditionStatus.FINAL)
            .order_by(Edition.number.desc())
            .limit(1)
        )
        if final is None:
            raise ValidationFailed(
                _l("A PDF for the records is made of an edition: please choose one."),
                field="edition",
            )
        return int(final)
    return edition


def enqueue(export_id: int) -> None:
    """Hand an export to the job runner (rq with Redis, in-process without).

    :raises QueueUnavailable: when Redis is configured but unreachable (the export is failed).
    """
    try:
        submit(
            run_export,
            export_id,
            queue=EXPORTS_QUEUE,
            retry=RETRIES,
            give_up=_given_up,
            job_id=f"export-{export_id}-{int(time.time() * 1000)}",
            timeout=JOB_TIMEOUT,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
        )
    except (RedisError, OSError) as err:
        log.warning("Redis unreachable, export %s not queued: %s", export_id, err)
        with unit_of_work():
            export = db.session.get(Export, export_id)
            if export is not None:
                export.status = ExportStatus.FAILED
                export.error = str(_l("The job queue is not reachable. Please try again later."))
                export.finished_at = utcnow()
        raise QueueUnavailable(
            _l(
                "Exports are not possible right now: the job queue is not reachable. "
                "Everything else keeps working; please try again later."
            )
        ) from err


def _given_up(export_id: int) -> bool:
    # run_export fails the export for good on its last try (or it is gone): stop retrying.
    export = db.session.get(Export, export_id)
    return export is None or export.status == ExportStatus.FAILED


def wait_for_exports(timeout: float = 60) -> None:
    """Wait until in-process exports have finished (for tests and the CLI)."""
    wait_for_background_jobs(timeout, queue=EXPORTS_QUEUE)


def _reference() -> bytes | None:
    template = db.session.scalar(
        select(ReferenceTemplate)
        .where(ReferenceTemplate.active.is_(True))
        .order_by(ReferenceTemplate.id.desc())
        .limit(1)
    )
    return template.content if template is not None else None


def run_export(export_id: int) -> None:
    """Build the document of an export and store it (the rq job function).

    Raises on failure after recording the reason, so rq retries; the last failure leaves
    the export ``failed`` with a readable reason.
    """
    # A job owns its transactions: the status, each heartbeat and the result are units of
    # work of their own, so the progress bar (another process) sees them at once.
    with unit_of_work():
        export = db.session.get(Export, export_id)
        if export is None or export.status == ExportStatus.DONE:
            return
        export.status = ExportStatus.RUNNING
        export.attempts = (export.attempts or 0) + 1
        export.started_at = export.heartbeat_at = utcnow()
        export.progress = 1
        export.error = ""
    job = get_current_job()
    last = [0.0]

    def progress(percent: int) -> None:
        now = time.monotonic()
        if percent < 100 and now - last[0] < 0.5:
            return
        last[0] = now
        if job is not None:
            job.meta["progress"] = percent
            job.save_meta()
        with unit_of_work():
            db.session.execute(
                Export.__table__.update()
                .where(Export.id == export_id)
                .values(progress=percent, heartbeat_at=utcnow())
            )

    try:
        options = dict(export.options or {})
        data = collect(
            export.paper_id,
            edition=options.get("edition"),
            redline_against=options.get("redline_against"),
            comments=bool(options.get("comments")),
        )
        reference = _reference()
        content = build_document(
            data, reference=reference, comments=bool(options.get("comments")), progress=progress
        )
        pdf = options.get("format") == "pdf"
        if current_app.config.get("EXPORT_TOC_PAGES") or pdf:
            # LibreOffice lays the document out; the contents get their page numbers.
            pages = layout.heading_pages(content, data.sections)
            if pages is not None:
                content = build_document(
                    data,
                    reference=reference,
                    comments=bool(options.get("comments")),
                    toc_pages=pages,
                )
        if pdf:
            # The records copy: PDF/A-2b by LibreOffice, sealed when SEAL_CERT/KEY are set.
            content = pdfa.records_pdf(content, data, current_app.config)
    except Exception as err:
        db.session.rollback()
        with unit_of_work():
            export = db.session.get(Export, export_id)
            assert export is not None
            final = export.attempts >= MAX_ATTEMPTS
            export.status = ExportStatus.FAILED if final else ExportStatus.QUEUED
            export.heartbeat_at = utcnow()  # queued for a retry: not lost
            export.error = _reason(err)
            if final:
                export.finished_at = utcnow()
        raise
    with unit_of_work():
        _store_result(export_id, content)


def _store_result(export_id: int, content: bytes) -> None:
    export = db.session.get(Export, export_id)
    assert export is not None
    export.content = content
    export.size = len(content)
    export.status = ExportStatus.DONE
    export.progress = 100
    export.finished_at = utcnow()
    # The activity log is a hash chain appended under the paper's row lock (as every workflow
    # action does); without it a concurrent save takes the same sequence number.
    db.session.execute(
        select(Paper)
        .where(Paper.id == export.paper_id)
        .with_for_update(of=Paper)
        .execution_options(populate_existing=True)
    )
    activity.record(
        export.paper_id,
        export.requested_by,
        "export.done",
        export=export.id,
        size=len(content),
        **{k: v for k, v in (export.options or {}).items()},
    )


def _reason(err: Exception) -> str:
    if isinstance(err, WorkflowError):
        return err.message
    return str(
        _l(
            "The document could not be built (%(kind)s: %(text)s).",
            kind=type(err).__name__,
            text=str(err)[:300],
        )
    )


def stale_after() -> timedelta:
    """Return how old a running export's heartbeat may get before its worker counts as dead."""
    seconds = current_app.config.get("EXPORT_STALE_SECONDS")
    return timedelta(seconds=float(seconds)) if seconds else STALE_AFTER


@use_case
def queued_stale_after() -> timedelta:
    """Return how long an export may wait in the queue before its job counts as lost."""
    seconds = current_app.config.get("EXPORT_QUEUED_STALE_SECONDS")
    return timedelta(seconds=float(seconds)) if seconds else QUEUED_STALE_AFTER


def _last_sign_of_life() -> Any:
    return func.coalesce(Export.heartbeat_at, Export.created_at)


def is_stale(export: Export, now: Any = None) -> bool:
    """Tell whether a running export's worker died or a queued export's job was lost."""
    now = now or utcnow()
    if export.status == ExportStatus.RUNNING:
        return export.heartbeat_at is not None and export.heartbeat_at < now - stale_after()
    if export.status == ExportStatus.QUEUED:
        seen = export.heartbeat_at or export.created_at
        return seen is not None and seen < now - queued_stale_after()
    return False


@use_case
def recover_stale(now: Any = None) -> int:
    """Requeue (or fail, after the last try) exports whose worker died mid-job, and requeue
    queued exports whose job was lost before a worker started it."""
    now = now or utcnow()
    # Every progress bar polls: SKIP LOCKED leaves an export another poller is requeueing to
    # it, instead of requeueing it twice (two workers building the same export).
    stale = db.session.scalars(
        select(Export)
        .where(
            or_(
                (Export.status == ExportStatus.RUNNING)
                & (Export.heartbeat_at < now - stale_after()),
                (Export.status == ExportStatus.QUEUED)
                & (_last_sign_of_life() < now - queued_stale_after()),
            )
        )
        .order_by(Export.id)
        .with_for_update(skip_locked=True, of=Export)
    ).all()
    requeue = []
    for export in stale:
        if export.status == ExportStatus.QUEUED:
            # Never started, so no try is used up; the new heartbeat starts the wait anew.
            export.heartbeat_at = now
            export.error = str(_l("The export job was lost; the export was queued again."))
            requeue.append(export.id)
        elif export.attempts >= MAX_ATTEMPTS:
            export.status = ExportStatus.FAILED
            export.error = str(_l("The export worker stopped during the export."))
            export.finished_at = now
        else:
            export.status = ExportStatus.QUEUED
            export.heartbeat_at = now
            export.error = str(_l("The export worker stopped; the export was queued again."))
            requeue.append(export.id)
    uow.on_commit(lambda: _requeue(requeue))
    return len(stale)


def _requeue(export_ids: list[int]) -> None:
    for export_id in export_ids:
        try:
            enqueue(export_id)
        except QueueUnavailable:
            log.warning("could not requeue export %s", export_id)


def get_export(actor: User, export_id: int) -> Export:
    """Return an export of a paper the user may see (recovering it if its worker died).

    :raises NotFound: otherwise.
    """
    from workflows.errors import NotFound

    export = db.session.get(Export, export_id)
    if export is None:
        raise NotFound(_l("Export not found."))
    get_paper(actor, export.paper_id, missing=_l("Export not found."))
    if is_stale(export):
        recover_stale()
        db.session.refresh(export)
    return export


def history(paper_id: int, limit: int = 50) -> list[Export]:
    """List a paper's exports, newest first."""
    return list(
        db.session.scalars(
            select(Export)
            .where(Export.paper_id == paper_id)
            .order_by(Export.id.desc())
            .limit(limit)
        )
    )
