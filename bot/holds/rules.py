"""The rules of a hold, in words: whether an order's sending can still be canceled, why an order
could not be read, why a click changes nothing, and what a person does by hand when the bot cannot
confirm. Pure."""

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

__all__ = ["MANUAL_FALLBACK", "RefusalReason", "already_open", "unread_reason", "why_not_holdable"]

MANUAL_FALLBACK = "In CartRover: the order's Actions Menu > To WMS > Cancel Sending to WMS."


def why_not_holdable(order: Order) -> str | None:
    """None if sending can be canceled; else the reason in words."""
    if order.order_status != "new":
        return f"it is {order.status_words}, not New: too late to cancel sending here"
    if order.sending_canceled is Flag.YES:
        return "sending is already canceled"
    if order.sending_canceled is not Flag.NO:
        return (
            f"CartRover sent an unexpected sending_canceled value ({order.raw_sending_canceled!r})"
        )
    return None


def already_open(claim: OpenOrder) -> str:
    """Why an order cannot go into a new request: an open one holds it."""
    return f"it is already in hold request #{claim.request_id} ({claim.state.value})"


def unread_reason(error: CartRoverError) -> str:
    """Why an order could not be read, in words."""
    if isinstance(error, OrderNotFound):
        return f"CartRover does not know it ({error.message})"
    if isinstance(error, AuthenticationFailed):
        return "CartRover refused the bot's API credentials (an admin should check them)"
    if isinstance(error, ConnectionFailed | Unavailable | RateLimited):
        return f"CartRover did not answer about it ({error.message}); try again later"
    return f"CartRover said: {error.message}"


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
