"""A hold request's card: what an approver needs to decide with confidence, then what became of
each order.

While the request waits, each order shows its source, when it was created and how old it is,
where it ships (city and state), how many units, and whether it matches the test-order rule; an
order that does not is marked "⚠ not a test order" in words, and listed first. A request too big
for the card is summarised there (counts by source, test and not test) and its orders are listed
in the card's thread (:func:`order_listing`). The card mentions the approvers
(:class:`CardContext`). Once decided, it shows the decision and each order's outcome, and its
title says truthfully how it ended (:mod:`bot.holds.endings`).

Within Slack's limits: at most a dozen blocks, order lines within
:data:`~bot.holds.items.ITEMS_LIMIT` characters; each outcome line is :mod:`bot.holds.items`.
Pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from bot.holds.endings import ending, withdrawn
from bot.holds.items import (
    ITEMS_LIMIT,
    NEEDS_A_LOOK,
    card_lines,
    checking,
    item_line,
    tally,
    within_card,
)
from bot.holds.rules import MANUAL_FALLBACK
from bot.slack.blocks.message import Block, Message, context, header, lines_within, section
from bot.slack.ids import APPROVE_HOLD, REJECT_HOLD
from bot.slack.mrkdwn import code, date_token, escape, literal, mentions, one_line, user
from bot.store.records import HoldItem, HoldRequest, ItemState, RequestState
from bot.times import old, time_left
from bot.words import agree, listing, plural

__all__ = [
    "NOT_TEST",
    "CardContext",
    "decision_buttons",
    "decision_note",
    "decision_reason",
    "hold_message",
    "named_approvers",
    "order_line",
    "order_listing",
    "thread_replies",
]

NOT_TEST = "⚠ not a test order"
LISTING_CHUNK = 40  # orders per thread reply of a request's order list


@dataclass(frozen=True)
class CardContext:
    """What the card needs beyond the request: the zone its times are written in, and who to
    reach while it waits (``notify``: ``mention``, ``dm`` or ``off``; ``approvers``: the ids
    in ``APPROVERS``, user groups and users; ``shadow``: ``SHADOW_MODE``, so an approval
    cancels nothing and the card says so before anyone decides)."""

    zone: tzinfo = UTC
    notify: str = "mention"
    approvers: tuple[str, ...] = ()
    shadow: bool = False


# -------------------------------------------------------------------- order lines


def order_line(item: HoldItem, now: datetime, zone: tzinfo = UTC) -> str:
    """One order as an approver sees it before deciding (mrkdwn, escaped)."""
    if item.state is ItemState.SKIPPED:
        return item_line(item)
    facts = item.facts
    if facts is None:
        return code(item.cust_ref)
    parts = [NOT_TEST if not facts.is_test else f"test order ({literal(facts.test_reason)})"]
    if facts.source and not (facts.test_reason or "").startswith("source "):
        parts.append(literal(facts.source))
    if item.order_created_at is not None:
        created = date_token(item.order_created_at, zone=zone)
        parts.append(f"created {created} ({old(now - item.order_created_at)})")
    place = ", ".join(p for p in (facts.ship_city, facts.ship_state) if p)
    if place:
        parts.append(f"ships to {literal(place)}")
    if facts.units is not None:
        parts.append(plural(facts.units, "unit"))
    return f"{code(item.cust_ref)} — " + " · ".join(parts)


def _not_test_first(items: Sequence[HoldItem]) -> list[HoldItem]:
    """Orders still waiting before those that moved on, the ones that are not test orders
    first among them."""
    return sorted(
        items,
        key=lambda item: (
            item.state is not ItemState.QUEUED,
            item.facts is None or item.facts.is_test,
        ),
    )


def _waiting(request: HoldRequest) -> list[HoldItem]:
    """The orders of a waiting request still to decide on (not moved on meanwhile)."""
    return [item for item in request.items if item.state is ItemState.QUEUED]


def _summary_by_source(items: Sequence[HoldItem]) -> str:
    """Counts by source, then test and not test: what a long request holds at a glance."""
    sources = Counter(item.facts.source or "no source" for item in items if item.facts)
    by_source = " · ".join(f"{literal(name)} {count}" for name, count in sources.most_common(8))
    if len(sources) > 8:
        by_source += f" · {plural(len(sources) - 8, 'other source')}"
    tests = sum(1 for item in items if item.facts and item.facts.is_test)
    others = sum(1 for item in items if item.facts and not item.facts.is_test)
    counted = plural(tests, "test order")
    if others:
        counted += f" · *⚠ {others} not {agree(others, 'a test order', 'test orders')}*"
    return f"*By source:* {by_source}\n{counted}" if by_source else counted


def _order_lines(request: HoldRequest, now: datetime, zone: tzinfo) -> tuple[list[str], bool]:
    """Every order of a waiting request as a line, and whether the card has room for them all."""
    lines = [order_line(item, now, zone) for item in _not_test_first(request.items)]
    return lines, within_card(lines)[1]


def _waiting_orders(request: HoldRequest, now: datetime, zone: tzinfo) -> list[Block]:
    lines, fits = _order_lines(request, now, zone)
    blocks: list[Block] = []
    items = _waiting(request)  # the warning is about the orders still to decide on
    others = sum(1 for item in items if item.facts is not None and not item.facts.is_test)
    if others:
        if len(items) == 1:
            warning = "This order is not a test order"
        elif others == len(items):
            warning = "None of these orders is a test order"
        else:
            what = agree(others, "is not a test order", "are not test orders")
            warning = f"{others} of {len(items)} orders {what}"
        blocks.append(section(f"⚠ *{warning}* — check before approving."))
    shown = "\n".join(lines)
    if not fits:
        shown = _summary_by_source(items) + "\n" + lines_within(lines, limit=ITEMS_LIMIT - 400)
        shown += "\nEvery order is listed in this message's thread."
    blocks.append(section(shown, block_id=f"hold-{request.id}-pending-orders"))
    return blocks


def order_listing(request: HoldRequest, now: datetime, zone: tzinfo = UTC) -> list[Message]:
    """Every order of a waiting request, :data:`LISTING_CHUNK` to a reply, for the card's
    thread when the card could not list them all; else nothing."""
    lines, fits = _order_lines(request, now, zone)
    if fits:
        return []
    return thread_replies(request, lines, f"Hold request #{request.id}, waiting: orders")


def thread_replies(request: HoldRequest, lines: Sequence[str], heading: str) -> list[Message]:
    """``lines`` about ``request``'s orders as replies for its card's thread,
    :data:`LISTING_CHUNK` to a reply, each headed ``heading`` and which of them it holds."""
    replies = []
    total = len(lines)
    for start in range(0, total, LISTING_CHUNK):
        chunk = lines[start : start + LISTING_CHUNK]
        title = f"{heading} {start + 1}–{start + len(chunk)} of {total}"
        blocks: list[Block] = [context(title)]
        blocks += [section(text) for text in _sections(chunk)]
        replies.append(Message(text=title, blocks=blocks))
    return replies


def _sections(lines: Sequence[str], limit: int = 2900) -> list[str]:
    """``lines`` in as few texts of at most ``limit`` characters as they fill."""
    texts: list[str] = []
    current: list[str] = []
    for line in lines:
        if current and sum(len(text) + 1 for text in current) + len(line) > limit:
            texts.append("\n".join(current))
            current = []
        current.append(line)
    if current:
        texts.append("\n".join(current))
    return texts


# -------------------------------------------------------------------- the card


def _summary(request: HoldRequest) -> str:
    refs = request.cust_refs
    label = "Order" if len(refs) == 1 else f"{len(refs)} orders"
    text = f"*{label}:* " + lines_within([code(ref) for ref in refs], limit=2800).replace("\n", " ")
    text += f"\n*Requested by:* {user(request.requester)}"
    if request.source == "digest":
        text += " with “Request hold for all”"
    return text


def _reason(request: HoldRequest) -> Block:
    """The requester's words in a block of their own, as one escaped inline-code span: no line of
    the card's own, no bold label, mention or link can be made of them."""
    reason = one_line(request.reason)
    return context(f"*Reason:* {code(reason) if reason else '_none given_'}")


def approvers_line(request: HoldRequest, card: CardContext) -> str:
    """Who is asked to decide, as the card says it (mentions only with ``notify=mention``)."""
    if card.notify == "dm":
        return "The approvers were sent a direct message."
    if card.notify != "mention":
        return ""
    named = named_approvers(request, card.approvers)
    return f"*Approvers:* {named}" if named else ""


def named_approvers(request: HoldRequest, approvers: Sequence[str]) -> str:
    """The approvers' user groups when ``APPROVERS`` names any, else up to five approvers (the
    requester left out), as mentions."""
    groups = [a for a in approvers if a.startswith("S")]
    people = [a for a in approvers if not a.startswith("S") and a != request.requester]
    return mentions(groups) if groups else mentions(people, at_most=5)


def _confirm_text(refs: Sequence[str], *, shadow: bool = False) -> str:
    """Name up to five orders and count the rest, within the dialog's 300 characters."""
    text = ""
    for shown in range(min(len(refs), 5), 0, -1):
        more = [f"{len(refs) - shown} more"] if len(refs) > shown else []
        named = listing([*refs[:shown], *more])
        them = agree(len(refs), "it", "them")
        text = f"Stop sending {named} to the WMS? CartRover will not send {them}."
        if shadow:
            text = (
                f"Shadow mode: nothing will be canceled. Re-check {named} and report what "
                "would have been canceled?"
            )
        if len(text) <= 300:
            break
    return text


def _to_stop(request: HoldRequest) -> list[str]:
    """The orders an approval would stop: those still waiting (all, if none is)."""
    return [item.cust_ref for item in _waiting(request)] or request.cust_refs


def decision_buttons(
    request: HoldRequest, *, approve: bool = True, withdraw: bool = False, shadow: bool = False
) -> Block:
    """Approve and Reject (or, for the requester, Withdraw) of a waiting request; in shadow
    mode the Approve dialog says that nothing will be canceled."""
    elements: list[dict[str, object]] = []
    if approve:
        elements.append(
            {
                "type": "button",
                "action_id": APPROVE_HOLD,
                "text": {"type": "plain_text", "text": "Approve"},
                "style": "primary",
                "value": str(request.id),
                "confirm": {
                    "title": {"type": "plain_text", "text": "Stop sending?"},
                    "text": {
                        "type": "plain_text",
                        "text": _confirm_text(_to_stop(request), shadow=shadow),
                    },
                    "confirm": {"type": "plain_text", "text": "Stop sending"},
                    "deny": {"type": "plain_text", "text": "Not now"},
                    "style": "danger",
                },
            }
        )
    elements.append(
        {
            "type": "button",
            "action_id": REJECT_HOLD,
            "text": {"type": "plain_text", "text": "Withdraw" if withdraw else "Reject"},
            "style": "danger",
            "value": str(request.id),
        }
    )
    return {"type": "actions", "block_id": f"hold-{request.id}-actions", "elements": elements}


def decision_reason(request: HoldRequest) -> Block | None:
    """The words a rejection came with, in a block of their own like the request's reason."""
    reason = one_line(request.decision_reason)
    if request.state is not RequestState.REJECTED or not reason:
        return None
    verb = "withdrawing" if withdrawn(request) else "rejecting"
    return context(f"*Reason for {verb}:* {code(reason)}")


def decision_note(request: HoldRequest, zone: tzinfo = UTC) -> str:
    """Who decided and when, and what that meant for CartRover."""
    who = user(request.decided_by) if request.decided_by else "the bot"
    when = f" ({date_token(request.decided_at, zone=zone)})" if request.decided_at else ""
    state = request.state
    if state is RequestState.REJECTED:
        verb = "Withdrawn" if withdrawn(request) else "Rejected"
        return f"{verb} by {who}{when}. No cancel was sent to CartRover."
    if state is RequestState.EXPIRED:
        return "Nobody decided in time, so no cancel was sent to CartRover. Ask again if needed."
    if request.decided_by is None:
        return f"Ended by the bot{when}: every order had moved on before anyone decided."
    return f"Approved by {who}{when}."


def hold_message(request: HoldRequest, now: datetime, card: CardContext | None = None) -> Message:
    """The card in its current state; buttons only while it waits."""
    card = card or CardContext()
    state = request.state
    blocks = [
        header(f"#{request.id} · {ending(request).value}"),
        section(_summary(request), block_id=f"hold-{request.id}-{state.value}-summary"),
        _reason(request),
    ]
    if state is RequestState.PENDING:
        blocks += _waiting_orders(request, now, card.zone)
        reach = approvers_line(request, card)
        if reach:
            blocks.append(context(reach))
        effect = (
            "*Shadow mode:* approving re-reads the orders and reports what would have been "
            "canceled; nothing is sent to CartRover's cancel."
            if card.shadow
            else "Approving stops *sending to the WMS*; it never deletes an order."
        )
        blocks.append(
            context(
                f"Expires {date_token(request.expires_at, zone=card.zone)} "
                f"({time_left(request.expires_at - now)}). {effect}"
            )
        )
        blocks.append(decision_buttons(request, shadow=card.shadow))
    else:
        blocks.append(context(decision_note(request, card.zone)))
        why = decision_reason(request)
        if why is not None:
            blocks.append(why)
        blocks += _outcomes(request)
    refs = ", ".join(request.cust_refs[:20])
    text = escape(f"Hold request #{request.id} ({ending(request).words}): {refs}")
    if state is RequestState.PENDING and card.notify == "mention":
        named = named_approvers(request, card.approvers)
        if named:
            text += f" — approvers: {named}"  # the notification names them too
    return Message(text=text, blocks=blocks)


def _outcomes(request: HoldRequest) -> list[Block]:
    state = request.state
    if state in (RequestState.REJECTED, RequestState.EXPIRED):
        return []
    done = sum(1 for item in request.items if item.state.is_final)
    lines, complete = card_lines(request)
    if state.is_final and not complete:
        lines += "\nEvery order's outcome is in this message's thread."
    blocks = [
        section(
            f"*Progress:* {done} of {len(request.items)}{tally(request.items)}\n" + lines,
            block_id=f"hold-{request.id}-{state.value}-{done}-items",
        )
    ]
    if checking(request):
        blocks.append(
            context(
                "CartRover does not show every cancel at once: the orders not confirmed yet are "
                "read again about a minute after the first look, and never sent again."
            )
        )
    if any(item.state in NEEDS_A_LOOK for item in request.items):
        blocks.append(context(f"Check these orders by hand. {escape(MANUAL_FALLBACK)}"))
    if any(item.state is ItemState.ORDER_CANCELED for item in request.items):
        blocks.append(
            context(
                "CartRover canceled these orders themselves, not only their sending: check in "
                "the order source (the cart) that this is what you want."
            )
        )
    return blocks
