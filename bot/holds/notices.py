"""The words of a request's ending, for its card's thread: the notice that tells the requester
(mentioned) whether it was approved and carried out, rejected, withdrawn or expired, and — when the
card itself could not list every order — each order's outcome, :data:`LIST_CHUNK` to a reply.

Replies in the thread, not an uploaded file: they need no scope beyond ``chat:write`` (a file
needs ``files:write`` and a reinstall), they read and search like any message, and the
demo and the tests' local Slack show them. Pure, like :mod:`bot.holds.messages`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from bot.holds.items import card_lines, item_line, ordered
from bot.holds.messages import decision_reason, withdrawn
from bot.holds.rules import MANUAL_FALLBACK
from bot.holds.verdicts import ORDER_CANCELED, SHADOW
from bot.slack.blocks.message import Block, Message, context, section
from bot.slack.mrkdwn import code, escape, user
from bot.store.records import HoldRequest, ItemState, RequestState
from bot.times import format_age
from bot.words import agree, plural

__all__ = ["LIST_CHUNK", "outcome_list", "outcome_notice"]

LIST_CHUNK = 40  # orders per thread reply of a request's full outcome list

_ENDINGS = {
    RequestState.DONE: "is done",
    RequestState.FAILED: "finished with failures",
    RequestState.UNKNOWN: "finished, but not every cancel is confirmed",
}


def outcome_notice(request: HoldRequest) -> Message:
    """The reply in the card's thread that tells the requester (mentioned) how their request
    ended: decided, expired, or carried out and with what outcome."""
    who, number = user(request.requester), f"hold request #{request.id}"
    if withdrawn(request):
        text = f"{who} you withdrew {number}: nothing was sent to CartRover."
    elif request.state is RequestState.REJECTED:
        by = user(request.decided_by) if request.decided_by else "the bot"
        text = (
            f"{who} {by} rejected your {number}: nothing was sent to CartRover. Ask again with "
            "`/cartrover hold` if it is still needed."
        )
    elif request.state is RequestState.EXPIRED:
        ttl = format_age(request.expires_at - request.created_at)
        text = (
            f"{who} your {number} expired: nobody approved it within {ttl}, so nothing was sent "
            "to CartRover. Ask again with `/cartrover hold` if it is still needed."
        )
    else:
        text = f"{who} your {number} {_ENDINGS.get(request.state, 'ended')}: {_outcomes(request)}"
    message = Message.note(text)
    reason = decision_reason(request)  # a rejection's words, shown as on the card
    if reason is not None:
        message.blocks.append(reason)
    return message


# Per outcome, how many orders came to it, in words (several orders).
_COUNTED: tuple[tuple[ItemState, Callable[[int], str]], ...] = (
    (ItemState.WOULD_CANCEL, lambda n: f"{SHADOW} for {plural(n, 'order')}"),
    (ItemState.CANCELED, lambda n: f"sending to the WMS is canceled for {plural(n, 'order')}"),
    (
        ItemState.ORDER_CANCELED,
        lambda n: f"{ORDER_CANCELED} ({plural(n, 'order')} canceled themselves)",
    ),
    (
        ItemState.SKIPPED,
        lambda n: f"{plural(n, 'order')} left alone (not New, or already canceled)",
    ),
    (ItemState.FAILED, lambda n: f"{plural(n, 'order')} FAILED (sending is *not* canceled)"),
    (ItemState.NOT_CONFIRMED, lambda n: f"{plural(n, 'cancel')} NOT CONFIRMED"),
)


def _outcomes(request: HoldRequest) -> str:
    """What became of the orders, in counts (one order: its own line)."""
    counts = Counter(item.state for item in request.items)
    if len(request.items) == 1:
        (item,) = request.items
        if item.state is ItemState.CANCELED:
            text = f"sending to the WMS is canceled for {code(item.cust_ref)}."
        elif item.state is ItemState.ORDER_CANCELED:
            text = f"{ORDER_CANCELED}: {code(item.cust_ref)} itself was canceled."
        else:
            text = item_line(item, detail_limit=500) + "."
    else:
        text = "; ".join(words(counts[state]) for state, words in _COUNTED if counts[state]) + "."
        if not card_lines(request)[1]:
            text += " Every order's outcome follows in this thread."
    trouble = counts[ItemState.FAILED] + counts[ItemState.NOT_CONFIRMED]
    if trouble:
        which = agree(trouble, "that order", "those orders")
        text += f"\nCheck {which} by hand. {escape(MANUAL_FALLBACK)}"
    return text


def outcome_list(request: HoldRequest) -> list[Message]:
    """Every order's outcome, :data:`LIST_CHUNK` to a reply (failed and unconfirmed first), for
    the card's thread when the card itself could not list them all; else nothing."""
    if request.state not in _ENDINGS or card_lines(request)[1]:
        return []
    items, total = ordered(request.items), len(request.items)
    replies = []
    for start in range(0, total, LIST_CHUNK):
        chunk = items[start : start + LIST_CHUNK]
        span = f"{start + 1}–{start + len(chunk)} of {total}"
        lines = [item_line(item, detail_limit=150) for item in chunk]
        blocks: list[Block] = [context(f"Hold request #{request.id}: orders {span}")]
        blocks += [section(text) for text in _sections(lines)]
        replies.append(Message(text=f"Hold request #{request.id}: orders {span}", blocks=blocks))
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
