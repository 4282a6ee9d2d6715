"""The digest and ``stale`` messages, and the subscription replies. Pure: the report holds its time.
An open request's row (:func:`request_row`) is written here once, for the digest, ``pending`` and
the App Home alike.

Long lists are summarised, never refused: the oldest orders that fit a character budget are listed
(sections of at most 2,900 characters, about 8,000 in all, well under Slack's ~13k practical
ceiling and 50 blocks), then "…and N more"; a terminal gets every order from :func:`order_line`.
"Request hold for all" carries a snapshot id, never the list itself. With no test-order rule
configured the digest says so, and which variables set one, instead of "nothing stale".

Orders already in an open hold request are marked so, and "Request hold for all" offers only the
others (its label and a note say how many); the requests still waiting for an approver are
listed; the stale orders that are not test orders are named, not only counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo

from bot.digest.stale import StaleOrder, StaleReport
from bot.slack.blocks.message import (
    Block,
    Message,
    archive_link,
    context,
    header,
    lines_within,
    section,
)
from bot.slack.ids import COMMAND, REQUEST_HOLD_ALL
from bot.slack.mrkdwn import code, date_token, escape, literal, user
from bot.store.records import DigestSubscription, HoldRequest, RequestState
from bot.times import format_age, hours, old, zone_or_none
from bot.words import agree, listing, plural

__all__ = [
    "DIGEST_TITLE",
    "NOW_TITLE",
    "ORDERS_BUDGET",
    "STALE_TITLE",
    "digest_message",
    "listed_in_message",
    "offered",
    "order_line",
    "request_link",
    "request_refs",
    "request_row",
    "scanned_words",
    "subscription_message",
]

DIGEST_TITLE = "Daily digest"  # the scheduled digest
NOW_TITLE = "Digest"  # one posted on demand
STALE_TITLE = ""  # the answer to /cartrover stale: its header is the count alone

ORDERS_BUDGET = 8000  # characters of order lines in one message
_CHUNK = 2900  # characters of order lines in one section (Slack allows 3000)


def offered(report: StaleReport, waiting: Sequence[HoldRequest]) -> list[str]:
    """The orders "Request hold for all" offers: those not already in an open request."""
    return _offered(report, _held_in(waiting))


def _held_in(waiting: Sequence[HoldRequest]) -> dict[str, int]:
    """Each order already in an open request, and that request's number."""
    return {ref: request.id for request in waiting for ref in request.cust_refs}


def _offered(report: StaleReport, held_in: Mapping[str, int]) -> list[str]:
    return [ref for ref in report.hold_refs if ref not in held_in]


def order_line(order: StaleOrder, now: datetime, held_in: Mapping[str, int] | None = None) -> str:
    """One listed order: reference, PO, age, source, why it is a test order, on hold, and the
    open hold request it is in."""
    parts = [code(order.cust_ref)]
    if order.cust_po_no and order.cust_po_no != order.cust_ref:
        parts.append(f"PO {code(order.cust_po_no)}")
    parts.append(old(now - order.created_at))
    if not order.reason.startswith("source "):
        parts.append(literal(order.order_source) if order.order_source else "no source")
    parts.append(f"({literal(order.reason)})")
    if order.on_hold:
        parts.append("*on hold*")
    if not order.holdable:
        parts.append("_reference outside the bot's grammar: hold it in CartRover_")
    if held_in and order.cust_ref in held_in:
        parts.append(f"in hold request #{held_in[order.cust_ref]}")
    return " · ".join(parts)


def _order_sections(
    report: StaleReport, held_in: Mapping[str, int] | None = None
) -> tuple[list[Block], int]:
    """Sections listing the oldest orders within the budget; returns them and how many fit."""
    blocks: list[Block] = []
    chunk: list[str] = []
    size = total = listed = 0
    for order in report.shown:
        line = order_line(order, report.now, held_in)
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


def listed_in_message(report: StaleReport) -> int:
    """How many orders the message lists before its "…and N more"."""
    return _order_sections(report)[1]


def _intro(report: StaleReport) -> str:
    count = report.test_count
    was = agree(count, "was", "were")
    text = (
        f"*{plural(count, 'New test order')} {was}* created more than {hours(report.hours)} "
        f"ago and CartRover will still send {agree(count, 'it', 'them')} to the WMS."
        + (" Oldest first:" if count > 1 else "")
    )
    if report.on_hold_count:
        on_hold = report.on_hold_count
        which = "It is" if count == 1 else f"{on_hold} of them {agree(on_hold, 'is', 'are')}"
        text += (
            f"\n{which} *on hold* in CartRover; a hold can be lifted, so on-hold orders are "
            "listed too."
        )
    return text


def _named(orders: Sequence[StaleOrder], count: int, now: datetime) -> str:
    """The stale orders that are not test orders, by name: ``SHOP-1 (Shopify, 1d 6h old)``."""
    names = [
        f"{code(o.cust_ref)} ({literal(o.order_source) if o.order_source else 'no source'}, "
        f"{old(now - o.created_at)})"
        for o in orders
    ]
    if count > len(names):
        names.append(f"{count - len(names)} more")
    return f": {listing(names)}" if names else ""


def _warning(report: StaleReport) -> Block | None:
    count = report.non_test_count
    if not count:
        return None
    named = _named(report.non_test, count, report.now)
    stale = f"{plural(count, 'stale New order')} {agree(count, 'is', 'are')}"
    if not report.rule_configured:
        return section(
            f":warning: *{stale} waiting to be sent*{named}. Older than {hours(report.hours)}: "
            "with no "
            "test-order rule the bot cannot tell test orders from real ones, and the WMS "
            "connection may be stuck. Check them in CartRover."
        )
    return section(
        f":warning: *{stale} not test orders*{named}. Older than {hours(report.hours)} and "
        "still waiting to be sent: the WMS connection may be stuck. Check them in CartRover."
    )


NO_RULE = (
    ":warning: *No test-order rule is set*, so no order counts as a test order and none is "
    "listed. An admin sets one with `TEST_ORDER_SOURCES` (order sources that hold only test "
    "orders, comma-separated, e.g. `Test Store`) and/or `TEST_ORDER_PATTERN` (a regular "
    "expression found in test order references or PO numbers, e.g. `^TEST-`), then restarts "
    "the bot."
)


def _button(report: StaleReport, snapshot_id: int, count: int) -> Block:
    """The button for the ``count`` orders offered (those not in an open request already)."""
    already = len(report.hold_refs) - count
    if count == 1 == report.test_count:
        label = "Request hold for this order"
    elif count == report.test_count:
        label = f"Request hold for all {count}"
    elif already:
        label = f"Request hold for the {count} not yet requested"
    else:
        label = f"Request hold for the oldest {count}"
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


def _already(report: StaleReport, held_in: Mapping[str, int], count: int) -> Block | None:
    """How many listed orders the button leaves out, being in open requests already."""
    already = len(report.hold_refs) - count
    if not already:
        return None
    numbers = sorted({held_in[ref] for ref in report.hold_refs if ref in held_in})
    named = listing([f"#{number}" for number in numbers[:5]])
    them = agree(already, "it", "them")
    which = agree(already, "is", "are")
    if not count:
        return context(f"Every one is already in an open hold request ({named}).")
    return context(
        f"{already} of them {which} already in an open hold request ({named}); the button "
        f"leaves {them} out."
    )


def request_link(request: HoldRequest) -> str:
    """``#12``, linked to the request's card once it is posted."""
    label = f"#{request.id}"
    if not request.message_ts:
        return label
    return archive_link(request.channel_id, request.message_ts, label)


def request_refs(request: HoldRequest, shown: int) -> str:
    """The request's first ``shown`` orders, then how many more: ``A1``, ``B2`` +3."""
    refs = ", ".join(code(ref) for ref in request.cust_refs[:shown])
    more = len(request.cust_refs) - shown
    return refs + (f" +{more}" if more > 0 else "")


def request_row(request: HoldRequest, now: datetime, shown: int) -> str:
    """One open request in a list (the digest's, ``pending``'s, the App Home's): its linked
    number, first ``shown`` orders, who asked and how long ago."""
    return (
        f"{request_link(request)} · {request_refs(request, shown)} · "
        f"by {user(request.requester)} · {old(now - request.created_at)}"
    )


def _waiting(waiting: Sequence[HoldRequest], now: datetime) -> Block | None:
    """The hold requests still waiting for an approver, oldest first."""
    pending = [r for r in waiting if r.state is RequestState.PENDING]
    if not pending:
        return None
    rows = [request_row(request, now, 3) for request in pending]
    title = f"*Waiting for an approver ({len(pending)}):*\n"
    return section(title + lines_within(rows, limit=1500))


def scanned_words(report: StaleReport, zone: tzinfo = UTC) -> str:
    """Which New orders the scan covered (:mod:`bot.digest.window`), times in ``zone``."""
    scanned = report.window
    cutoff = date_token(report.cutoff, zone=zone)
    if scanned is None:
        return f"Created before {cutoff}"
    if scanned.from_date is None:
        return f"Created before {cutoff}: a full scan of every New order"
    last = f", last {date_token(scanned.last_full, zone=zone)}" if scanned.last_full else ""
    return (
        f"Scanned New orders created {date_token(scanned.from_date, zone=zone)} to "
        f"{cutoff}: none older was waiting to be sent at the last scan "
        f"(a full scan runs weekly{last})"
    )


def _footer(report: StaleReport, snapshot_id: int | None, zone: tzinfo = UTC) -> str:
    notes = [scanned_words(report, zone)]
    if report.hold_refs and snapshot_id is not None:
        notes.append("the button opens one hold request; a second person must approve it")
    elif report.hold_refs:
        notes.append("dry run: no button")
    if report.order_source is not None:
        notes.append(f"listed source {literal(report.order_source)} only")
    pages = plural(report.pages, "CartRover page")
    notes.append(f"{pages}, {plural(report.listed, 'order')} read")
    if report.truncated:
        notes.append("*the listing stopped at its page cap: counts are incomplete*")
    return " · ".join(notes)


def _header(title: str, what: str) -> Block:
    """``Daily digest: 6 stale test orders``, or for ``stale`` (no title) the count alone."""
    return header(f"{title}: {what}" if title else what[:1].upper() + what[1:])


def digest_message(
    report: StaleReport,
    title: str,
    snapshot_id: int | None,
    *,
    waiting: Sequence[HoldRequest] = (),
    zone: tzinfo = UTC,
    chosen: Sequence[str] | None = None,
) -> Message:
    """The digest (or ``stale`` reply): oldest stale test orders (those in an open request
    marked so), the non-test warning naming them, the requests ``waiting`` for an approver, and
    "Request hold for all" for the orders not yet requested when ``snapshot_id`` is given
    (``chosen``: those orders, when :func:`offered` already chose them from ``waiting``)."""
    count = report.test_count
    held_in = _held_in(waiting)
    blocks: list[Block] = []
    if not report.rule_configured:
        blocks += [_header(title, "no test-order rule is set"), section(NO_RULE)]
    elif count == 0:
        blocks += [
            _header(title, "nothing stale"),
            section(
                f":white_check_mark: No stale New test orders: none older than "
                f"{hours(report.hours)} is waiting to be sent to the WMS."
            ),
        ]
    else:
        orders, listed = _order_sections(report, held_in)
        blocks += [_header(title, plural(count, "stale test order"))]
        blocks += [section(_intro(report)), *orders]
        if count > listed:
            blocks.append(context(f"…and {count - listed} more, newer than those listed."))
    warning = _warning(report)
    if warning is not None:
        blocks.append(warning)
    pending = _waiting(waiting, report.now)
    if pending is not None:
        blocks.append(pending)
    offering = len(_offered(report, held_in) if chosen is None else chosen)
    already = _already(report, held_in, offering)
    if already is not None:
        blocks.append(already)
    if offering and snapshot_id is not None:
        blocks.append(_button(report, snapshot_id, offering))
    blocks.append(context(_footer(report, snapshot_id, zone)))
    return Message(text=_fallback(report, title), blocks=blocks)


def _fallback(report: StaleReport, title: str) -> str:
    counted = plural(report.test_count, "stale test order")
    text = f"{title}: {counted}" if title else counted[:1].upper() + counted[1:]
    if not report.rule_configured:
        text = f"{title or 'Stale orders'}: no test-order rule is set"
    if report.shown:
        text += f", oldest {format_age(report.now - report.shown[0].created_at)}"
    if report.non_test_count:
        kind = "non-test " if report.rule_configured else ""
        text += f"; {plural(report.non_test_count, f'stale {kind}New order')}"
    return escape(text)


def subscription_message(
    subscription: DigestSubscription | None,
    next_at: datetime | None,
    *,
    changed: str = "",
    days: str = "every day",
) -> Message:
    """``digest``, ``digest subscribe`` and ``digest unsubscribe`` replies (``days``:
    ``DIGEST_DAYS`` in words)."""
    if subscription is None:
        text = (changed + "\n" if changed else "") + (
            "This channel's digest subscription: *none*. Subscribe with "
            f"`{COMMAND} digest subscribe 09:00 Europe/Berlin` (time and zone are optional)."
        )
        return Message.note(text)
    lines = [changed] if changed else []
    when = f"*{escape(subscription.local_time)}* {escape(subscription.timezone)}"
    if days == "every day":
        lines.append(f"Daily digest in this channel at {when}.")
    else:
        lines.append(f"Digest in this channel at {when}, {days} (DIGEST_DAYS).")
    if next_at is not None:
        lines.append(f"Next one: {date_token(next_at, zone=zone_or_none(subscription.timezone))}.")
    if subscription.created_by:
        lines.append(f"Set by {user(subscription.created_by)}.")
    elif subscription.from_config:
        lines.append("Set by the bot's configuration (DIGEST_CHANNEL, DIGEST_TIME, TIMEZONE).")
    lines.append(
        f"Change it with `{COMMAND} digest subscribe HH:MM Area/City`, stop it with "
        f"`{COMMAND} digest unsubscribe`. Make sure the bot is in this channel."
    )
    text = "\n".join(lines)
    return Message.note(text)
