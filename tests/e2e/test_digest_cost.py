"""End to end, the digest's cost follows recent orders, not history: the scheduled digest, `digest
now` and `cartrover-bot digest --dry-run` each list, after a first full scan, only the window the
last scan's mark allows, say which window they covered, and miss no stale test order."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.dev.sandbox import generate_orders
from bot.digest import schedule
from bot.digest.stale import build_report
from bot.runners.digest import run_digest_once
from bot.settings import Settings
from bot.slack.blocks.text import render_blocks
from bot.store.records import DigestSubscription
from tests.harness import CHANNEL, Harness

DAY = timedelta(days=1)
FULL = "a full scan of every New order"
PARTIAL = "none older was waiting to be sent at the last scan"


@pytest.fixture
def harness_env() -> dict[str, str]:
    return {"TEST_ORDER_SOURCES": "Test Store", "TEST_ORDER_PATTERN": "^TEST-"}


def add_history(harness: Harness) -> None:
    """A year of sending-canceled New orders, as every held order leaves behind."""
    history = generate_orders(
        250,
        now=harness.clock.now(),
        min_age=30 * DAY,
        max_age=400 * DAY,
        source="Shopify",
        prefix="OLD-",
        sending_canceled="Y",
    )
    harness.book.add_many(history)


def listings(harness: Harness) -> list[dict[str, str]]:
    return [r.query for r in harness.sandbox.requests if r.route == "M1"]


def posted(harness: Harness, count: int) -> str:
    (*_, digest) = harness.slack.wait_for("chat.postMessage", count)
    return render_blocks(digest.body["blocks"]).text


def test_digest_now_lists_the_history_once_then_only_recent_orders(harness: Harness) -> None:
    """The first `digest now` reads the history (3 pages); the next day's reads one page from
    the oldest order still waiting, lists what a full scan would (meanwhile most orders went to
    the WMS), and says its window."""
    add_history(harness)
    harness.command("digest now")
    first = posted(harness, 1)
    assert FULL in first and "7 stale test orders" in first
    assert len(listings(harness)) == 3 and "from_date" not in listings(harness)[0]
    harness.sandbox.clear_requests()
    harness.clock.advance(DAY)
    harness.command("digest now")
    second = posted(harness, 2)
    assert PARTIAL in second and "Scanned New orders created" in second
    (query,) = listings(harness)
    assert "from_date" in query
    full = build_report(harness.settings, harness.bot.cartrover, harness.clock.now())
    assert full.window is not None and full.window.full  # no marks given: a full scan
    listed = [line.split("`")[1] for line in second.splitlines() if line.startswith("`")]
    assert listed == [order.cust_ref for order in full.shown] and listed


def test_the_scheduled_digest_follows_the_same_window(harness: Harness) -> None:
    """Two daily digests in a row: the second lists only the window and says so."""
    add_history(harness)
    now = harness.clock.now()
    subscription = DigestSubscription(CHANNEL, "09:00", "UTC", created_at=now - 2 * DAY)
    harness.bot.deps.digests.subscribe(subscription)
    assert schedule.run_scheduled(harness.bot.deps, subscription) is schedule.Outcome.POSTED
    assert FULL in posted(harness, 1)
    harness.sandbox.clear_requests()
    harness.clock.advance(DAY)
    assert schedule.run_scheduled(harness.bot.deps, subscription) is schedule.Outcome.POSTED
    assert PARTIAL in posted(harness, 2)
    assert len(listings(harness)) == 1 and "from_date" in listings(harness)[0]


def test_a_dry_run_uses_an_existing_database_s_mark_and_creates_none(
    harness: Harness, tmp_path: Path
) -> None:
    """`digest --dry-run` against the bot's database: full, then the window; against a database
    that does not exist: a full scan, and no file is made."""
    add_history(harness)
    lines: list[str] = []

    def dry_run(settings: Settings) -> str:
        lines.clear()
        code = run_digest_once(
            settings, channel=None, dry_run=True, echo=lines.append, clock=harness.clock
        )
        assert code == 0
        return "\n".join(lines)

    assert FULL in dry_run(harness.settings) and "3 CartRover listing calls" in lines[-1]
    harness.clock.advance(DAY)
    assert PARTIAL in dry_run(harness.settings) and "1 CartRover listing call" in lines[-1]
    elsewhere = harness.world.settings({"DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"})
    assert FULL in dry_run(elsewhere) and not (tmp_path / "none.db").exists()
