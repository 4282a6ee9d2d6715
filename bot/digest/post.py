"""The one module that posts digests: a channel's message with a fresh snapshot behind its
"Request hold for all" button, and ``digest now``, which posts outside the daily claim."""

from __future__ import annotations

import logging
from datetime import datetime

from bot import metrics
from bot.deps import Deps
from bot.digest.messages import NOW_TITLE, digest_message
from bot.digest.stale import StaleReport, build_report
from bot.slack.blocks.message import Message
from bot.slack.webapi import Poster
from bot.store.contracts import DigestStore
from bot.store.records import DigestPost, StoreError

__all__ = ["compose", "post", "post_now"]

log = logging.getLogger(__name__)


def compose(
    store: DigestStore, report: StaleReport, channel_id: str, title: str, now: datetime
) -> Message:
    """The message for ``channel_id``, with a fresh snapshot of its orders behind the button."""
    snapshot_id = None
    if report.hold_refs:
        snapshot_id = store.save_snapshot(channel_id, report.hold_refs, now, report.hold_created)
    return digest_message(report, title, snapshot_id)


def post(
    poster: Poster,
    store: DigestStore,
    report: StaleReport,
    channel_id: str,
    title: str,
    now: datetime,
) -> str:
    """Post the digest to ``channel_id``; its ts. Slack's refusals raise ``SlackFailed``. What it
    counted is kept as the channel's last digest (the App Home shows it)."""
    message = compose(store, report, channel_id, title, now)
    ts = poster.post(channel_id, message.text, message.blocks)
    counted = DigestPost(channel_id, now, ts, report.test_count, report.non_test_count)
    try:
        store.record_digest(counted)
    except StoreError as exc:  # the post stands: a failure here must not make it look failed
        log.warning("could not keep the counts of the digest in %s: %s", channel_id, exc)
    return ts


def post_now(deps: Deps, channel_id: str, report: StaleReport | None = None) -> str:
    """``digest now``: build (unless given) and post to ``channel_id``; no claim. Returns ts."""
    now = deps.clock.now()
    if report is None:
        report = build_report(deps.settings, deps.cartrover, now, marks=deps.digests)
    ts = post(deps.poster, deps.digests, report, channel_id, NOW_TITLE, now)
    metrics.DIGESTS.labels("now").inc()
    return ts
