"""Client-side pacing for CartRover's leaky bucket (cartrover-api.md §3, reliability R22).

CartRover allows a burst of 100 calls and leaks one every 0.6 s. :class:`LeakyBucket` models that
bucket locally as a GCRA ("virtual scheduling"): one number, the theoretical time at which the
bucket is empty again, so memory is constant however many calls go through. Each caller reserves
its slot under a lock and then sleeps outside it, so concurrent threads queue fairly and the sum of
their calls never exceeds the bucket. The server's ``X-CartRover-Api-Minute-Hits-Remaining`` header
can only make the local model *more* conservative (another process may share the key).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["LeakyBucket"]


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

    def level(self) -> float:
        """Calls currently counted in the bucket (fractional while it drains)."""
        with self._lock:
            return max(self._empty_at - self._monotonic(), 0.0) / self.refill_seconds

    def reserve(self, max_wait: float | None = None) -> float | None:
        """Reserve the next slot and return how long to wait for it (0.0: go now). Returns None,
        reserving nothing, when the wait would exceed ``max_wait`` seconds."""
        with self._lock:
            now = self._monotonic()
            empty_at = max(self._empty_at, now)
            # The call fits once the level has drained to limit - 1.
            wait = max(empty_at - (self._limit - 1) * self.refill_seconds - now, 0.0)
            if max_wait is not None and wait > max_wait:
                return None
            self._empty_at = empty_at + self.refill_seconds
            return wait

    def acquire(self, timeout: float | None = None) -> bool:
        """Block (through the injected sleep) until one call fits, and count it. With a
        ``timeout``, give up at once — counting nothing — if the wait would be longer."""
        wait = self.reserve(timeout)
        if wait is None:
            return False
        if wait > 0:
            self._sleep(wait)
        return True

    def observe_remaining(self, remaining: int | None) -> None:
        """Fold in the server's remaining-hits header: when it says fewer calls remain than the
        local model believes, the model takes the server's (lower) figure. None is ignored."""
        if remaining is None:
            return
        server_level = self.capacity - max(min(remaining, self.capacity), 0)
        with self._lock:
            now = self._monotonic()
            self._empty_at = max(self._empty_at, now + server_level * self.refill_seconds)

    def __repr__(self) -> str:
        return (
            f"LeakyBucket(capacity={self.capacity}, refill_seconds={self.refill_seconds}, "
            f"level={self.level():.1f})"
        )
