"""The rules of a hold request, in words: whether an order's sending can still be stopped (and if
not, what became of it), why an order could not be read, why a click changes nothing, and what a
person does by hand when the bot cannot confirm. Pure."""

from __future__ import annotations

from enum import StrEnum

from bot.cartrover.errors import (
    AuthenticationFailed,
    CartRoverError,
    ConnectionFailed,
    OrderNotFound,
    RateLimited,
    Unavailable,
)
from bot.cartrover.models import Flag, Order
from bot.store.records import OpenOrder

__all__ = [
    "MANUAL_FALLBACK",
    "NOT_KNOWN",
    "RefusalReason",
    "already_open",
    "moved_on",
    "unread_reason",
]

NOT_KNOWN = "is not known to CartRover"
MANUAL_FALLBACK = "In CartRover: the order's Actions Menu > To WMS > Cancel Sending to WMS."


def moved_on(order: Order) -> str | None:
    """None while sending to the WMS can still be stopped; else what became of the order and
    what a person does next, as words that follow its reference: ``went to the WMS — cancel it
    there``."""
    status = order.order_status
    if status == "new":
        if order.sending_canceled is Flag.NO:
            return None
        if order.sending_canceled is Flag.YES:
            return "was already stopped from sending — nothing to do"
        return (
            "has an unexpected sending_canceled value "
            f"({order.raw_sending_canceled or 'missing'}) — check it in CartRover"
        )
    if status == "at_wms":
        return "went to the WMS — cancel it there"
    if status in ("shipped", "confirmed"):
        return "has shipped — too late to stop"
    if status == "canceled":
        return "was canceled in CartRover — nothing will be sent"
    if status == "error":
        return "is held by CartRover with an error — fix or cancel it in CartRover"
    return f"is {order.status_words} — check it in CartRover"


def already_open(claim: OpenOrder) -> str:
    """Why an order cannot go into a new request: an open one holds it."""
    return f"is already in hold request #{claim.request_id} ({claim.state.value})"


def unread_reason(error: CartRoverError) -> str:
    """Why an order could not be read, in words."""
    if isinstance(error, OrderNotFound):
        return f"{NOT_KNOWN} ({error.message})"
    if isinstance(error, AuthenticationFailed):
        return (
            "could not be read: CartRover refused the bot's API credentials "
            "(an admin should check them)"
        )
    if isinstance(error, ConnectionFailed | Unavailable | RateLimited):
        return f"could not be read: CartRover did not answer ({error.message}); try again later"
    return f"could not be read: CartRover said {error.message}"


class RefusalReason(StrEnum):
    """Why a click changed nothing. The value is what the audit trail records."""

    NO_APPROVERS = "nobody may approve: APPROVERS is not set"
    NOT_APPROVER = "not an approver"
    OWN_REQUEST = "asked for this hold, so a second person must approve it"
    MAY_NOT_REJECT = "neither an approver nor the requester"
    EXPIRED = "the request had expired"
    ALREADY_DECIDED = "the request was already decided"
    OTHER_WORKSPACE = "a button of another workspace"
    BAD_VALUE = "a button without a valid request number"
    NO_SUCH_REQUEST = "no such hold request"
    NO_SUCH_LIST = "no such list of stale orders"
    WRONG_MESSAGE = "a button on another message than the request's card"
    WRONG_VIEW = "a button on a view that is not the clicker's current App Home"
