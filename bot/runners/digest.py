"""``cartrover-bot digest [--channel C] [--dry-run]``: build the digest once, print or post it.

One CartRover listing serves every channel. ``--dry-run`` needs only the CartRover settings: it
prints the digest as a terminal shows it (:func:`bot.slack.blocks.text.render_plain`: no mrkdwn
markers, no emoji codes), then, where Slack's message had to stop, every stale test order; it posts
nothing. Without it the digest is posted to ``--channel``, or to every subscribed channel and
``DIGEST_CHANNEL``; that needs ``SLACK_BOT_TOKEN`` and the database (for the snapshot behind each
button). A posted digest is a manual one: it neither uses nor blocks the day's scheduled digest.

Like the scheduled digest, both list only recent New orders when the database holds the last
scan's mark (:mod:`bot.digest.window`), and keep this scan's; a dry run uses the database only if
it already exists, and scans every New order otherwise.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime

from bot.cartrover.client import CartRoverClient
from bot.cartrover.errors import CartRoverError
from bot.digest.messages import NOW_TITLE, digest_message, listed_in_message, order_line
from bot.digest.post import Composing, compose
from bot.digest.stale import SHOWN_LIMIT, StaleReport, build_report
from bot.settings import ConfigError, Settings
from bot.slack.blocks.text import for_terminal, readable, render_plain
from bot.slack.webapi import SetupProblem, SlackFailed, SlackPoster, make_web_client
from bot.store import Store, StoreError, open_existing, open_store
from bot.store.records import DigestSubscription
from bot.times import Clock, SystemClock
from bot.words import plural

__all__ = ["run_digest_once"]

Echo = Callable[[str], None]


def run_digest_once(
    settings: Settings,
    *,
    channel: str | None,
    dry_run: bool,
    echo: Echo = print,
    clock: Clock | None = None,
) -> int:
    """Exit code 0 when the digest was printed or every post succeeded."""
    if not dry_run and settings.slack_bot_token is None:
        raise ConfigError(
            "SLACK_BOT_TOKEN is required for 'cartrover-bot digest' unless --dry-run is given"
        )
    now = (clock or SystemClock()).now()
    store = _existing_store(settings) if dry_run else open_store(settings.database_url)
    try:
        return _build_and_send(settings, store, now, channel=channel, dry_run=dry_run, echo=echo)
    finally:
        if store is not None:
            store.close()


def _build_and_send(
    settings: Settings,
    store: Store | None,
    now: datetime,
    *,
    channel: str | None,
    dry_run: bool,
    echo: Echo,
) -> int:
    shown = sys.maxsize if dry_run else SHOWN_LIMIT  # a terminal lists every order
    with CartRoverClient.from_settings(settings) as cartrover:
        try:
            report = build_report(settings, cartrover, now, shown_limit=shown, marks=store)
        except CartRoverError as exc:
            echo(f"CartRover failed: {exc}")
            return 1
        calls = cartrover.stats.get("list_orders", 0)
    if dry_run or store is None:
        waiting = store.open_requests() if store is not None else []
        message = digest_message(report, NOW_TITLE, None, waiting=waiting, zone=settings.zone)
        echo(render_plain(message.blocks))
        if report.test_count > listed_in_message(report):
            echo(f"\nEvery stale test order ({report.test_count}), oldest first:")
            for order in report.shown:
                echo("  " + for_terminal(readable(order_line(order, report.now))))
        echo(f"\n(dry run: nothing posted; {plural(calls, 'CartRover listing call')})")
        return 0
    return _post_everywhere(settings, store, report, channel, echo)


def _existing_store(settings: Settings) -> Store | None:
    """The database for the scan's mark, if it already exists (a dry run creates nothing)."""
    try:
        return open_existing(settings.database_url, migrate=True)
    except (StoreError, ImportError):
        return None


def _post_everywhere(
    settings: Settings, store: Store, report: StaleReport, channel: str | None, echo: Echo
) -> int:
    token = settings.slack_bot_token
    assert token is not None  # checked by run_digest_once
    poster = SlackPoster(make_web_client(token.get_secret_value(), settings.slack_api_url))
    composing = Composing(settings, store, store)
    targets = [channel] if channel else _subscribed(settings, store.subscriptions())
    if not targets:
        echo("No channel: pass --channel C… or subscribe one with /cartrover digest subscribe")
        return 2
    failed = 0
    for target in targets:
        message = compose(composing, report, target, NOW_TITLE, report.now)
        try:
            ts = poster.post(target, message.text, message.blocks)
        except SlackFailed as exc:
            advice = f" {exc.advice}" if isinstance(exc, SetupProblem) else ""
            echo(f"{target}: not posted ({exc.error}).{advice}")
            failed += 1
            continue
        echo(f"{target}: posted ({plural(report.test_count, 'stale test order')}, ts {ts})")
    return 1 if failed else 0


def _subscribed(settings: Settings, subscriptions: list[DigestSubscription]) -> list[str]:
    channels = {sub.channel_id for sub in subscriptions}
    if settings.digest_channel:
        channels.add(settings.digest_channel)
    return sorted(channels)
