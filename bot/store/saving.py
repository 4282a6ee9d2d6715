"""Saving what a person just asked for: the one write an action starts with (a decision, a new
request, a subscription), tried again for a moment when the database is only busy, and told
plainly when it still fails (reliability R63).

A lock held briefly, a connection dropped between two statements or a PostgreSQL serialization
failure is gone a moment later: the write is tried again, with short pauses, until
:data:`WRITE_RETRY_SECONDS` after the first try. A SQLite busy timeout already waited out, a full
disk or a server that refuses connections is not tried again: :class:`NotSaved` says at once
that nothing of the action was done, and the person is told so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import tenacity

from bot.retrying import StopAtDeadline
from bot.store.records import StoreError

__all__ = ["WRITE_RETRY_SECONDS", "NotSaved", "saving"]

log = logging.getLogger(__name__)

WRITE_RETRY_SECONDS = 2.0  # within Slack's 3 s, from the first try
_T = TypeVar("_T")


class NotSaved(StoreError):
    """The write an action starts with failed, so nothing of the action was done. ``what`` names
    the action: ``approval``, ``rejection``, ``withdrawal``, ``request``, ``subscription``."""

    def __init__(self, what: str, cause: StoreError) -> None:
        super().__init__(f"the {what} was not saved: {cause}", transient=cause.transient)
        self.what = what


def saving(
    write: Callable[[], _T],
    *,
    what: str,
    within: float = WRITE_RETRY_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> _T:
    """``write()``, tried again after a transient failure until ``within`` seconds after the
    first try; NotSaved when it still fails."""
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(lambda e: isinstance(e, StoreError) and e.transient),
        stop=StopAtDeadline(monotonic, monotonic() + within),
        wait=tenacity.wait_exponential(multiplier=0.05, max=0.5),
        sleep=sleep,
        reraise=True,
    )
    try:
        return retrying(write)
    except NotSaved:
        raise
    except StoreError as exc:
        log.warning("the %s was not saved: %s", what, exc)
        raise NotSaved(what, exc) from exc
