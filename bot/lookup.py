"""``status`` and ``history`` replies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.blocks.message import MAX_BLOCKS, SECTION_LIMIT, Message, context, section
from bot.cartrover.errors import (
    AuthenticationFailed,
    CartRoverError,
    ConnectionFailed,
    OrderNotFound,
    RateLimited,
    Unavailable,
)
from bot.cartrover.models import Order
from bot.mrkdwn import code, escape, user
from bot.store.base import AuditEntry
from bot.times import format_age

__all__ = ["StatusLine", "history_message", "status_message", "unread_text"]

# Slack refuses a message of much more than ~13k characters of blocks (msg_blocks_too_long,
# Slack's Block Kit limits), whatever the block count: the history shows the newest rows that fit.
_HISTORY_BUDGET = 9000


@dataclass(frozen=True)
class StatusLine:
    """One order's lookup: the order, or the error that stopped its read."""

    ref: str
    order: Order | None = None
    error: CartRoverError | None = None


def _order_text(order: Order, now: datetime) -> str:
    lines = [f"{code(order.cust_ref)} — *{escape(order.status_words)}*", escape(order.next_step)]
    facts = []
    if order.cust_po_no and order.cust_po_no != order.cust_ref:
        facts.append(f"PO {code(order.cust_po_no)}")
    if order.order_source:
        facts.append(f"from {escape(order.order_source)}")
    if order.created_at:
        age = format_age(now - order.created_at)
        facts.append(f"created {order.created_at:%Y-%m-%d %H:%M} UTC ({age} ago)")
    if facts:
        lines.append(" · ".join(facts))
    ship_to = ", ".join(p for p in (order.ship_name, order.ship_company, order.ship_city) if p)
    if ship_to:
        lines.append(f"Ship to: {escape(ship_to)}")
    lines.append(f"Items: {order.item_count} unit(s) on {len(order.items)} line(s)")
    if order.on_hold.value == "Y":
        lines.append("On hold in CartRover.")
    for shipment in order.shipments[:3]:
        if shipment.tracking_no:
            lines.append(
                f"Tracking: {escape(shipment.carrier)} {code(shipment.tracking_no)}"
                + (f" ({shipment.shipped_at:%Y-%m-%d})" if shipment.shipped_at else "")
            )
    return "\n".join(lines)


def unread_text(ref: str, error: CartRoverError) -> str:
    """Why ``ref`` could not be read, naming the order (mrkdwn, escaped)."""
    said = escape(error.message)
    if isinstance(error, OrderNotFound):
        text = f"{code(ref)} — CartRover does not know this order ({said})."
    elif isinstance(error, ConnectionFailed | Unavailable):
        text = f"CartRover did not answer about {code(ref)} ({said}). Try again in a few minutes."
    elif isinstance(error, RateLimited):
        text = f"CartRover is rate limiting the bot, so {code(ref)} was not read. Try again soon."
    elif isinstance(error, AuthenticationFailed):
        text = (
            f"CartRover refused the bot's API credentials when it asked about {code(ref)}. "
            "An admin should check CARTROVER_API_USER / CARTROVER_API_KEY."
        )
    else:
        text = f"{code(ref)} — CartRover said: {said}"
    if error.process_id:
        text += f"\nCartRover Process-ID: {code(error.process_id)}"
    return text


def status_message(lines: Sequence[StatusLine], now: datetime) -> Message:
    blocks = []
    fallback = []
    for line in lines[: MAX_BLOCKS - 1]:
        if line.order is not None:
            blocks.append(section(_order_text(line.order, now)))
            fallback.append(f"{line.ref}: {line.order.status_words}")
        elif line.error is not None:
            blocks.append(section(unread_text(line.ref, line.error)))
            fallback.append(f"{line.ref}: {line.error.message}")
    return Message(text=escape("\n".join(fallback)), blocks=blocks)


def history_message(ref: str, entries: Sequence[AuditEntry]) -> Message:
    if not entries:
        text = f"The bot has no record of {code(ref)}."
        return Message.note(text)
    rows = []
    for entry in entries:
        who = f" by {user(entry.actor)}" if entry.actor else ""
        request = f" (hold #{entry.request_id})" if entry.request_id else ""
        detail = f": {escape(entry.detail)}" if entry.detail else ""
        pid = f" · Process-ID {code(entry.process_id)}" if entry.process_id else ""
        rows.append(
            f"{entry.at:%Y-%m-%d %H:%M} UTC — {escape(entry.event)}{who}{request}{detail}{pid}"
        )
    blocks = [section(f"*History of {code(ref)}* (newest first)")]
    chunk: list[str] = []
    shown = size = 0
    for row in rows:
        if shown and size + len(row) > _HISTORY_BUDGET:
            break
        if sum(len(r) + 1 for r in chunk) + len(row) > 2900 and chunk:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(row)
        shown += 1
        size += min(len(row), SECTION_LIMIT) + 1
        if len(blocks) >= MAX_BLOCKS - 2:
            break
    if chunk:
        blocks.append(section("\n".join(chunk)))
    total = f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
    blocks.append(context(total if shown == len(entries) else f"{total}; the newest {shown} shown"))
    return Message(text=f"History of {escape(ref)}: {len(entries)} entries", blocks=blocks)
