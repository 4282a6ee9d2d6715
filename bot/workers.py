"""The bounded pools that run CartRover work after Slack has been acknowledged, one per lane.

bolt's own listener pool only acks and hands work here, so a slow CartRover never delays an ack
(Slack wants it within 3 s, so it always comes first). Every job is wrapped: an exception is
logged once with a correlation id and handed to the job's ``on_error`` so the user hears about it.
A job runs in a copy of its submitter's context, so its log lines carry the same log context
(:mod:`bot.logcontext`: the Slack user, channel and event that asked for it).

**Lanes.** Decisions and cancels (Approve and Reject clicks, running an approved request, resuming
one) run on their own small pool; reads (``status``, ``stale``, checking orders for a ``hold``,
the digest) on the large one. Separate pools rather than one priority queue: a priority queue only
reorders work that is *waiting*, so with every thread busy on a slow listing an approved cancel
would still wait for one of those reads to finish; a pool of its own always has a thread for it
unless decisions themselves fill it. :meth:`Workers.load` reports each lane's queue depth.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot import metrics
from bot.logcontext import carried

__all__ = ["DECISION_WORKERS", "Lane", "LaneLoad", "Workers"]

log = logging.getLogger(__name__)

# Decisions are few and mostly quick; an approved bulk request holds its thread for the whole run,
# and CartRover's one rate limit would not let more runs at once go any faster.
DECISION_WORKERS = 4


class Lane(StrEnum):
    DECISIONS = "decisions"  # Approve/Reject clicks, running and resuming approved requests
    READS = "reads"  # status, stale, checking orders for a hold, the digest


@dataclass(frozen=True)
class LaneLoad:
    """One lane right now: jobs waiting for a thread, jobs running, and its thread count."""

    queued: int
    running: int
    threads: int


class _Pool:
    def __init__(self, threads: int, name: str) -> None:
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        self.threads = threads
        self.queued = 0
        self.running = 0
        self.in_flight: set[Future[Any]] = set()


class Workers:
    """``max_workers`` threads for reads, ``decision_workers`` for decisions and cancels."""

    def __init__(
        self,
        max_workers: int = 16,
        name: str = "cartrover-work",
        *,
        decision_workers: int = DECISION_WORKERS,
    ) -> None:
        self._pools = {
            Lane.READS: _Pool(max_workers, name),
            Lane.DECISIONS: _Pool(decision_workers, f"{name}-decisions"),
        }
        self._lock = threading.Lock()
        self._closed = False
        self.max_workers = max_workers
        metrics.WORK.watch(self)

    def submit(
        self,
        job: Callable[[], object],
        *,
        what: str,
        on_error: Callable[[str], None] | None = None,
        lane: Lane = Lane.READS,
    ) -> bool:
        """Run ``job`` on ``lane``; False (and nothing runs) once shutdown has begun."""
        pool = self._pools[lane]

        def run() -> None:
            self._count(pool, queued=-1, running=+1)
            try:
                job()
            except Exception:
                correlation = uuid.uuid4().hex[:8]
                log.exception(
                    "%s failed (correlation id %s)",
                    what,
                    correlation,
                    extra={"correlation_id": correlation},
                )
                if on_error is not None:
                    try:
                        on_error(correlation)
                    except Exception:
                        log.exception("telling the user about %s failed", correlation)
            finally:
                self._count(pool, running=-1)

        with self._lock:
            if self._closed:
                return False
            pool.queued += 1
            future = pool.executor.submit(carried(run))
            pool.in_flight.add(future)
        future.add_done_callback(lambda done: self._done(pool, done))
        return True

    def _count(self, pool: _Pool, *, queued: int = 0, running: int = 0) -> None:
        with self._lock:
            pool.queued += queued
            pool.running += running

    def _done(self, pool: _Pool, future: Future[Any]) -> None:
        with self._lock:
            pool.in_flight.discard(future)
            if future.cancelled():  # cancelled at shutdown before it started
                pool.queued -= 1

    def load(self) -> dict[Lane, LaneLoad]:
        """Each lane's queue depth, running jobs and threads."""
        with self._lock:
            return {
                lane: LaneLoad(pool.queued, pool.running, pool.threads)
                for lane, pool in self._pools.items()
            }

    @property
    def busy(self) -> int:
        """Jobs submitted and not finished, on every lane."""
        with self._lock:
            return sum(len(pool.in_flight) for pool in self._pools.values())

    @property
    def stopping(self) -> bool:
        """Shutdown has begun: jobs that can stop early (a hold's runner, between two orders)
        stop, and nothing new is taken."""
        return self._closed

    def stop_taking(self) -> None:
        """Take no new work from now on; :attr:`stopping` turns True."""
        with self._lock:
            self._closed = True

    def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the jobs submitted on every lane (queued ones still
        run); True if none is left."""
        with self._lock:
            pending = [future for pool in self._pools.values() for future in pool.in_flight]
        _, not_done = wait(pending, timeout=max(timeout, 0.0))
        return not not_done

    def shutdown(self, timeout: float = 20.0) -> bool:
        """Take no new work; wait up to ``timeout`` s for the jobs of every lane. True if all
        finished."""
        self.stop_taking()
        finished = self.drain(timeout)
        for pool in self._pools.values():
            pool.executor.shutdown(wait=False, cancel_futures=True)
        return finished
