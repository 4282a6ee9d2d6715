"""A channel's digest: build it, post it, subscriptions, and the once-per-local-day claim.

Exactly one scheduled digest per channel and local date, however many processes fire (R9–R11,
R21). The database decides, never process memory:

1. *Peek* at today's claim: ``posted`` → done; ``claimed`` → another process is posting, or a post
   ended in doubt → leave it; ``failed`` → retry once :data:`RETRY_FAILED_AFTER` has passed.
2. *Build* the report from CartRover (a CartRover failure claims nothing: the next sync retries).
3. *Claim* ``(channel, local date)`` under the store's UNIQUE constraint; only the winner posts.
4. *Post* through ``deps.poster`` (429s waited out there), then record the ``ts`` (``posted``).
   Slack refusing the post releases the claim (``failed``) for a retry (R10). A connection lost
   mid-post may hide an accepted message, and ``chat.postMessage`` has no idempotency key, so the
   claim stays ``claimed`` and nothing re-posts that day: at most once beats a double post (R21).

Claiming after building keeps the window in which a dying process can strand a claim down to the
Slack call itself. A digest missed while the bot was down is posted by the catch-up that every
scheduler runs at start and on each sync, if it is still the same local day (R11); a subscription
made after today's time starts tomorrow.

With nothing stale, the scheduled digest still posts one short "nothing stale" line (plus the
non-test warning, if any): a silent channel would look the same as a broken bot. ``digest now``
and ``stale`` answer the same way. ``digest now`` and ``cartrover-bot digest`` are manual: they
post whenever asked and neither use nor block the day's scheduled digest.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.blocks.message import Message
from bot.cartrover.errors import CartRoverError
from bot.deps import Deps
from bot.digest.messages import digest_message
from bot.digest.stale import Listing, StaleReport, TestRule, scan
from bot.settings import Settings, parse_hhmm, parse_zone
from bot.slackio import SetupProblem, SlackFailed
from bot.store.base import DigestSubscription, Store

__all__ = [
    "DIGEST_TITLE",
    "RETRY_FAILED_AFTER",
    "STALE_TITLE",
    "Outcome",
    "build_report",
    "compose",
    "due_date",
    "next_run",
    "post_now",
    "render",
    "run_scheduled",
    "scheduled_instant",
    "subscribe",
    "subscribe_default",
]

log = logging.getLogger(__name__)

DIGEST_TITLE = "Daily digest"
NOW_TITLE = "Digest"
STALE_TITLE = "Stale test orders"
RETRY_FAILED_AFTER = timedelta(minutes=15)
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


# -------------------------------------------------------------------- building and posting


def build_report(
    settings: Settings,
    cartrover: Listing,
    now: datetime,
    *,
    hours: float | None = None,
    count_non_test: bool = True,
) -> StaleReport:
    """One listing of stale New orders, classified (CartRover errors propagate)."""
    rule = TestRule.from_settings(settings)
    age = hours if hours is not None else settings.stale_after_hours
    return scan(cartrover, rule, now, age, count_non_test=count_non_test)


def render(deps: Deps, report: StaleReport, channel_id: str, title: str) -> Message:
    """The message for ``channel_id``, with a fresh snapshot behind its button."""
    return compose(deps.store, report, channel_id, title, deps.clock.now())


def compose(
    store: Store, report: StaleReport, channel_id: str, title: str, now: datetime
) -> Message:
    """:func:`render` for callers without ``Deps`` (the ``digest`` command line)."""
    snapshot_id = None
    if report.hold_refs:
        snapshot_id = store.save_snapshot(channel_id, report.hold_refs, now, report.hold_created)
    return digest_message(report, title, snapshot_id)


def post_now(deps: Deps, channel_id: str, report: StaleReport | None = None) -> str:
    """``digest now``: build (unless given) and post to ``channel_id``; no claim. Returns ts."""
    if report is None:
        report = build_report(deps.settings, deps.cartrover, deps.clock.now())
    message = render(deps, report, channel_id, NOW_TITLE)
    return deps.poster.post(channel_id, message.text, message.blocks)


# -------------------------------------------------------------------- when


def scheduled_instant(subscription: DigestSubscription, day: date) -> datetime:
    """When the digest of local ``day`` is due. A wall time skipped by DST maps to the offset
    before the change and a repeated one to its first occurrence, as APScheduler's cron does."""
    at = parse_hhmm(subscription.local_time)
    return datetime.combine(day, at, tzinfo=_zone(subscription))


def due_date(subscription: DigestSubscription, now: datetime) -> date | None:
    """The local date whose digest is due at ``now``: today once its time has come, unless the
    subscription was made after that time (its first digest is then tomorrow's)."""
    day = now.astimezone(_zone(subscription)).date()
    at = scheduled_instant(subscription, day)
    if now < at or (subscription.created_at is not None and subscription.created_at > at):
        return None
    return day


def next_run(subscription: DigestSubscription, now: datetime) -> datetime:
    """The next time this subscription's digest is due (for the confirmation message)."""
    day = now.astimezone(_zone(subscription)).date()
    for offset in range(3):
        at = scheduled_instant(subscription, day + timedelta(days=offset))
        created = subscription.created_at
        if at > now and (created is None or at >= created):
            return at
    return scheduled_instant(subscription, day + timedelta(days=3))


def _zone(subscription: DigestSubscription) -> ZoneInfo:
    return parse_zone(subscription.timezone)


# -------------------------------------------------------------------- the scheduled digest


def run_scheduled(deps: Deps, subscription: DigestSubscription) -> Outcome:
    """Post today's digest for one subscription if it is due and nobody has (see module doc)."""
    channel, now = subscription.channel_id, deps.clock.now()
    day = due_date(subscription, now)
    if day is None:
        return Outcome.NOT_DUE
    claim = deps.store.digest_claim(channel, day)
    if claim is not None and claim.state == "posted":
        return Outcome.ALREADY_POSTED
    if claim is not None and claim.state == "claimed":
        return Outcome.IN_PROGRESS
    if claim is not None and now - claim.claimed_at < RETRY_FAILED_AFTER:
        return Outcome.WAITING_RETRY
    try:
        report = build_report(deps.settings, deps.cartrover, now)
    except CartRoverError as exc:
        log.warning("digest for %s on %s: CartRover failed, will retry: %s", channel, day, exc)
        return Outcome.FAILED
    if not deps.store.claim_digest(channel, day, now):
        return Outcome.LOST_CLAIM
    return _post_claimed(deps, channel, day, report)


def _post_claimed(deps: Deps, channel: str, day: date, report: StaleReport) -> Outcome:
    try:
        message = render(deps, report, channel, DIGEST_TITLE)
        ts = deps.poster.post(channel, message.text, message.blocks)
    except SlackFailed as exc:
        if exc.error in IN_DOUBT_ERRORS:
            log.error(
                "digest for %s on %s: the connection to Slack failed mid-post; it may have been "
                "posted, so it is not posted again today",
                channel,
                day,
            )
            return Outcome.IN_DOUBT
        deps.store.digest_failed(channel, day)
        advice = f" ({exc.advice})" if isinstance(exc, SetupProblem) else ""
        log.error("digest for %s on %s: Slack refused it: %s%s", channel, day, exc.error, advice)
        return Outcome.FAILED
    except Exception:
        deps.store.digest_failed(channel, day)
        raise
    deps.store.digest_posted(channel, day, ts)
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
    deps.store.subscribe(subscription)
    return subscription


def subscribe_default(deps: Deps) -> bool:
    """Subscribe ``DIGEST_CHANNEL`` unless it already has a subscription; True if it was added."""
    channel = deps.settings.digest_channel
    if not channel or deps.store.subscription(channel) is not None:
        return False
    subscribe(deps, channel, user=None)
    log.info("DIGEST_CHANNEL %s subscribed to the daily digest", channel)
    return True
