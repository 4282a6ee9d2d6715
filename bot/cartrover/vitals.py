"""What the bot can tell about CartRover without asking it: the last reply its own calls got.

:class:`CartRoverPulse` is the client's leaky bucket (it paces every call exactly as
:class:`~bot.cartrover.pacing.LeakyBucket` does) that also remembers each call's end: when a
reply last came, the remaining calls its ``X-CartRover-Api-Minute-Hits-Remaining`` header
reported, and whether the newest call got no answer at all. The App Home shows it to approvers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.cartrover.pacing import LeakyBucket, Ticket

__all__ = ["CartRoverPulse", "Pulse"]


@dataclass(frozen=True)
class Pulse:
    """The newest call's end: ``answered_at`` is the last reply with a remaining-calls figure
    (``remaining``); ``silent`` says the newest call got no such reply (no answer, or one
    without the header)."""

    answered_at: datetime | None = None
    remaining: int | None = None
    silent: bool = False


class CartRoverPulse(LeakyBucket):
    """A leaky bucket that remembers the last reply (see the module docstring)."""

    def __init__(
        self,
        capacity: int = 100,
        refill_seconds: float = 0.6,
        *,
        now: Callable[[], datetime],
        headroom: int = 1,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            capacity, refill_seconds, headroom=headroom, monotonic=monotonic, sleep=sleep
        )
        self._now = now
        self._pulse = Pulse()
        self._pulse_lock = threading.Lock()

    def observe_remaining(self, remaining: int | None, ticket: Ticket) -> bool:
        newest = super().observe_remaining(remaining, ticket)
        if newest:  # an older call's answer is not news, for the Home as for the pacing
            with self._pulse_lock:
                if remaining is None:
                    old = self._pulse
                    self._pulse = Pulse(old.answered_at, old.remaining, silent=True)
                else:
                    self._pulse = Pulse(self._now(), remaining)
        return newest

    @property
    def pulse(self) -> Pulse:
        with self._pulse_lock:
            return self._pulse
