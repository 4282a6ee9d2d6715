"""Retrying within a deadline: a tenacity stop on an injected clock, for any layer (the CartRover
client's calls, the store's first write of an action)."""

from __future__ import annotations

from collections.abc import Callable

import tenacity
from tenacity.stop import stop_base

__all__ = ["StopAtDeadline"]


class StopAtDeadline(stop_base):
    """Stop when the next wait would end at or past ``deadline_at`` (a ``monotonic()`` time)."""

    def __init__(self, monotonic: Callable[[], float], deadline_at: float) -> None:
        self._monotonic, self._deadline_at = monotonic, deadline_at

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return self._monotonic() + retry_state.upcoming_sleep >= self._deadline_at
