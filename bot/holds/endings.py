"""How a hold request ended, told truthfully: one classification that the card's title, the
requester's notice and the App Home all use.

- **done** only when at least one order's sending was stopped (or the order itself canceled in
  CartRover) and none failed or stays unconfirmed (orders that had moved on meanwhile are named,
  with their next step); in shadow mode, that nothing was stopped;
- **partly done** when some were stopped and others failed;
- **nothing stopped** when every order had moved on (to the WMS, canceled elsewhere) before its
  cancel, whether the request was approved or ended itself while it waited;
- **failed** when none was stopped and some failed; **not confirmed** when a cancel's effect
  could not be seen;
- rejected, withdrawn, expired: no cancel was sent to CartRover.

Pure.
"""

from __future__ import annotations

from enum import StrEnum

from bot.holds.items import checking, shadowed
from bot.store.records import HoldRequest, ItemState, RequestState

__all__ = ["STOPPED", "Ending", "ending", "withdrawn"]

# An order whose sending is stopped: its sending canceled, or the order itself canceled in
# CartRover (it will not be sent either; the card asks for a look at the cart).
STOPPED = (ItemState.CANCELED, ItemState.ORDER_CANCELED)


class Ending(StrEnum):
    """How a request ended (or that it has not); the value is the card's title."""

    WAITING = "Hold request: stop sending to the WMS?"
    RUNNING = "Hold request approved: stopping sending…"
    CHECKING = "Hold request approved: checking again…"
    DONE = "Hold request done: sending stopped"
    SHADOW = "Hold request done in shadow mode: nothing was stopped"
    PARTLY = "Hold request partly done"
    MOVED_ON = "Hold request ended: nothing stopped — every order had moved on"
    FAILED = "Hold request failed: nothing stopped"
    UNCONFIRMED = "Hold request finished: some cancels NOT CONFIRMED"
    REJECTED = "Hold request rejected"
    WITHDRAWN = "Hold request withdrawn"
    EXPIRED = "Hold request expired: no cancel was sent"

    @property
    def words(self) -> str:
        """The title without "Hold request": ``done: sending stopped``."""
        return self.value.removeprefix("Hold request").strip(" :")


def withdrawn(request: HoldRequest) -> bool:
    """A rejection by the requester: the request was withdrawn."""
    return request.state is RequestState.REJECTED and request.decided_by == request.requester


def ending(request: HoldRequest) -> Ending:
    """The request's ending, from its state and what became of each order."""
    state = request.state
    if state is RequestState.PENDING:
        return Ending.WAITING
    if state is RequestState.EXECUTING:
        return Ending.CHECKING if checking(request) else Ending.RUNNING
    if state is RequestState.REJECTED:
        return Ending.WITHDRAWN if withdrawn(request) else Ending.REJECTED
    if state is RequestState.EXPIRED:
        return Ending.EXPIRED
    stopped = any(item.state in STOPPED for item in request.items)
    if state is RequestState.UNKNOWN:
        return Ending.UNCONFIRMED
    if state is RequestState.FAILED:
        return Ending.PARTLY if stopped else Ending.FAILED
    if not stopped and shadowed(request):
        return Ending.SHADOW
    return Ending.DONE if stopped else Ending.MOVED_ON
