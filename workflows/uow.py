"""The unit of work: one database transaction per use case.

Actions in ``workflows/`` and ``exports/`` never commit. The outermost caller of a use case
(a view, an API endpoint, a CLI command, a job) owns the transaction:

* an action called alone carries it through its :func:`use_case` decorator;
* several actions that form one use case run inside ``with unit_of_work():`` (the import of
  a Word file creates a paper, its sections and suggestions in one transaction).

The outermost boundary commits when its block ends, or rolls everything back when an
exception leaves it; boundaries inside it join its transaction. Activity entries and queued
e-mails are written in that transaction; work that must wait until the rows are visible to
other processes (handing an export to the queue) is registered with :func:`on_commit` and
runs after the outermost commit (never after a rollback).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from drafting.extensions import db

P = ParamSpec("P")
R = TypeVar("R")

_DEPTH = "konzeptwerk.uow_depth"
_ON_COMMIT = "konzeptwerk.uow_on_commit"


def depth() -> int:
    """Return how many unit-of-work boundaries are open around the caller (0: none)."""
    return int(db.session.info.get(_DEPTH, 0))


def in_unit_of_work() -> bool:
    """Tell whether a unit of work is open (an action's writes will be committed by it)."""
    return depth() > 0


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Run the block as (part of) one transaction.

    The outermost boundary commits at the end of the block and then runs the callbacks
    registered with :func:`on_commit`; when an exception leaves it, it rolls back and drops
    them. An inner boundary joins the outer transaction and neither commits nor rolls back.
    """
    session = db.session
    level = int(session.info.get(_DEPTH, 0))
    session.info[_DEPTH] = level + 1
    try:
        yield
        if level == 0:
            session.commit()
    except BaseException:
        if level == 0:
            session.info.pop(_ON_COMMIT, None)
            session.rollback()
        raise
    finally:
        session.info[_DEPTH] = level
    if level == 0:
        for callback in session.info.pop(_ON_COMMIT, []):
            callback()


def use_case(func: Callable[P, R]) -> Callable[P, R]:
    """Make an action a use case of its own: it runs inside :func:`unit_of_work`."""

    @wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with unit_of_work():
            return func(*args, **kwargs)

    return run


def on_commit(callback: Callable[[], Any]) -> None:
    """Run ``callback`` once the outermost unit of work has committed (dropped on rollback).

    Outside any unit of work it runs at once (nothing is pending).
    """
    if not in_unit_of_work():
        callback()
        return
    db.session.info.setdefault(_ON_COMMIT, []).append(callback)


@contextmanager
def attempt() -> Iterator[None]:
    """Scope one try of a write that may fail on a unique constraint and be retried.

    Directly under the outermost boundary a failed try rolls the whole transaction back (as a
    fresh transaction sees the competing rows best); nested deeper, only a savepoint is
    rolled back, so the outer use case's work survives the retry.
    """
    if depth() <= 1:
        try:
            yield
            db.session.flush()
        except BaseException:
            db.session.info.pop(_ON_COMMIT, None)
            db.session.rollback()
            raise
        return
    with db.session.begin_nested():
        yield
