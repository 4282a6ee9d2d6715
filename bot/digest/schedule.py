"""When a channel's digest is due, the once-per-local-day claim, subscriptions, and the jobs the
scheduler runs (one per subscription, plus the catch-up).

Exactly one scheduled digest per channel and local date, however many processes fire (rules R9–R11
and R21 in ``docs/reliability.md``). The database decides, never process memory:

1. *Peek* at today's claim: ``posted`` → done; ``claimed`` → another process is posting, or a post
   ended in doubt → leave it; ``failed`` → retry once :data:`RETRY_FAILED_AFTER` has passed.
2. *Build* the report from CartRover (a CartRover failure claims nothing: the next sync retries).
3. *Claim* ``(channel, local date)`` under the store's UNIQUE constraint; only the winner posts.
4. *Post* through ``deps.poster`` (429s waited out there), then record the ``ts`` (``posted``).
   Slack refusing the post releases the claim (``failed``) for a retry. A connection lost
   mid-post may hide an accepted message, and ``chat.postMessage`` has no idempotency key, so the
   claim stays ``claimed`` and nothing re-posts that day: at most once beats a double post.

Claiming after building keeps the window in which a dying process can strand a claim down to the
Slack call itself. A digest missed while the bot was down is posted by the catch-up that every
scheduler runs at start and on each sync, if it is still the same local day; a subscription
made after today's time starts tomorrow.

``DIGEST_CHANNEL`` is subscribed at start-up from ``DIGEST_TIME`` and ``TIMEZONE``
(:func:`subscribe_default`). Configuration wins, unless a person changed that channel's
subscription in Slack since the configuration last changed: the store keeps who made the
subscription and the configuration last seen, so the later of the two changes applies. The
start-up log and ``cartrover-bot check`` say which one does (:mod:`bot.digest.default`).

With nothing stale, the scheduled digest still posts one short "nothing stale" line (plus the
non-test warning, if any): a silent channel would look the same as a broken bot. ``digest now``
and ``stale`` answer the same way. ``digest now`` and ``cartrover-bot digest`` are manual: they
post whenever asked and neither use nor block the day's scheduled digest.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot import metrics
from bot.cartrover.errors import CartRoverError
from bot.deps import Deps
from bot.digest.default import Change, DefaultDigest, default_digest, default_digest_text
from bot.digest.messages import DIGEST_TITLE
from bot.digest.post import post
from bot.digest.stale import StaleReport, build_report
from bot.slack.webapi import SetupProblem, SlackFailed
from bot.store.records import DigestSubscription
from bot.store.saving import saving
from bot.times import parse_hhmm, parse_zone

__all__ = [
    "RETRY_FAILED_AFTER",
    "Building",
    "Outcome",
    "digest_catch_up",
    "digest_for",
    "due_date",
    "next_run",
    "run_scheduled",
    "scheduled_instant",
    "subscribe",
    "subscribe_default",
]

log = logging.getLogger(__name__)

metrics.start_at_zero(metrics.DIGESTS, [("scheduled",)])

RETRY_FAILED_AFTER = timedelta(minutes=15)
EVERY_DAY = frozenset(range(7))
IN_DOUBT_ERRORS = frozenset({"connection_failed"})


class Outcome(StrEnum):
    POSTED = "posted"
    NOT_DUE = "not due"
    ALREADY_POSTED = "already posted"
    IN_PROGRESS = "claimed elsewhere or in doubt"
    WAITING_RETRY = "failed; waiting to retry"
    LOST_CLAIM = "another process claimed it"
    FAILED = "failed"
    IN_DOUBT = "in doubt; not re-posted"


# -------------------------------------------------------------------- when


def scheduled_instant(subscription: DigestSubscription, day: date) -> datetime:
    """When the digest of local ``day`` is due. A wall time skipped by DST maps to the offset
    before the change and a repeated one to its first occurrence, as APScheduler's cron does."""
    at = parse_hhmm(subscription.local_time)
    return datetime.combine(day, at, tzinfo=_zone(subscription))


def due_date(
    subscription: DigestSubscription, now: datetime, days: frozenset[int] = EVERY_DAY
) -> date | None:
    """The local date whose digest is due at ``now``: today once its time has come, on one of
    ``days`` (``DIGEST_DAYS``, weekday numbers), unless the subscription was made after that time
    (its first digest is then the next day's)."""
    day = now.astimezone(_zone(subscription)).date()
    at = scheduled_instant(subscription, day)
    if now < at or (subscription.created_at is not None and subscription.created_at > at):
        return None
    return day if day.weekday() in days else None


def next_run(
    subscription: DigestSubscription, now: datetime, days: frozenset[int] = EVERY_DAY
) -> datetime:
    """The next time this subscription's digest is due (for the confirmation message)."""
    day = now.astimezone(_zone(subscription)).date()
    for offset in range(9):
        when = day + timedelta(days=offset)
        at = scheduled_instant(subscription, when)
        created = subscription.created_at
        if at > now and (created is None or at >= created) and when.weekday() in days:
            return at
    return scheduled_instant(subscription, day + timedelta(days=9))


def _zone(subscription: DigestSubscription) -> ZoneInfo:
    return parse_zone(subscription.timezone)


# -------------------------------------------------------------------- the scheduled digest


def run_scheduled(deps: Deps, subscription: DigestSubscription) -> Outcome:
    """Post today's digest for one subscription if it is due and nobody has (see module doc)."""
    channel, now = subscription.channel_id, deps.clock.now()
    day = due_date(subscription, now, deps.settings.digest_weekdays)
    if day is None:
        return Outcome.NOT_DUE
    claim = deps.digests.digest_claim(channel, day)
    if claim is not None and claim.state == "posted":
        return Outcome.ALREADY_POSTED
    if claim is not None and claim.state == "claimed":
        return Outcome.IN_PROGRESS
    if claim is not None and now - claim.claimed_at < RETRY_FAILED_AFTER:
        return Outcome.WAITING_RETRY
    try:
        report = build_report(deps.settings, deps.cartrover, now, marks=deps.digests)
    except CartRoverError as exc:
        log.warning("digest for %s on %s: CartRover failed, will retry: %s", channel, day, exc)
        return Outcome.FAILED
    if not deps.digests.claim_digest(channel, day, now):
        return Outcome.LOST_CLAIM
    return _post_claimed(deps, channel, day, report)


def _post_claimed(deps: Deps, channel: str, day: date, report: StaleReport) -> Outcome:
    try:
        ts = post(deps, report, channel, DIGEST_TITLE, deps.clock.now())
    except SlackFailed as exc:
        if exc.error in IN_DOUBT_ERRORS:
            log.error(
                "digest for %s on %s: the connection to Slack failed mid-post; it may have been "
                "posted, so it is not posted again today",
                channel,
                day,
            )
            return Outcome.IN_DOUBT
        deps.digests.digest_failed(channel, day)
        advice = f" ({exc.advice})" if isinstance(exc, SetupProblem) else ""
        log.error("digest for %s on %s: Slack refused it: %s%s", channel, day, exc.error, advice)
        return Outcome.FAILED
    except Exception:
        deps.digests.digest_failed(channel, day)
        raise
    deps.digests.digest_posted(channel, day, ts)
    metrics.DIGESTS.labels("scheduled").inc()
    log.info("digest for %s on %s posted (%d stale)", channel, day, report.test_count)
    return Outcome.POSTED


# -------------------------------------------------------------------- subscriptions


def subscribe(
    deps: Deps,
    channel_id: str,
    *,
    user: str | None,
    local_time: str | None = None,
    timezone: str | None = None,
) -> DigestSubscription:
    """Create or replace the channel's subscription (defaults: DIGEST_TIME, TIMEZONE)."""
    subscription = DigestSubscription(
        channel_id=channel_id,
        local_time=local_time or deps.settings.digest_time,
        timezone=timezone or deps.settings.timezone,
        created_by=user,
        created_at=deps.clock.now(),
    )
    saving(lambda: deps.digests.subscribe(subscription), what="subscription")
    return subscription


def subscribe_default(deps: Deps) -> DefaultDigest | None:
    """Bring ``DIGEST_CHANNEL``'s subscription in line with :func:`default_digest` and log
    which applies."""
    channel = deps.settings.digest_channel
    if not channel:
        return None
    current = deps.digests.subscription(channel)
    decided = default_digest(deps.settings, current, deps.clock.now())
    if decided is None:
        return None
    if decided.change in (Change.SUBSCRIBED, Change.CHANGED):
        deps.digests.subscribe(decided.wanted)
    elif current is None or current.config_value != decided.config:
        deps.digests.saw_config(channel, decided.config)
    log.info("%s", default_digest_text(decided))
    return decided


# -------------------------------------------------------------------- the jobs


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
    subscription = deps.digests.subscription(channel_id)
    if subscription is None:
        return None
    return _digest_guarded(deps, subscription, building or Building())


def digest_catch_up(
    deps: Deps,
    subscriptions: Iterable[DigestSubscription] | None = None,
    building: Building | None = None,
) -> dict[str, Outcome]:
    """Post every digest due today that nobody has posted yet (at start and on every sync)."""
    chosen = deps.digests.subscriptions() if subscriptions is None else subscriptions
    building = building or Building()
    return {sub.channel_id: _digest_guarded(deps, sub, building) for sub in chosen}


def _digest_guarded(deps: Deps, subscription: DigestSubscription, building: Building) -> Outcome:
    """One channel's failure never stops the other channels' digests."""
    channel = subscription.channel_id
    if not building.start(channel):
        return Outcome.IN_PROGRESS
    try:
        return run_scheduled(deps, subscription)
    except Exception:
        log.exception("digest for %s failed", channel)
        return Outcome.FAILED
    finally:
        building.done(channel)
