"""``status`` and ``history`` replies.

Everything CartRover says about an order (status words, ship-to, source, carrier, messages) goes
through :func:`bot.slack.mrkdwn.literal`, so ``**PII Removed**`` reads as written. Times are Slack
date tokens. A ``status`` of many long orders keeps to a character budget, as the digest does:
past it, orders get one line each. An order that an open hold request holds says so instead of
suggesting another hold.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from bot.cartrover import replies
from bot.cartrover.errors import (
    AuthenticationFailed,
    CartRoverError,
    ConnectionFailed,
    OrderNotFound,
    RateLimited,
    Unavailable,
)
from bot.cartrover.models import Order
from bot.slack.blocks.message import (
    MAX_BLOCKS,
    SECTION_LIMIT,
    Block,
    Message,
    archive_link,
    context,
    lines_within,
    section,
)
from bot.slack.error_words import known_slack_error
from bot.slack.mrkdwn import code, date_token, escape, literal, truncate, user
from bot.store.records import AuditEntry, HoldRequest, RequestState
from bot.times import ago
from bot.words import plural

__all__ = ["StatusLine", "history_message", "status_message", "unread_text"]

# Slack refuses a message of much more than ~13k characters of blocks (msg_blocks_too_long,
# Slack's Block Kit limits), whatever the block count: the history shows the newest rows that fit.
_HISTORY_BUDGET = 9000
_STATUS_BUDGET = 9000  # characters of order text in one status reply

# What each audit event is called in the history (unknown events are shown as recorded).
_EVENTS = {
    "requested": "requested",
    "approved": "approved",
    "rejected": "rejected",
    "withdrawn": "withdrawn",
    "expired": "expired",
    "outcome": "outcome",
    "finished": "finished",
    "cancel_answer": "CartRover's answer to the cancel",
    "cartrover_error": "CartRover error",
    "checking": "not confirmed yet, checking again",
    "shadow": "shadow mode: would have canceled sending",
    "post_failed": "card not posted",
    "post_unconfirmed": "card maybe posted (no answer from Slack)",
    "card_found": "card found",
    "card_update_failed": "card not updated",
    "outcome_not_told": "requester not told",
    "told_by_direct_message": "requester told by direct message (the card's thread was gone)",
    "moved_on": "moved on while the request waited",
    "nothing_left": "ended: nothing left to hold",
    "reminded": "approvers reminded",
    "order_list_incomplete": "order list incomplete",
    "outcome_list_incomplete": "outcome list incomplete",
}
_SLACK_DETAIL = re.compile(r"^chat\.\w+(?: of \S+)? in (\w+): (\w+)$")
# A cancel's answer as the audit trail keeps it: "accepted: HTTP 200: {...}". Rows written before
# a RateLimit answer became a CartRover error row say "rate_limited".
_CANCEL_ANSWER = re.compile(r"^(accepted|refused|unclear|rate_limited): HTTP (\d{3}): (.*)$", re.S)
_ANSWER_WORDS = {
    "accepted": "CartRover accepted it",
    "refused": "CartRover refused it",
    "unclear": "CartRover's answer could not be read, so the order was re-read",
    "rate_limited": "CartRover's rate limit turned it away: nothing was done",
}


@dataclass(frozen=True)
class StatusLine:
    """One order's lookup: the order, or the error that stopped its read; and the open hold
    request that holds it, if one does."""

    ref: str
    order: Order | None = None
    error: CartRoverError | None = None
    held_by: HoldRequest | None = None
    suggestion: str | None = None  # the spelling CartRover knows, for one it did not


def _next_step(order: Order, held_by: HoldRequest | None) -> str:
    """What happens next; an order an open request holds points at that request instead of
    suggesting a hold of its own."""
    if held_by is None or not order.will_be_sent:
        return escape(order.next_step)
    number = f"#{held_by.id}"
    if held_by.message_ts:
        number = archive_link(held_by.channel_id, held_by.message_ts, number)
    if held_by.state is RequestState.EXECUTING:
        return f"Hold request {number} was approved: its sending is being stopped now."
    return (
        f"Hold request {number} for it is waiting for an approver; until it is approved, "
        "CartRover will still send it to the WMS."
    )


def _order_text(
    order: Order, now: datetime, held_by: HoldRequest | None = None, zone: tzinfo = UTC
) -> str:
    words = order.status_words
    lines = [f"{code(order.cust_ref)} — *{literal(words)}*", _next_step(order, held_by)]
    facts = []
    if order.cust_po_no and order.cust_po_no != order.cust_ref:
        facts.append(f"PO {code(order.cust_po_no)}")
    if order.order_source:
        facts.append(f"from {literal(order.order_source)}")
    if order.created_at:
        created = date_token(order.created_at, zone=zone)
        facts.append(f"created {created} ({ago(now - order.created_at)})")
    if facts:
        lines.append(" · ".join(facts))
    ship_to = ", ".join(p for p in (order.ship_name, order.ship_company, order.ship_city) if p)
    if ship_to:
        lines.append(f"Ship to: {literal(ship_to)}")
    units, rows = plural(order.item_count, "unit"), plural(len(order.items), "line")
    lines.append(f"Items: {units} on {rows}")
    if order.on_hold.value == "Y" and "on hold" not in words:
        lines.append("On hold in CartRover.")
    for shipment in order.shipments[:3]:
        if shipment.tracking_no:
            when = shipment.shipped_at
            lines.append(
                f"Tracking: {literal(shipment.carrier)} {code(shipment.tracking_no)}"
                + (f" ({date_token(when, zone=zone, date_only=True)})" if when else "")
            )
    return "\n".join(lines)


def _order_line(line: StatusLine) -> str:
    """One line for an order past the budget: reference and status."""
    if line.order is not None:
        return f"{code(line.ref)} — {literal(line.order.status_words)}"
    return f"{code(line.ref)} — not read: {literal(line.error.message if line.error else '')}"


def unread_text(ref: str, error: CartRoverError, suggestion: str | None = None) -> str:
    """Why ``ref`` could not be read, naming the order (mrkdwn, escaped)."""
    said = literal(error.message)
    if isinstance(error, OrderNotFound):
        text = f"{code(ref)} — CartRover does not know this order ({said})."
        if suggestion:
            text += f" Did you mean {code(suggestion)}? CartRover knows that one."
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


def status_message(lines: Sequence[StatusLine], now: datetime, zone: tzinfo = UTC) -> Message:
    """One section per order while the budget lasts; then one line per order; then a count."""
    blocks: list[Block] = []
    fallback = []
    size = 0
    short: list[str] = []
    for line in lines[: MAX_BLOCKS - 2]:
        if line.order is not None:
            text = _order_text(line.order, now, line.held_by, zone)
            fallback.append(f"{line.ref}: {line.order.status_words}")
        elif line.error is not None:
            text = unread_text(line.ref, line.error, line.suggestion)
            fallback.append(f"{line.ref}: {line.error.message}")
        else:
            continue
        text = truncate(text, SECTION_LIMIT)
        if short or size + len(text) > _STATUS_BUDGET:
            short.append(_order_line(line))
            continue
        blocks.append(section(text))
        size += len(text)
    if short:
        shown = lines_within(short, limit=min(SECTION_LIMIT, max(_STATUS_BUDGET - size, 500)))
        blocks.append(section(shown))
        blocks.append(context("Too much to show in full: ask about fewer orders for details."))
    return Message(text=escape("\n".join(fallback)), blocks=blocks)


def history_message(ref: str, entries: Sequence[AuditEntry], zone: tzinfo = UTC) -> Message:
    if not entries:
        text = f"The bot has no record of {code(ref)}."
        return Message.note(text)
    rows = []
    for entry in entries:
        request = f" (hold #{entry.request_id})" if entry.request_id else ""
        detail = f": {_detail(entry)}" if entry.detail else ""
        pid = f" · Process-ID {code(entry.process_id)}" if entry.process_id else ""
        rows.append(f"{date_token(entry.at, zone=zone)} — {_event(entry)}{request}{detail}{pid}")
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
    total = plural(len(entries), "entry", "entries")
    blocks.append(context(total if shown == len(entries) else f"{total}; the newest {shown} shown"))
    return Message(text=f"History of {escape(ref)}: {len(entries)} entries", blocks=blocks)


def _event(entry: AuditEntry) -> str:
    """The event in words, with who did it: "approved by @sam", "a click by @lee refused"."""
    who = user(entry.actor) if entry.actor else ""
    if entry.event == "refused":
        return f"a click by {who} refused" if who else "a click refused"
    if entry.event == "duplicate_click":
        return f"a second click by {who}, too late" if who else "a second click, too late"
    words = _EVENTS.get(entry.event, escape(entry.event))
    return f"{words} by {who}" if who else words


def _detail(entry: AuditEntry) -> str:
    """The entry's detail; a cancel's answer and Slack's error codes on the card events in
    words (the answer as received stays in the audit trail)."""
    answer = _CANCEL_ANSWER.match(entry.detail) if entry.event == "cancel_answer" else None
    if answer is not None:
        outcome, status, body = answer.groups()
        said = replies.words_in(body)
        return f"{_ANSWER_WORDS[outcome]} (HTTP {status})" + (f": {literal(said)}" if said else "")
    found = _SLACK_DETAIL.match(entry.detail)
    if found and (words := known_slack_error(found.group(2))):
        channel, error = found.groups()
        return f"in channel {escape(channel)}: {words} ({escape(error)})"
    return literal(entry.detail)
