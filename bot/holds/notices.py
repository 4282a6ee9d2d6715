"""The words of a request's ending, for its card's thread: the notice that tells the requester how
it ended (:mod:`bot.holds.endings`), naming every order that got through with its next step, and
— when the card itself could not list every order — each order's outcome, :data:`LIST_CHUNK` to
a reply.

The notice mentions the requester, once, before a colon: ``@alex: hold request #3 was rejected by
@kim``, so the one who acted is never read as a second addressee; a withdrawal mentions nobody
(its requester did it). Replies in the thread, not an uploaded file: they need no scope beyond
``chat:write``, they read and search like any message, and the demo and the tests' local Slack
show them. Pure, like :mod:`bot.holds.card`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from bot.holds.card import LISTING_CHUNK, decision_reason, thread_replies
from bot.holds.endings import Ending, ending
from bot.holds.items import card_lines, item_line, ordered
from bot.holds.rules import MANUAL_FALLBACK
from bot.holds.verdicts import ORDER_CANCELED, SHADOW
from bot.slack.blocks.message import Message
from bot.slack.mrkdwn import addressed, code, escape, user
from bot.store.records import HoldRequest, ItemState
from bot.times import hours
from bot.words import agree, listing, plural

__all__ = ["LIST_CHUNK", "outcome_list", "outcome_notice"]

LIST_CHUNK = LISTING_CHUNK  # orders per thread reply of a request's full outcome list
_MOVED_ON_NAMED = 10  # orders that got through, named one by one in the notice
_CARRIED_OUT = (
    Ending.DONE,
    Ending.SHADOW,
    Ending.PARTLY,
    Ending.MOVED_ON,
    Ending.FAILED,
    Ending.UNCONFIRMED,
)
_AGAIN = "Ask again with `/cartrover hold` if it is still needed."


def outcome_notice(request: HoldRequest) -> Message:
    """The reply in the card's thread that tells the requester how their request ended."""
    number = f"hold request #{request.id}"
    how = ending(request)
    if how is Ending.WITHDRAWN:
        text = f"Hold request #{request.id} was withdrawn; no cancel was sent to CartRover."
    elif how is Ending.REJECTED:
        by = user(request.decided_by) if request.decided_by else "the bot"
        text = addressed(
            request.requester,
            f"{number} was rejected by {by}; no cancel was sent to CartRover. {_AGAIN}",
        )
    elif how is Ending.EXPIRED:
        ttl = round((request.expires_at - request.created_at).total_seconds() / 3600, 2)
        text = addressed(
            request.requester,
            f"{number} expired — nobody approved it within {hours(ttl)}, so no cancel was sent "
            f"to CartRover. {_AGAIN}",
        )
    else:
        text = addressed(request.requester, f"{number} {_verdict(request, how)}")
    message = Message.note(text)
    reason = decision_reason(request)  # a rejection's words, shown as on the card
    if reason is not None:
        message.blocks.append(reason)
    return message


def _verdict(request: HoldRequest, how: Ending) -> str:
    """What became of the orders of an approved (or self-ended) request, truthfully."""
    counts = Counter(item.state for item in request.items)
    words = {
        Ending.DONE: "is done",
        Ending.SHADOW: "ended without stopping anything",
        Ending.PARTLY: "is partly done",
        Ending.MOVED_ON: "ended with nothing stopped — every order had moved on",
        Ending.FAILED: "failed — nothing was stopped",
        Ending.UNCONFIRMED: "has ended, but not every cancel is confirmed",
    }[how]
    parts = []
    stopped = [code(i.cust_ref) for i in request.items if i.state is ItemState.CANCELED]
    if stopped:
        parts.append(f"sending to the WMS is stopped for {_named_or_counted(stopped)}")
    if counts[ItemState.ORDER_CANCELED]:
        themselves = plural(counts[ItemState.ORDER_CANCELED], "order")
        parts.append(f"{ORDER_CANCELED} ({themselves} canceled themselves)")
    shadowed = [code(i.cust_ref) for i in request.items if i.state is ItemState.WOULD_CANCEL]
    if shadowed:
        parts.append(f"{SHADOW} for {_named_or_counted(shadowed)}")
    failed = counts[ItemState.FAILED]
    if failed:
        parts.append(f"{plural(failed, 'order')} FAILED (still going to the WMS)")
    if counts[ItemState.NOT_CONFIRMED]:
        parts.append(f"{plural(counts[ItemState.NOT_CONFIRMED], 'cancel')} NOT CONFIRMED")
    glue = " — " if how is Ending.SHADOW else ": "
    text = words + (glue + "; ".join(parts) if parts else "") + "."
    text += _got_through(request)
    if not card_lines(request)[1]:
        text += "\nEvery order's outcome follows in this thread."
    trouble = failed + counts[ItemState.NOT_CONFIRMED]
    if trouble:
        lines = [item_line(i, detail_limit=300) for i in ordered(request.items)][:trouble]
        text += "\n" + "\n".join(lines[:5])
        which = agree(trouble, "that order", "those orders")
        text += f"\nCheck {which} by hand. {escape(MANUAL_FALLBACK)}"
    return text


def _named_or_counted(refs: Sequence[str]) -> str:
    """Up to three orders named (``a, b and c``), more counted (``5 orders``)."""
    return listing(refs) if len(refs) <= 3 else plural(len(refs), "order")


def _got_through(request: HoldRequest) -> str:
    """The orders that had moved on before their cancel, each with what to do next."""
    moved = [item for item in request.items if item.state is ItemState.SKIPPED]
    if not moved:
        return ""
    lines = [item_line(item, detail_limit=300) for item in moved[:_MOVED_ON_NAMED]]
    if len(moved) > _MOVED_ON_NAMED:
        lines.append(f"…and {len(moved) - _MOVED_ON_NAMED} more, in this thread.")
    return "\n" + "\n".join(lines)


def outcome_list(request: HoldRequest) -> list[Message]:
    """Every order's outcome, :data:`LIST_CHUNK` to a reply (failed and unconfirmed first), for
    the card's thread when the card itself could not list them all; else nothing."""
    if ending(request) not in _CARRIED_OUT or card_lines(request)[1]:
        return []
    lines = [item_line(item, detail_limit=150) for item in ordered(request.items)]
    return thread_replies(request, lines, f"Hold request #{request.id}: orders")
