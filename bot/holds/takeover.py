"""Taking over approved holds that no live runner holds, as every process that can run holds
(``serve``, ``socket``, ``clock``) does, with or without a scheduler; and handing this process's
holds over when it stops cleanly (``docs/states.md``, reliability R59–R61).

**Looking.** A watcher thread looks every :data:`LOOK_EVERY` seconds (one indexed query; R59 asks
for at least once a minute, whatever the leases say), and at once when nudged through
``deps.lookout``: after an approval in this process, after a runner here gave its lease up. Each
request it finds (its lease released by a peer that stopped, or lapsed because the peer died) is
handed to a runner of its own on the decisions lane, which takes the lease in one conditional
statement: of all the processes that noticed, one runs it.

**Handing over** (:meth:`Takeover.hand_over`, first thing on SIGTERM): take nothing over any
more, and tell the runners to stop (``deps.workers.stopping``). No new cancel leaves: a runner
between two orders stops at once, one waiting for a cancel's answer records it first; each then
gives its lease up (:func:`bot.holds.flow.run_approved`), so a running peer's next look takes the
request over and re-reads — never resends — the order whose cancel was in flight, with that
cancel's answer already in. The caller lets the jobs in flight finish within the stop's time,
then releases whatever lease is left (:meth:`Takeover.release`: a runner still stuck in a call),
and only then closes the CartRover client and the store.
"""

from __future__ import annotations

import logging
import threading
from functools import partial

from bot.deps import Deps
from bot.holds import flow
from bot.logcontext import log_context
from bot.store.records import StoreError
from bot.words import plural
from bot.workers import Lane

__all__ = ["LOOK_EVERY", "Takeover"]

log = logging.getLogger(__name__)

LOOK_EVERY = 2.0  # seconds between two looks for approved holds nobody runs


class Takeover:
    def __init__(self, deps: Deps, *, look_every: float | None = None) -> None:
        self.deps = deps
        self.look_every = LOOK_EVERY if look_every is None else look_every
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._running: set[int] = set()  # requests handed to a runner here, not finished yet
        self._thread: threading.Thread | None = None
        self._failing = False

    def start(self) -> None:
        """Look now, and then every :attr:`look_every` seconds (or when nudged) until stopped."""
        with self._lock:
            if self._stopping.is_set() or self._thread is not None:
                return
            self._thread = threading.Thread(target=self._watch, name="hold-takeover", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while not self._stopping.is_set():
            self.look()
            self.deps.lookout.wait(self.look_every)

    def look(self) -> list[int]:
        """Hand every approved request nobody runs to a runner on the decisions lane (never one
        already handed over here); the ids handed over."""
        try:
            found = self.deps.holds.resumable(self.deps.clock.now())
        except StoreError as exc:
            if not self._failing:  # once per outage, not every look
                log.warning("cannot look for approved holds nobody runs: %s", exc)
            self._failing = True
            return []
        self._failing = False
        handed = []
        for request in found:
            with self._lock:
                if self._stopping.is_set() or request.id in self._running:
                    continue
                self._running.add(request.id)
            job = partial(self._run, request.id)
            if self.deps.workers.submit(job, what="take over a hold", lane=Lane.DECISIONS):
                handed.append(request.id)
            else:
                self._done(request.id)
        return handed

    def _run(self, request_id: int) -> None:
        try:
            with log_context(event="takeover"):
                running = not self._stopping.is_set()
                if running and flow.run_approved(self.deps, request_id) is not None:
                    log.info("took over hold #%s", request_id)
        finally:
            self._done(request_id)

    def _done(self, request_id: int) -> None:
        with self._lock:
            self._running.discard(request_id)

    def halt(self) -> None:
        """Take nothing over any more."""
        with self._lock:
            self._stopping.set()
        self.deps.lookout.nudge()  # the watcher wakes and ends

    def release(self, within: float | None = None) -> int:
        """Give up every lease this process's runners still hold on requests still executing
        (the last step of a clean stop: runners that stopped in time gave theirs up already):
        they are a running peer's at its next look. How many were released; 0 when the database
        cannot be reached, or does not answer ``within`` seconds (the leases then lapse)."""
        outcome: list[int | StoreError] = []

        def release() -> None:
            try:
                outcome.append(self.deps.holds.release_leases(self.deps.runner))
            except StoreError as exc:
                outcome.append(exc)

        if within is None:
            release()
        else:  # a database that does not answer must not keep a stopping process alive
            thread = threading.Thread(target=release, name="release-leases", daemon=True)
            thread.start()
            thread.join(max(within, 0.5))
        released = outcome[0] if outcome else StoreError(f"no answer within {within:g} s")
        if isinstance(released, StoreError):
            log.warning("could not release this process's hold leases (%s); they lapse", released)
            return 0
        if released:
            log.info(
                "released %s more for a running peer to take over", plural(released, "hold request")
            )
        return released

    def hand_over(self) -> None:
        """The first thing on SIGTERM: nothing new is taken over, taken on or sent; each runner
        stops at its next step and gives its lease up."""
        self.halt()
        self.deps.workers.stop_taking()
