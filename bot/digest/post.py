"""The one module that posts digests: a channel's message with a fresh snapshot behind its
"Request hold for all" button, and ``digest now``, which posts outside the daily claim."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot import metrics
from bot.deps import Deps
from bot.digest.messages import NOW_TITLE, digest_message, offered
from bot.digest.stale import StaleReport, build_report
from bot.settings import Settings
from bot.slack.blocks.message import Message
from bot.store.contracts import DigestStore, HoldStore
from bot.store.records import DigestPost, StoreError

__all__ = ["Composing", "compose", "post", "post_now"]

log = logging.getLogger(__name__)

metrics.start_at_zero(metrics.DIGESTS, [("now",)])


@dataclass(frozen=True)
class Composing:
    """What composing a digest needs, for ``cartrover-bot digest`` (which has no ``Deps``)."""

    settings: Settings
    holds: HoldStore
    digests: DigestStore


def compose(
    deps: Deps | Composing, report: StaleReport, channel_id: str, title: str, now: datetime
) -> Message:
    """The message for ``channel_id``, with a fresh snapshot behind its button of the orders
    not already in an open request."""
    waiting = deps.holds.open_requests()  # waiting for an approver, or being carried out
    chosen = offered(report, waiting)
    snapshot_id = None
    if chosen:
        created = {ref: report.hold_created[ref] for ref in chosen if ref in report.hold_created}
        snapshot_id = deps.digests.save_snapshot(channel_id, chosen, now, created)
    zone = deps.settings.zone
    return digest_message(report, title, snapshot_id, waiting=waiting, zone=zone, chosen=chosen)


def post(deps: Deps, report: StaleReport, channel_id: str, title: str, now: datetime) -> str:
    """Post the digest to ``channel_id``; its ts. Slack's refusals raise ``SlackFailed``. What it
    counted is kept as the channel's last digest (the App Home shows it)."""
    message = compose(deps, report, channel_id, title, now)
    ts = deps.poster.post(channel_id, message.text, message.blocks)
    counted = DigestPost(channel_id, now, ts, report.test_count, report.non_test_count)
    try:
        deps.digests.record_digest(counted)
    except StoreError as exc:  # the post stands: a failure here must not make it look failed
        log.warning("could not keep the counts of the digest in %s: %s", channel_id, exc)
    return ts


def post_now(deps: Deps, channel_id: str, report: StaleReport | None = None) -> str:
    """``digest now``: build (unless given) and post to ``channel_id``; no claim. Returns ts."""
    now = deps.clock.now()
    if report is None:
        report = build_report(deps.settings, deps.cartrover, now, marks=deps.digests)
    ts = post(deps, report, channel_id, NOW_TITLE, now)
    metrics.DIGESTS.labels("now").inc()
    return ts
