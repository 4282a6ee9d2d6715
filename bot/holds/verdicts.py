"""What a verifying read says about a cancel that was sent: the order's outcome and its words.
Pure.

Every cancel is sent only after a re-read showed the order New with sending not canceled, so
whatever the verifying read shows is what the cancel (or the world meanwhile) made of a New order:

- ``sending_canceled`` ``"Y"``: **canceled** (sending canceled).
- status ``canceled``: **order canceled** — CartRover canceled the order itself, not only its
  sending (unknown #1: what ``wms_cancel`` does), so the words differ: "order canceled in
  CartRover — check the cart".
- a clear refusal and the order still New and to be sent: **failed**.
- a clear refusal and the order gone on to the WMS (or further): **failed**, and saying so: it
  reached the WMS before the cancel, which CartRover refused; it must be canceled in the WMS.
- an acceptance (or an unreadable answer) and the order gone on: not confirmed — CartRover may
  have asked the WMS to cancel it (unknown #16: the help centre's "Cancel Order in WMS" is
  asynchronous, with no guarantee).
- anything else, or no read at all: not confirmed.

"Not confirmed" is final only at the second look: the first one answers **checking**, and the
order is read once more about a minute later (:data:`RECHECK_AFTER`), never sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.cartrover.errors import CartRoverError
from bot.cartrover.models import Order
from bot.store.records import HoldRequest, ItemState

__all__ = [
    "CHECKING_AGAIN",
    "ORDER_CANCELED",
    "READ_AGAIN",
    "RECHECK_AFTER",
    "SHADOW",
    "Sent",
    "second_look_due",
    "verdict",
]

RECHECK_AFTER = timedelta(minutes=1)  # from the first verifying read to the second
CHECKING_AGAIN = "checking again about a minute later"
READ_AGAIN = "read again a minute later"  # between the first look's words and the second's
ORDER_CANCELED = "order canceled in CartRover — check the cart"
SHADOW = "shadow mode: would have canceled sending"  # an item's words; the card adds "for `X`"


@dataclass(frozen=True)
class Sent:
    """What one order's cancel call said, waiting for the verifying read."""

    ref: str
    refused: bool  # CartRover clearly did not act: a refusal, or nothing was sent at all
    context: str  # what happened, in words ("" for a plain acceptance)
    process_ids: tuple[str, ...] = ()


def verdict(
    sent: Sent, read: Order | CartRoverError | None, *, last: bool
) -> tuple[ItemState, str]:
    """The item's state and words after a verifying ``read`` of ``sent``. ``last``: this is the
    second look, so "not confirmed" is final (else it is CHECKING)."""
    unconfirmed = ItemState.NOT_CONFIRMED if last else ItemState.CHECKING
    if not isinstance(read, Order):
        error = read or CartRoverError("no answer")
        return unconfirmed, _words(sent, f"could not re-read to verify ({error.message})", last)
    shows = read.status_words
    if read.order_status == "canceled":
        return ItemState.ORDER_CANCELED, _words(sent, shows, last=True)
    if read.is_sending_canceled:
        return ItemState.CANCELED, _words(sent, shows, last=True)
    if read.is_new:
        state = ItemState.FAILED if sent.refused and read.will_be_sent else unconfirmed
        return state, _words(sent, f"CartRover still shows {shows}", last or state.is_final)
    if sent.refused:
        moved = (
            f"it went on to {shows} before the cancel, which CartRover refused: sending was not "
            "canceled; cancel it in the WMS"
        )
        return ItemState.FAILED, _words(sent, moved, last=True)
    moved = (
        f"CartRover took the cancel, but the order is now {shows}: it may have asked the WMS "
        "to cancel it, with no guarantee; check the order in the WMS"
    )
    return unconfirmed, _words(sent, moved, last)


def _words(sent: Sent, detail: str, last: bool) -> str:
    text = f"{sent.context}; {detail}" if sent.context else detail
    return text if last else f"{text}; {CHECKING_AGAIN}"


def second_look_due(request: HoldRequest) -> datetime | None:
    """When the first of the request's second looks is due, if one is waiting."""
    due = [
        item.updated_at + RECHECK_AFTER
        for item in request.items
        if item.state is ItemState.CHECKING and item.updated_at is not None
    ]
    return min(due, default=None)
