"""Client-side pacing for CartRover's leaky bucket (100 calls, one more every 0.6 s).

The server's ``X-CartRover-Api-Minute-Hits-Remaining`` header is the truth; :class:`LeakyBucket`
only interpolates between replies. It is a GCRA ("virtual scheduling"): one number, the time at
which the bucket would be empty again, so memory is constant however many calls go through.

- A call takes its place in the bucket at the moment it is sent, checked against the clock at
  that moment: a thread that waited and woke late (a busy machine) re-checks instead of going
  anyway, so calls that wake together can never burst past what the bucket holds.
- Each reply's header resets the model to the server's figure, in either direction: fewer calls
  left than believed (another process shares the key) slows down at once, more left than believed
  (the server refills faster than documented) is spent at once. Calls the figure may not include
  are counted on top: every other call still in flight, and every call that was in flight when
  this one left (the server may have taken it after this one, even if its answer came first).
  Counting one it did include only errs on the safe side. An answer to an older call than one
  already applied is ignored.
- Between replies, and for replies without the header, the documented refill rate is assumed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["LeakyBucket", "Ticket"]

Ticket = int  # the sequence number of one call, from 1, in the order they were sent


class LeakyBucket:
    """A thread-safe leaky bucket: ``acquire()`` blocks until one more call fits.

    ``headroom`` calls of the server's ``capacity`` are never used in a burst: they absorb the
    jitter between the moment a call leaves here and the moment the server counts it.
    """

    def __init__(
        self,
        capacity: int = 100,
        refill_seconds: float = 0.6,
        *,
        headroom: int = 1,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        if refill_seconds <= 0:
            raise ValueError("refill_seconds must be positive")
        if not 0 <= headroom < capacity:
            raise ValueError("headroom must be between 0 and capacity - 1")
        self.capacity = capacity
        self.refill_seconds = refill_seconds
        self._limit = capacity - headroom
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self._empty_at = monotonic()  # when the bucket will have drained completely
        self._issued: Ticket = 0  # tickets handed out so far
        self._in_flight: set[Ticket] = set()  # calls sent whose reply has not been seen
        self._alongside: dict[Ticket, frozenset[Ticket]] = {}  # in flight when each call left
        self._observed: Ticket = 0  # the newest ticket whose reply set the model

    def level(self) -> float:
        """Calls currently counted in the bucket (fractional while it drains)."""
        with self._lock:
            return max(self._empty_at - self._monotonic(), 0.0) / self.refill_seconds

    def try_take(self) -> tuple[Ticket | None, float]:
        """Take a place now if one is free: ``(ticket, 0.0)``; else ``(None, seconds until the
        next place frees up)``, taking nothing."""
        with self._lock:
            now = self._monotonic()
            empty_at = max(self._empty_at, now)
            # The call fits once the level has drained to limit - 1.
            wait = empty_at - (self._limit - 1) * self.refill_seconds - now
            if wait > 0:
                return None, wait
            self._empty_at = empty_at + self.refill_seconds
            self._issued += 1
            self._alongside[self._issued] = frozenset(self._in_flight)
            self._in_flight.add(self._issued)
            return self._issued, 0.0

    def acquire(self, timeout: float | None = None) -> Ticket | None:
        """Block (through the injected sleep) until one call fits and return its ticket. With a
        ``timeout``, give up at once — taking nothing — if the wait would be longer."""
        started = self._monotonic()
        while True:
            ticket, wait = self.try_take()
            if ticket is not None:
                return ticket
            if timeout is not None and self._monotonic() + wait > started + timeout:
                return None
            self._sleep(wait)

    def observe_remaining(self, remaining: int | None, ticket: Ticket) -> bool:
        """The call holding ``ticket`` is over (call this exactly once per ticket); take the
        server's remaining-hits figure from its reply as the truth. Without one (no header, or
        no reply at all: None) the model is left as it is. False when the call is older than
        one whose answer was already applied (so its answer says nothing new)."""
        with self._lock:
            self._in_flight.discard(ticket)
            alongside = self._alongside.pop(ticket, frozenset())
            if ticket < self._observed:
                return False
            if remaining is None:
                return True
            self._observed = ticket
            unseen = len(self._in_flight | alongside)
            level = self.capacity - max(min(remaining, self.capacity), 0) + unseen
            self._empty_at = self._monotonic() + level * self.refill_seconds
            return True

    def __repr__(self) -> str:
        return (
            f"LeakyBucket(capacity={self.capacity}, refill_seconds={self.refill_seconds}, "
            f"level={self.level():.1f})"
        )
