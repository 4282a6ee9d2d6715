"""A hold request's orders, line by line, as its card and its thread show them: each order's
outcome in words, failed and unconfirmed ones first, an order that had moved on as what became of
it and what to do ("`TS-2` went to the WMS — cancel it there"), and whether the request is
waiting for a second look or ran in shadow mode. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from bot.holds.verdicts import CHECKING_AGAIN, ORDER_CANCELED, SHADOW
from bot.slack.blocks.message import lines_within
from bot.slack.mrkdwn import code, literal, truncate
from bot.store.records import HoldItem, HoldRequest, ItemState

__all__ = [
    "ITEMS_LIMIT",
    "NEEDS_A_LOOK",
    "card_lines",
    "checking",
    "item_line",
    "ordered",
    "shadowed",
    "tally",
    "within_card",
]

ITEMS_LIMIT = 2600  # characters of order lines on the card

_ITEM_WORDS = {
    ItemState.QUEUED: "waiting",
    ItemState.SENDING: "stopping sending…",
    ItemState.CHECKING: "not confirmed yet, checking again…",
    ItemState.CANCELED: "sending stopped ✅",
    ItemState.ORDER_CANCELED: f"{ORDER_CANCELED} ⚠️",
    ItemState.NOT_CONFIRMED: "NOT CONFIRMED ⚠️",
    ItemState.FAILED: "FAILED ❌",
    ItemState.SKIPPED: "had moved on",
    ItemState.WOULD_CANCEL: SHADOW,
}
NEEDS_A_LOOK = (ItemState.FAILED, ItemState.NOT_CONFIRMED)


def tally(items: Sequence[HoldItem]) -> str:
    """Counts by state, e.g. `` (140 sending stopped ✅, 10 FAILED ❌)``; empty for one order."""
    if len(items) < 2:
        return ""
    counts = Counter(item.state for item in items)
    return " (" + ", ".join(f"{counts[s]} {_ITEM_WORDS[s]}" for s in ItemState if counts[s]) + ")"


def item_line(item: HoldItem, detail_limit: int = 2000) -> str:
    """One order's outcome: ``TS-1 — sending stopped ✅``."""
    if item.state is ItemState.WOULD_CANCEL:
        return f"{SHADOW} for {code(item.cust_ref)}"
    if item.state is ItemState.SKIPPED:
        words = truncate(literal(item.detail or "was left alone"), detail_limit)
        return f"{code(item.cust_ref)} {words}"
    line = f"{code(item.cust_ref)} — {_ITEM_WORDS[item.state]}"
    detail = item.detail
    if item.state is ItemState.CHECKING:
        detail = detail.removesuffix(f"; {CHECKING_AGAIN}")  # the words above say so
    repeats = (
        item.state is ItemState.CANCELED and detail.startswith("New — sending canceled")
    ) or (item.state is ItemState.ORDER_CANCELED and detail == "Canceled")
    if repeats:
        detail = ""  # the order's status only repeats the outcome
    if detail:
        line += f": {truncate(literal(detail), detail_limit)}"
    if item.process_ids and item.state in NEEDS_A_LOOK:
        line += f" (Process-ID {', '.join(code(p) for p in item.process_ids)})"
    return line


def ordered(items: Sequence[HoldItem]) -> list[HoldItem]:
    """Failed and unconfirmed orders first: a long list is cut, and these need a person."""
    return sorted(items, key=lambda item: item.state not in NEEDS_A_LOOK)


def within_card(lines: list[str]) -> tuple[str, bool]:
    """As many of ``lines`` as the card has room for (:data:`ITEMS_LIMIT`), and whether they
    are all of them."""
    shown = lines_within(lines, limit=ITEMS_LIMIT)
    return shown, shown == "\n".join(lines)


def card_lines(request: HoldRequest) -> tuple[str, bool]:
    """The order lines the card shows, and whether they are all of them."""
    return within_card([item_line(item) for item in ordered(request.items)])


def shadowed(request: HoldRequest) -> bool:
    """Shadow mode stopped at least one of the request's cancels."""
    return any(item.state is ItemState.WOULD_CANCEL for item in request.items)


def checking(request: HoldRequest) -> bool:
    """At least one of the request's cancels waits for its second look."""
    return any(item.state is ItemState.CHECKING for item in request.items)
