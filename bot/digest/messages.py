"""The digest and ``stale`` messages, and the subscription replies. Pure: the report holds its time.

Long lists are summarised, never refused: the oldest orders that fit a character budget are listed
(sections of at most 2,900 characters, about 8,000 in all, well under Slack's ~13k practical
ceiling and 50 blocks), then "…and N more". "Request hold for all" carries a snapshot id, never
the list itself (Slack's Block Kit limits).
"""

from __future__ import annotations

from datetime import datetime

from bot.blocks.message import Block, Message, context, header, section
from bot.digest.stale import StaleOrder, StaleReport
from bot.ids import COMMAND, REQUEST_HOLD_ALL
from bot.mrkdwn import code, date_token, escape, user
from bot.store.base import DigestSubscription
from bot.times import format_age

__all__ = [
    "DIGEST_TITLE",
    "NOW_TITLE",
    "ORDERS_BUDGET",
    "STALE_TITLE",
    "digest_message",
    "subscription_message",
]

DIGEST_TITLE = "Daily digest"  # the scheduled digest
NOW_TITLE = "Digest"  # one posted on demand
STALE_TITLE = "Stale test orders"  # the answer to /cartrover stale

ORDERS_BUDGET = 8000  # characters of order lines in one message
_CHUNK = 2900  # characters of order lines in one section (Slack allows 3000)


def _hours(hours: float) -> str:
    return f"{hours:g} h"


def order_line(order: StaleOrder, now: datetime) -> str:
    """One listed order: reference, PO, age, source, why it is a test order, on hold."""
    parts = [code(order.cust_ref)]
    if order.cust_po_no and order.cust_po_no != order.cust_ref:
        parts.append(f"PO {code(order.cust_po_no)}")
    parts.append(f"{format_age(now - order.created_at)} old")
    if not order.reason.startswith("source "):
        parts.append(escape(order.order_source or "no source"))
    parts.append(f"({escape(order.reason)})")
    if order.on_hold:
        parts.append("*on hold*")
    if not order.holdable:
        parts.append("_reference outside the bot's grammar: hold it in CartRover_")
    return " · ".join(parts)


def _order_sections(report: StaleReport) -> tuple[list[Block], int]:
    """Sections listing the oldest orders within the budget; returns them and how many fit."""
    blocks: list[Block] = []
    chunk: list[str] = []
    size = total = listed = 0
    for order in report.shown:
        line = order_line(order, report.now)
        if total + len(line) + 1 > ORDERS_BUDGET:
            break
        if chunk and size + len(line) + 1 > _CHUNK:
            blocks.append(section("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
        total += len(line) + 1
        listed += 1
    if chunk:
        blocks.append(section("\n".join(chunk)))
    return blocks, listed


def _intro(report: StaleReport) -> str:
    count = report.test_count
    noun = "New test order was" if count == 1 else "New test orders were"
    text = (
        f"*{count} {noun}* created more than {_hours(report.hours)} ago and CartRover will "
        "still send them to the WMS. Oldest first:"
    )
    if report.on_hold_count:
        text += (
            f"\n{report.on_hold_count} of them {'is' if report.on_hold_count == 1 else 'are'} "
            "*on hold* in CartRover; a hold can be lifted, so on-hold orders are listed too."
        )
    return text


def _warning(report: StaleReport) -> Block | None:
    count = report.non_test_count
    if not count:
        return None
    noun = "stale New order is" if count == 1 else "stale New orders are"
    return section(
        f":warning: *{count} {noun} not test orders.* Older than {_hours(report.hours)} and still "
        "waiting to be sent: the WMS connection may be stuck. Check them in CartRover."
    )


def _button(report: StaleReport, snapshot_id: int) -> Block:
    held = len(report.hold_refs)
    label = (
        f"Request hold for all {held}"
        if held == report.test_count
        else f"Request hold for the oldest {held}"
    )
    return {
        "type": "actions",
        "block_id": f"digest-{snapshot_id}-actions",
        "elements": [
            {
                "type": "button",
                "action_id": REQUEST_HOLD_ALL,
                "text": {"type": "plain_text", "text": label[:75]},
                "value": str(snapshot_id),
            }
        ],
    }


def _footer(report: StaleReport, snapshot_id: int | None) -> str:
    notes = [f"Created before {date_token(report.cutoff)}"]
    if report.hold_refs and snapshot_id is not None:
        notes.append("the button opens one hold request; a second person must approve it")
    elif report.hold_refs:
        notes.append("dry run: no button")
    if report.order_source is not None:
        notes.append(f"listed source {escape(report.order_source)} only")
    notes.append(f"{report.pages} CartRover page(s), {report.listed} order(s) read")
    if report.truncated:
        notes.append("*the listing stopped at its page cap: counts are incomplete*")
    if not report.rule_configured:
        notes.append("no test-order rule is set (TEST_ORDER_SOURCES, TEST_ORDER_PATTERN)")
    return " · ".join(notes)


def digest_message(report: StaleReport, title: str, snapshot_id: int | None) -> Message:
    """The digest (or ``stale`` reply): oldest stale test orders, the non-test warning, the
    "Request hold for all" button when ``snapshot_id`` is given."""
    count = report.test_count
    blocks: list[Block] = []
    if count == 0:
        blocks += [
            header(f"{title}: nothing stale"),
            section(
                f":white_check_mark: No stale New test orders: none older than "
                f"{_hours(report.hours)} is waiting to be sent to the WMS."
            ),
        ]
    else:
        orders, listed = _order_sections(report)
        blocks += [header(f"{title}: {count} stale test order{'s' * (count != 1)}")]
        blocks += [section(_intro(report)), *orders]
        if count > listed:
            blocks.append(context(f"…and {count - listed} more, newer than those listed."))
    warning = _warning(report)
    if warning is not None:
        blocks.append(warning)
    if report.hold_refs and snapshot_id is not None:
        blocks.append(_button(report, snapshot_id))
    blocks.append(context(_footer(report, snapshot_id)))
    return Message(text=_fallback(report, title), blocks=blocks)


def _fallback(report: StaleReport, title: str) -> str:
    text = f"{title}: {report.test_count} stale test order(s)"
    if report.shown:
        text += f", oldest {format_age(report.now - report.shown[0].created_at)}"
    if report.non_test_count:
        text += f"; {report.non_test_count} stale non-test New order(s)"
    return escape(text)


def subscription_message(
    subscription: DigestSubscription | None, next_at: datetime | None, *, changed: str = ""
) -> Message:
    """``digest``, ``digest subscribe`` and ``digest unsubscribe`` replies."""
    if subscription is None:
        text = (changed + "\n" if changed else "") + (
            "This channel's digest subscription: *none*. Subscribe with "
            f"`{COMMAND} digest subscribe 09:00 Europe/Berlin` (time and zone are optional)."
        )
        return Message.note(text)
    lines = [changed] if changed else []
    lines.append(
        f"Daily digest in this channel at *{escape(subscription.local_time)}* "
        f"{escape(subscription.timezone)}."
    )
    if next_at is not None:
        lines.append(f"Next one: {date_token(next_at)}.")
    if subscription.created_by:
        lines.append(f"Set by {user(subscription.created_by)}.")
    lines.append(
        f"Change it with `{COMMAND} digest subscribe HH:MM Area/City`, stop it with "
        f"`{COMMAND} digest unsubscribe`. Make sure the bot is in this channel."
    )
    text = "\n".join(lines)
    return Message.note(text)
