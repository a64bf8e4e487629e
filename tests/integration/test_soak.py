"""A short load and fault soak (issue 9, "Prove it"): the code of ``bench/soak.py``, smaller.

Six simulated users (editors autosaving and saving, a reviewer, readers, an exporter) work for
30 seconds against gunicorn with 4 workers, a PostgreSQL cluster and a Redis server of the
test's own (never the shared ones on 5432/6379) and a supervised rq worker. Meanwhile a
gunicorn worker is killed, PostgreSQL restarted, Redis stopped for 4 seconds and the rq worker
killed while it builds an export. Afterwards nothing the users were told may be missing.

ASVS 4.0.3 1.11.2 and 11.1.6 (no lost or doubled writes under concurrency and faults) and
7.4.3 (a last-resort error handler while dependencies are down): see docs/security.md.
"""

from __future__ import annotations

import pytest

from bench import soak

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def test_soak_loses_no_save_draft_comment_or_export_through_faults() -> None:
    missing = soak.missing_programs()
    if missing:
        pytest.skip(f"the soak needs {', '.join(missing)}")
    options = soak.Options(
        users=6,
        seconds=30,
        peer=False,
        redis_down=4,
        stale_seconds=5,
        drain_seconds=90,  # a busy CI machine may need a while to restart the worker
        think=(0.5, 2.0),  # brisker than the bench's users: enough work in 30 seconds
        relogin_every=12,
        # The worker is killed last: a retry scheduled before the kill would wait for the
        # dead worker's scheduler lock to expire (61 s), longer than this short run.
        fault_order=("web", "postgres", "redis", "worker"),
        verbose=False,
    )
    report = soak.run(options)
    figures = "\n".join(report.lines())
    consistency = report.consistency

    assert [w.name for w in report.windows] == [
        "gunicorn worker killed",
        "PostgreSQL restart",
        "Redis stopped",
        "rq worker killed",
    ], figures
    assert report.worker_restarts >= 1, figures
    # The users did work, and the server remembers all of it.
    assert consistency.accepted_saves >= 5, figures
    assert consistency.drafts_checked >= 2, figures
    autosaved = [s for s in report.samples if s.kind == "autosave" and s.status == 200]
    assert len(autosaved) >= 3 and consistency.drafts_held >= 1, figures
    assert consistency.comments_checked >= 1, figures
    assert sum(consistency.exports.values()) >= 1, figures
    assert consistency.problems() == [], figures
    assert len(consistency.audit) == 1 and not consistency.audit_broken, figures
    # Errors only while a dependency was down (or a process had just been killed).
    assert report.errors_outside() == [], figures
