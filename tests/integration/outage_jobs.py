"""A job for the Redis outage test: fails on its first run, succeeds on the retry."""

from __future__ import annotations

from pathlib import Path


def flaky(folder: str) -> str:
    """Fail the first time (leaving a mark), write ``done`` the second time.

    :raises RuntimeError: on the first run, so rq schedules the retry.
    """
    marks = Path(folder)
    if not (marks / "failed").exists():
        (marks / "failed").write_text("1")
        raise RuntimeError("first attempt fails on purpose")
    (marks / "done").write_text("1")
    return "done"
