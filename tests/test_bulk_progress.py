"""A bulk hold updates its request message at most about once a second, then once at the end."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot import approval, holds
from bot.cartrover.models import CancelReply, Order
from bot.store.base import ItemState, RequestState
from bot.times import FrozenClock
from tests.digest_fakes import RecordingPoster, make_deps


class Book:
    """New orders whose sending a cancel stops; counts the cancels."""

    def __init__(self, refs: list[str]) -> None:
        self.canceled: dict[str, int] = dict.fromkeys(refs, 0)

    def get_order(self, ref: str) -> Order:
        flag = "Y" if self.canceled[ref] else "N"
        return Order.from_api({"cust_ref": ref, "order_status": "new", "sending_canceled": flag})

    def cancel_sending(self, ref: str) -> CancelReply:
        self.canceled[ref] += 1
        return CancelReply(True, "", "PID-1")

    def iter_orders(self, status: str = "new", **query: Any) -> list[Order]:
        return []


class CountingPoster(RecordingPoster):
    def __init__(self) -> None:
        super().__init__()
        self.updates: list[str] = []

    def update(self, channel: str, ts: str, text: str, blocks: Any) -> None:
        self.updates.append(text)


def test_progress_updates_are_throttled_to_one_a_second(tmp_path: Path) -> None:
    """50 orders taking 0.1 s each give 5 progress updates and one final one, all recorded."""
    clock = FrozenClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    refs = [f"BULK-{n:03d}" for n in range(50)]
    book, poster = Book(refs), CountingPoster()
    deps = make_deps(tmp_path / "bot.db", clock, poster=poster, cartrover=book)
    request = holds.open_request(
        deps, requester="U1", channel_id="C1", reason="", refs=refs, source="digest"
    )
    deps.store.set_message(request.id, "C1", "1700000000.000001")
    assert deps.store.decide(request.id, to=RequestState.EXECUTING, actor="U2", at=clock.now())
    ticks = iter(n / 10 for n in range(1000))  # each progress step 0.1 s after the last

    finished = approval.run_approved(deps, request.id, monotonic=lambda: next(ticks))
    assert finished is not None and finished.state is RequestState.DONE
    assert len(poster.updates) == 5 + 1
    assert {item.state for item in finished.items} == {ItemState.CANCELED}
    assert set(book.canceled.values()) == {1}
