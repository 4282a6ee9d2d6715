"""The in-process scheduler (APScheduler 3) and its jobs.

Effective settings are asserted by a test (R12): every job has an explicit time zone,
``misfire_grace_time`` of an hour, ``coalesce=True`` and ``max_instances=1``. The job store is in
memory and jobs are registered in code at every start; what must survive a restart lives in the
bot's own tables (hold requests, digest claims), never in the scheduler.

Digests: one cron job per subscription, in the subscription's own zone. Every
:data:`DIGEST_SYNC_SECONDS` (and once at start) :func:`sync_digest_jobs` reconciles those jobs with
the subscriptions in the database — so ``digest subscribe`` in one process reaches every process,
``clock`` included, without a restart — and runs the catch-up that posts a digest missed while
the bot was down. Whoever fires, the store's claim lets exactly one post per channel and local day
(:mod:`bot.digest.schedule`).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING, BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.deps import Deps
from bot.digest import schedule
from bot.digest.schedule import Building, Outcome
from bot.holds import flow
from bot.logcontext import log_context
from bot.store.records import DigestSubscription
from bot.times import WEEKDAYS, parse_hhmm, parse_zone

__all__ = [
    "DIGEST_SYNC_SECONDS",
    "JOB_DEFAULTS",
    "MAINTENANCE_SECONDS",
    "build_scheduler",
    "digest_trigger",
    "scheduler_state",
    "stop_scheduler",
    "sync_digest_jobs",
]

log = logging.getLogger(__name__)

JOB_DEFAULTS: dict[str, Any] = {"misfire_grace_time": 3600, "coalesce": True, "max_instances": 1}
MAINTENANCE_SECONDS = 60
DIGEST_SYNC_SECONDS = 60
DIGEST_JOB_PREFIX = "digest:"
# Per scheduler (so per process): the digests being built right now (see schedule.Building).
_BUILDING: weakref.WeakKeyDictionary[BaseScheduler, Building] = weakref.WeakKeyDictionary()


class RunningJobs:
    """How many of one scheduler's jobs are running, so that a stop can wait for them (within
    its time) before the clients they use are closed."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def __enter__(self) -> None:
        with self._changed:
            self._count += 1

    def __exit__(self, *exc: object) -> None:
        with self._changed:
            self._count -= 1
            self._changed.notify_all()

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s until none is running; True if none is."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count == 0, max(timeout, 0.0))


_RUNNING: weakref.WeakKeyDictionary[BaseScheduler, RunningJobs] = weakref.WeakKeyDictionary()


def guarded(
    name: str,
    body: Callable[[], object],
    running: RunningJobs | None = None,
    channel: str | None = None,
) -> Callable[[], None]:
    """Wrap a job so one failure is logged with its name and the next run still happens (and,
    with ``running``, so that it is counted while it runs); its log lines carry ``event``
    ``job:<name>`` (and a digest's channel)."""
    counted = running or RunningJobs()

    def run() -> None:
        with counted, log_context(event=f"job:{name}", slack_channel=channel):
            try:
                body()
            except Exception:
                log.exception("scheduled job %s failed", name)

    run.__name__ = run.__qualname__ = name  # APScheduler logs the qualified name
    return run


def build_scheduler(deps: Deps, *, blocking: bool = False) -> BaseScheduler:
    """A scheduler with every job attached (not started)."""
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler: BaseScheduler = cls(timezone=UTC, job_defaults=dict(JOB_DEFAULTS))
    running = _RUNNING.setdefault(scheduler, RunningJobs())
    scheduler.add_job(
        guarded("maintenance", lambda: flow.maintain(deps), running),
        "interval",
        seconds=MAINTENANCE_SECONDS,
        id="maintenance",
        replace_existing=True,
        timezone=UTC,
        next_run_time=datetime.now(UTC),  # at start: its heartbeat says a scheduler runs
        **JOB_DEFAULTS,  # explicit, so the values hold before start() too
    )
    schedule.subscribe_default(deps)
    scheduler.add_job(
        guarded("digest-sync", lambda: sync_digest_jobs(scheduler, deps), running),
        "interval",
        seconds=DIGEST_SYNC_SECONDS,
        id="digest-sync",
        replace_existing=True,
        timezone=UTC,
        next_run_time=datetime.now(UTC),  # at start: register the jobs and catch up
        **JOB_DEFAULTS,
    )
    return scheduler


def digest_trigger(
    subscription: DigestSubscription, days: frozenset[int] = frozenset(range(7))
) -> CronTrigger:
    """At the subscription's local time on ``days`` (``DIGEST_DAYS``; every day by default), in
    its explicit zone (ValueError if malformed)."""
    at = parse_hhmm(subscription.local_time)
    zone = parse_zone(subscription.timezone)
    if len(days) == 7:
        return CronTrigger(hour=at.hour, minute=at.minute, timezone=zone)
    weekdays = ",".join(WEEKDAYS[day] for day in sorted(days))
    return CronTrigger(day_of_week=weekdays, hour=at.hour, minute=at.minute, timezone=zone)


def _job_name(subscription: DigestSubscription) -> str:
    return f"digest {subscription.channel_id} {subscription.local_time} {subscription.timezone}"


def sync_digest_jobs(scheduler: BaseScheduler, deps: Deps) -> dict[str, Outcome]:
    """Make the digest jobs match the stored subscriptions; then catch up on due digests."""
    subscriptions = deps.digests.subscriptions()
    building = _BUILDING.setdefault(scheduler, Building())
    wanted: dict[str, tuple[DigestSubscription, CronTrigger]] = {}
    for subscription in subscriptions:
        try:
            trigger = digest_trigger(subscription, deps.settings.digest_weekdays)
        except ValueError as exc:
            log.error("digest subscription of %s is unusable: %s", subscription.channel_id, exc)
            continue
        wanted[DIGEST_JOB_PREFIX + subscription.channel_id] = (subscription, trigger)
    for job in scheduler.get_jobs():
        if job.id.startswith(DIGEST_JOB_PREFIX) and (
            job.id not in wanted or job.name != _job_name(wanted[job.id][0])
        ):
            job.remove()
    existing = {job.id for job in scheduler.get_jobs()}
    for job_id, (subscription, trigger) in wanted.items():
        if job_id not in existing:
            body = partial(schedule.digest_for, deps, subscription.channel_id, building)
            scheduler.add_job(
                guarded(job_id, body, _RUNNING.get(scheduler), subscription.channel_id),
                trigger,
                id=job_id,
                name=_job_name(subscription),
                replace_existing=True,
                **JOB_DEFAULTS,
            )
            log.info("scheduled %s", _job_name(subscription))
    return schedule.digest_catch_up(deps, [sub for sub, _ in wanted.values()], building)


def scheduler_state(scheduler: BaseScheduler | None) -> str:
    if scheduler is None:
        return "disabled"
    return {STATE_RUNNING: "running", STATE_PAUSED: "paused"}.get(scheduler.state, "stopped")


def stop_scheduler(scheduler: BaseScheduler | None, deadline: float) -> bool:
    """Start no more jobs; wait until ``deadline`` (``time.monotonic()``) for those running. True
    if none is left running."""
    if scheduler is None:
        return True
    if scheduler.running:
        scheduler.shutdown(wait=False)
    running = _RUNNING.get(scheduler)
    return running is None or running.wait(deadline - time.monotonic())
