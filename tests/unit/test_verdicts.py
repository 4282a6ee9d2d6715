"""What a verifying read makes of a cancel that was sent, at the first and the second look."""

from __future__ import annotations

import pytest

from bot.cartrover.errors import ConnectionFailed
from bot.cartrover.models import Order
from bot.holds.verdicts import CHECKING_AGAIN, ORDER_CANCELED, Sent, verdict
from bot.store.records import ItemState

ACCEPTED = Sent("T-1", refused=False, context="")
REFUSED = Sent("T-1", refused=True, context="CartRover refused: locked")


def order(status: str, sending_canceled: str = "N") -> Order:
    return Order.from_api(
        {"cust_ref": "T-1", "order_status": status, "sending_canceled": sending_canceled}
    )


@pytest.mark.parametrize(
    ("sent", "read", "first", "last", "words"),
    [
        (ACCEPTED, order("new", "Y"), ItemState.CANCELED, ItemState.CANCELED, "sending canceled"),
        (REFUSED, order("new", "Y"), ItemState.CANCELED, ItemState.CANCELED, "locked"),
        (ACCEPTED, order("canceled"), ItemState.ORDER_CANCELED, ItemState.ORDER_CANCELED, ""),
        (REFUSED, order("new"), ItemState.FAILED, ItemState.FAILED, "still shows New"),
        (ACCEPTED, order("new"), ItemState.CHECKING, ItemState.NOT_CONFIRMED, "still shows New"),
        (REFUSED, order("at_wms"), ItemState.FAILED, ItemState.FAILED, "cancel it in the WMS"),
        (
            ACCEPTED,
            order("at_wms"),
            ItemState.CHECKING,
            ItemState.NOT_CONFIRMED,
            "may have asked the WMS to cancel it",
        ),
        (
            ACCEPTED,
            ConnectionFailed("timed out", request_sent=True),
            ItemState.CHECKING,
            ItemState.NOT_CONFIRMED,
            "could not re-read",
        ),
        (ACCEPTED, None, ItemState.CHECKING, ItemState.NOT_CONFIRMED, "no answer"),
    ],
)
def test_each_read_has_its_outcome_at_each_look(
    sent: Sent,
    read: Order | ConnectionFailed | None,
    first: ItemState,
    last: ItemState,
    words: str,
) -> None:
    """Shown canceled (sending or order) and clear failures are final at once; everything else
    is "checking" at the first look and "not confirmed" only at the second."""
    (at_first, said_first), (at_last, said_last) = (
        verdict(sent, read, last=False),
        verdict(sent, read, last=True),
    )
    assert (at_first, at_last) == (first, last)
    assert words in said_first and words in said_last
    assert said_first.endswith(CHECKING_AGAIN) == (first is ItemState.CHECKING)
    assert not said_last.endswith(CHECKING_AGAIN)
    if sent.context:
        assert said_last.startswith(sent.context)


def test_an_order_canceled_is_never_worded_as_sending_canceled() -> None:
    """The two outcomes have different words (unknown #1: wms_cancel may cancel the order)."""
    state, words = verdict(ACCEPTED, order("canceled"), last=True)
    assert state is ItemState.ORDER_CANCELED and words == "Canceled"
    assert "sending" not in ORDER_CANCELED
