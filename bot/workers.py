"""The bounded pool that runs CartRover work after Slack has been acknowledged.

bolt's own listener pool only acks and hands work here, so a slow CartRover never delays an ack
(interface: ack first, always). Every job is wrapped: an exception is logged once with a
correlation id and handed to the job's ``on_error`` so the user hears about it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

__all__ = ["Workers"]

log = logging.getLogger(__name__)


class Workers:
    def __init__(self, max_workers: int = 16, name: str = "cartrover-work") -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._in_flight: set[Future[Any]] = set()
        self._closed = False
        self.max_workers = max_workers

    def submit(
        self,
        job: Callable[[], object],
        *,
        what: str,
        on_error: Callable[[str], None] | None = None,
    ) -> bool:
        """Run ``job`` on the pool; False (and nothing runs) once shutdown has begun."""

        def run() -> None:
            try:
                job()
            except Exception:
                correlation = uuid.uuid4().hex[:8]
                log.exception("%s failed (correlation id %s)", what, correlation)
                if on_error is not None:
                    try:
                        on_error(correlation)
                    except Exception:
                        log.exception("telling the user about %s failed", correlation)

        with self._lock:
            if self._closed:
                return False
            future = self._pool.submit(run)
            self._in_flight.add(future)
        future.add_done_callback(self._done)
        return True

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._in_flight.discard(future)

    @property
    def busy(self) -> int:
        with self._lock:
            return len(self._in_flight)

    def shutdown(self, timeout: float = 20.0) -> bool:
        """Take no new work; wait up to ``timeout`` s for jobs in flight. True if all finished."""
        with self._lock:
            self._closed = True
            pending = list(self._in_flight)
        _, not_done = wait(pending, timeout=timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        return not not_done
