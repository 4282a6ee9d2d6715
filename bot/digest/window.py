"""Which New orders a scan for stale ones lists: a window that follows recent orders, not history.

Orders whose sending was canceled stay New forever, every order this bot holds among them, so a
scan of every New order older than the cutoff grows with the years. Yet an order can only become
a stale test order that will still be sent by being created (recently) or by still waiting to be
sent. So each scan keeps a mark (:class:`~bot.store.records.ScanMark`): no New order created
before ``clear_before`` was waiting to be sent when it looked — ``clear_before`` is the creation
time of the oldest New order still waiting (sending not canceled, or an unexpected flag), or the
scan's own cutoff when none was. The next scan lists only New orders created from
``clear_before`` (less :data:`LOOKBACK`) to its cutoff: by induction, every order still waiting is
in that window.

What the induction cannot see — an order whose sending is resumed, or that comes back to New, long
after it was created — a **full scan** sees: one runs when there is no mark, and at least every
:data:`FULL_SCAN_EVERY`. A scan that stopped at its page cap, failed, or listed one order source
keeps no mark. Every message says which window its scan covered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.cartrover.protocol import DATE_FILTER_SLACK
from bot.store.records import ScanMark

__all__ = ["FULL_SCAN_EVERY", "LOOKBACK", "ScanMarks", "Window", "next_mark", "window"]

FULL_SCAN_EVERY = timedelta(days=7)
# Unknown #8 (docs/cartrover.md): the listing's dates may be compared in whole days, or on the
# cart's order_date; the window starts that much before the mark.
LOOKBACK = DATE_FILTER_SLACK


class ScanMarks(Protocol):
    """Where the last scan's mark is kept (the store's DigestStore has these)."""

    def scan_mark(self) -> ScanMark | None: ...

    def keep_scan_mark(self, mark: ScanMark) -> None: ...


@dataclass(frozen=True)
class Window:
    """The New orders one scan lists: created from ``from_date`` (None: from the beginning, a
    full scan) up to ``to_date``, the stale cutoff."""

    from_date: datetime | None
    to_date: datetime
    last_full: datetime | None = None  # when the last full scan ran (known for a partial one)

    @property
    def full(self) -> bool:
        return self.from_date is None


def window(mark: ScanMark | None, now: datetime, cutoff: datetime) -> Window:
    """The window of a scan at ``now``, given the last scan's mark."""
    if mark is None or now - mark.full_at >= FULL_SCAN_EVERY:
        return Window(None, cutoff)
    return Window(min(mark.clear_before - LOOKBACK, cutoff), cutoff, mark.full_at)


def next_mark(
    scanned: Window, now: datetime, oldest_waiting: datetime | None, *, complete: bool
) -> ScanMark | None:
    """The mark a scan of ``scanned`` leaves: ``oldest_waiting`` is the creation time of the
    oldest New order it found still waiting to be sent (None: none). Nothing when the scan did not
    list its whole window (``complete`` False)."""
    if not complete:
        return None
    clear = scanned.to_date if oldest_waiting is None else min(oldest_waiting, scanned.to_date)
    full_at = now if scanned.full else scanned.last_full
    return ScanMark(clear_before=clear, full_at=full_at or now, scanned_at=now)
