"""Scheduled bodies, free of APScheduler: each takes ``Deps`` and never raises (it logs)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from bot.deps import Deps
from bot.digest import schedule
from bot.digest.schedule import Outcome
from bot.holds import announce
from bot.store.base import DigestSubscription

__all__ = ["Building", "digest_catch_up", "digest_for", "guarded", "maintenance"]

log = logging.getLogger(__name__)


def guarded(name: str, body: Callable[[], object]) -> Callable[[], None]:
    """Wrap a job so one failure is logged with its name and the next run still happens."""

    def run() -> None:
        try:
            body()
        except Exception:
            log.exception("scheduled job %s failed", name)

    run.__name__ = run.__qualname__ = name  # APScheduler logs the qualified name
    return run


def maintenance(deps: Deps) -> None:
    """Expire overdue hold requests, re-render every card that lags its stored state, and finish
    approved requests that a stopped process left."""
    announce.sweep(deps)
    announce.resume_unfinished(deps)


class Building:
    """The channels whose digest this process is building right now. A channel's cron job and
    the sync's catch-up can fire together; the second one skips instead of listing CartRover
    again. Only an economy: the store's claim is what guarantees one post."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._channels: set[str] = set()

    def start(self, channel_id: str) -> bool:
        with self._lock:
            if channel_id in self._channels:
                return False
            self._channels.add(channel_id)
            return True

    def done(self, channel_id: str) -> None:
        with self._lock:
            self._channels.discard(channel_id)


def digest_for(deps: Deps, channel_id: str, building: Building | None = None) -> Outcome | None:
    """One subscription's daily job. The subscription is re-read, so an unsubscribed channel gets
    nothing even before the scheduler's next sync removes the job."""
    subscription = deps.store.subscription(channel_id)
    if subscription is None:
        return None
    return _digest_guarded(deps, subscription, building or Building())


def digest_catch_up(
    deps: Deps,
    subscriptions: Iterable[DigestSubscription] | None = None,
    building: Building | None = None,
) -> dict[str, Outcome]:
    """Post every digest due today that nobody has posted yet (at start and on every sync)."""
    chosen = deps.store.subscriptions() if subscriptions is None else subscriptions
    building = building or Building()
    return {sub.channel_id: _digest_guarded(deps, sub, building) for sub in chosen}


def _digest_guarded(deps: Deps, subscription: DigestSubscription, building: Building) -> Outcome:
    """One channel's failure never stops the other channels' digests."""
    channel = subscription.channel_id
    if not building.start(channel):
        return Outcome.IN_PROGRESS
    try:
        return schedule.run_scheduled(deps, subscription)
    except Exception:
        log.exception("digest for %s failed", channel)
        return Outcome.FAILED
    finally:
        building.done(channel)
