"""The scan window: which New orders a scan for stale ones lists, and the mark it leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.digest.window import FULL_SCAN_EVERY, LOOKBACK, Window, next_mark, window
from bot.store.records import ScanMark

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(hours=24)
DAY = timedelta(days=1)


def mark(clear_days_ago: float, full_days_ago: float = 1) -> ScanMark:
    return ScanMark(
        clear_before=NOW - timedelta(days=clear_days_ago),
        full_at=NOW - timedelta(days=full_days_ago),
        scanned_at=NOW - DAY,
    )


def test_without_a_mark_the_scan_is_full() -> None:
    """The first scan lists every New order before the cutoff."""
    assert window(None, NOW, CUTOFF) == Window(None, CUTOFF)
    assert window(None, NOW, CUTOFF).full


def test_a_mark_starts_the_window_a_look_back_before_the_oldest_order_waiting() -> None:
    """From the mark's clear_before, less a day for a date filter in whole days, to the cutoff;
    the last full scan is known."""
    scanned = window(mark(10), NOW, CUTOFF)
    assert scanned == Window(NOW - timedelta(days=10) - LOOKBACK, CUTOFF, NOW - DAY)
    assert not scanned.full


def test_a_week_after_the_last_full_scan_the_scan_is_full_again() -> None:
    """What the induction cannot see (an order coming back to New, sending resumed) is found at
    least weekly."""
    week = FULL_SCAN_EVERY / DAY
    assert window(mark(2, full_days_ago=week), NOW, CUTOFF).full
    assert not window(mark(2, full_days_ago=week - 0.1), NOW, CUTOFF).full


def test_the_window_never_starts_after_the_cutoff() -> None:
    """A mark newer than this scan's cutoff (a `stale 1` before a 48-hour digest) still leaves
    a window that ends at the cutoff."""
    scanned = window(mark(0.01), NOW, NOW - timedelta(hours=48))
    assert scanned.from_date == scanned.to_date == NOW - timedelta(hours=48)


def test_the_next_mark_is_the_oldest_order_still_waiting_or_the_cutoff() -> None:
    """A scan that found an order waiting marks its creation time; one that found none marks
    its cutoff; a full scan dates the full scan; an incomplete one marks nothing."""
    full = Window(None, CUTOFF)
    waiting = NOW - timedelta(days=20)
    assert next_mark(full, NOW, waiting, complete=True) == ScanMark(waiting, NOW, NOW)
    assert next_mark(full, NOW, None, complete=True) == ScanMark(CUTOFF, NOW, NOW)
    partial = Window(NOW - timedelta(days=21), CUTOFF, NOW - 3 * DAY)
    assert next_mark(partial, NOW, None, complete=True) == ScanMark(CUTOFF, NOW - 3 * DAY, NOW)
    late = NOW - timedelta(hours=2)  # a server returning an order after the cutoff
    assert next_mark(partial, NOW, late, complete=True) == ScanMark(CUTOFF, NOW - 3 * DAY, NOW)
    assert next_mark(full, NOW, waiting, complete=False) is None
