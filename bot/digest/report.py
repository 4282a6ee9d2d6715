"""A digest's content: one listing of stale New orders, classified by the test-order rule."""

from __future__ import annotations

from datetime import datetime

from bot.digest.stale import SHOWN_LIMIT, Listing, StaleReport, TestRule, scan
from bot.settings import Settings

__all__ = ["build_report"]


def build_report(
    settings: Settings,
    orders: Listing,
    now: datetime,
    *,
    hours: float | None = None,
    count_non_test: bool = True,
    shown_limit: int = SHOWN_LIMIT,
) -> StaleReport:
    """One listing of stale New orders, classified (CartRover errors propagate)."""
    rule = TestRule.from_settings(settings)
    age = hours if hours is not None else settings.stale_after_hours
    return scan(orders, rule, now, age, count_non_test=count_non_test, shown_limit=shown_limit)
