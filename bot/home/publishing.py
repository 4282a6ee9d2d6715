"""The one module that talks to Slack for the App Home: publish a user's Home when they open it,
and again for everyone who looked lately when a request it shows changes state.

**Fresh, in any order.** A Home is built from the store just before it is published. Two
publishes for one user can race (two processes, two changes); each names the ``hash`` of the
view last published (kept in ``home_views``), so Slack refuses a publish based on an older view
(``hash_conflict``), and the loser reads the store again and publishes what it finds then. The
last publish to land was therefore built from a read made after the one before it landed.

**Bounded.** A change re-publishes the Home of at most :data:`REFRESH_USERS` users, those who
opened it within :data:`RECENT`; everyone else gets a fresh one when they next open it. Within a
process, changes that arrive while a refresh is queued or running are folded into one more run,
and each person's Home is published at most once every few seconds, the latest state winning
(:mod:`bot.home.pacing`): :class:`Refresher` (the :class:`~bot.deps.HomeSignal` the composition
root puts in ``Deps``) keeps that state. Everything that publishes a Home goes through it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.deps import Deps
from bot.holds.approvers import refusal_to_approve
from bot.holds.flow import MAINTENANCE_BEAT
from bot.home.pacing import PublishPacer, run_later
from bot.home.view import Health, HomeFacts, home_view
from bot.slack.webapi import SlackFailed
from bot.store.records import DigestPost, DigestSubscription, HoldRequest, RequestState
from bot.times import days_words
from bot.workers import Lane

__all__ = [
    "MAINTENANCE_BEAT",
    "OWN_SHOWN",
    "RECENT",
    "REFRESH_USERS",
    "Refresher",
    "publish",
    "refresh",
]

log = logging.getLogger(__name__)

RECENT = timedelta(hours=24)  # who counts as looking at their Home
REFRESH_USERS = 25  # Homes re-published per change at most (views.publish is Tier 4)
OWN_SHOWN = 8  # a user's own recent requests
PUBLISH_ATTEMPTS = 3


@dataclass(frozen=True)
class _Shared:
    """What every Home shows alike, read once per refresh."""

    open_requests: list[HoldRequest]
    subscriptions: list[DigestSubscription]
    last_digests: dict[str, DigestPost]
    health: Health


def _shared(deps: Deps) -> _Shared:
    open_requests = deps.holds.open_requests()
    pulse = deps.pulse.pulse if deps.pulse is not None else None
    health = Health(
        cartrover_answered_at=pulse.answered_at if pulse else None,
        hits_remaining=pulse.remaining if pulse else None,
        cartrover_silent=pulse.silent if pulse else False,
        scheduler_ran_at=deps.surfaces.heartbeat(MAINTENANCE_BEAT),
    )
    digests = deps.digests
    return _Shared(open_requests, digests.subscriptions(), digests.last_digests(), health)


def _facts(deps: Deps, user_id: str, shared: _Shared, notice: str) -> HomeFacts:
    """One user's Home: approvers see every open request, anyone else only their own."""
    approver = deps.approvers.is_approver(user_id)
    visible = [r for r in shared.open_requests if approver or r.requester == user_id]
    may_decide = [
        request.id
        for request in visible
        if approver
        and request.state is RequestState.PENDING
        and refusal_to_approve(deps.approvers, user_id, request.requester) is None
    ]
    return HomeFacts(
        user_id=user_id,
        now=deps.clock.now(),
        open_requests=visible,
        own_requests=deps.holds.requests_by(user_id, OWN_SHOWN),
        subscriptions=shared.subscriptions,
        last_digests=shared.last_digests,
        approver=approver,
        may_decide=may_decide,
        health=shared.health if approver else None,
        notice=notice,
        digest_days=days_words(deps.settings.digest_weekdays),
        shadow_mode=deps.settings.shadow_mode,
    )


def publish(deps: Deps, user_id: str, *, notice: str = "", shared: _Shared | None = None) -> bool:
    """Publish ``user_id``'s Home, built from the store now (``notice``: mrkdwn, escaped, shown
    at the top). True once Slack took it; a refusal is logged and left for the next change."""
    for attempt in range(PUBLISH_ATTEMPTS):
        known = deps.surfaces.home_view(user_id)
        last = attempt == PUBLISH_ATTEMPTS - 1
        view_hash = None if last or known is None else known.view_hash
        view = home_view(_facts(deps, user_id, shared or _shared(deps), notice))
        try:
            published = deps.poster.publish_view(user_id, view, view_hash)
        except SlackFailed as exc:
            if exc.error == "hash_conflict":
                shared = None  # another publish landed: read everything again
                continue
            log.warning("could not publish the App Home of %s: %s", user_id, exc.error)
            return False
        deps.surfaces.home_published(
            user_id, published.view_id, published.view_hash, deps.clock.now()
        )
        return True
    return False  # pragma: no cover - the last attempt names no hash, so it cannot conflict


def refresh(deps: Deps) -> int:
    """Re-publish (through ``deps.home``, so paced per person) the Home of everyone who opened
    it lately (bounded); how many were asked for."""
    viewers = deps.surfaces.home_viewers(deps.clock.now() - RECENT, REFRESH_USERS)
    if not viewers:
        return 0
    shared = _shared(deps)
    for user_id in viewers:
        deps.home.show(deps, user_id, shared=shared)
    return len(viewers)


class Refresher:
    """One process's App Home publishing: whether a refresh is queued or running, whether a
    change came meanwhile, and each person's pace (see the module docstring)."""

    def __init__(self, pacer: PublishPacer | None = None) -> None:
        self._lock = threading.Lock()
        self._queued = False
        self._again = False
        self.pacer = pacer or PublishPacer()

    def show(self, deps: Deps, user_id: str, *, notice: str = "", shared: object = None) -> None:
        """Publish ``user_id``'s Home now, or — if it was published moments ago or is being
        published — once more in a few seconds, built from the store then, with the latest
        ``notice``. ``shared``: what every Home shows alike, if just read."""
        common = [shared if isinstance(shared, _Shared) else None]

        def now(latest_notice: str) -> None:
            publish(deps, user_id, notice=latest_notice, shared=common[0])

        def later(seconds: float, run: Callable[[], None]) -> None:
            common[0] = None  # published later: everything is read again then

            def queue() -> None:
                deps.workers.submit(run, what="publish an App Home", lane=Lane.READS)

            run_later(seconds, queue)

        self.pacer.request(user_id, now, notice=notice, later=later)

    def changed(self, deps: Deps) -> None:
        """A request changed state: refresh the Homes that may show it, on the reads lane,
        folding changes that arrive meanwhile into one more run."""
        with self._lock:
            if self._queued:
                self._again = True
                return
            self._queued = True
        if not deps.workers.submit(
            lambda: self._run(deps), what="refresh App Homes", lane=Lane.READS
        ):
            with self._lock:
                self._queued = False

    def _run(self, deps: Deps) -> None:
        while True:
            with self._lock:
                self._again = False
            try:
                refresh(deps)
            except Exception:
                log.exception("refreshing the App Homes failed; the next change tries again")
            with self._lock:
                if not self._again:
                    self._queued = False
                    return
