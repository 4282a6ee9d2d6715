"""Taking over approved holds that no live runner holds, as every runner (``serve``, ``socket``,
``clock``) does, with or without a scheduler: at start-up, and again whenever the next lease held
by another process lapses (its process may have died); and giving this process's leases up when
it stops cleanly, so the next process takes its requests over at once (``docs/states.md``)."""

from __future__ import annotations

import logging
import threading

from bot.deps import Deps
from bot.holds import flow
from bot.logcontext import log_context
from bot.store.records import StoreError
from bot.words import plural
from bot.workers import Lane

__all__ = ["Takeover"]

log = logging.getLogger(__name__)

MAX_WAIT = 300.0  # seconds: look again at least this often, whatever the leases say


class Takeover:
    def __init__(self, deps: Deps, *, max_wait: float = MAX_WAIT) -> None:
        self.deps = deps
        self.max_wait = max_wait
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def start(self) -> None:
        """Resume, on the decisions lane, what no live runner holds (never resending a cancel);
        then wait for the next lapse."""
        if not self._stopping.is_set():
            self.deps.workers.submit(
                self._resume, what="resume unfinished holds", lane=Lane.DECISIONS
            )

    def _resume(self) -> None:
        lapses = None
        try:
            with log_context(event="takeover"):
                flow.resume_unfinished(self.deps)
                lapses = flow.next_resume_at(self.deps)
        finally:  # look again at the next lapse, and at least every MAX_WAIT whatever happened
            wait = self.max_wait
            if lapses is not None:
                until = (lapses - self.deps.clock.now()).total_seconds()
                wait = min(max(until, 1.0), self.max_wait)
            with self._lock:
                if not self._stopping.is_set():
                    self._timer = threading.Timer(wait, self.start)
                    self._timer.daemon = True
                    self._timer.start()

    def halt(self) -> None:
        """Take nothing over any more (before the workers drain)."""
        with self._lock:
            self._stopping.set()
            if self._timer is not None:
                self._timer.cancel()

    def release(self) -> int:
        """Give up this process's leases (after the workers drained): the requests it was
        running are the next process's at once. How many were released; 0 when the database
        cannot be reached (the leases then lapse instead)."""
        try:
            released = self.deps.holds.release_leases(self.deps.runner)
        except StoreError:
            log.exception("could not release this process's hold leases; they lapse instead")
            return 0
        if released:
            log.info("released %s for the next process to resume", plural(released, "hold request"))
        return released
