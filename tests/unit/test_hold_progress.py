"""A bulk hold updates its request message at most about once a second, then once at the end."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.cartrover.errors import Withheld
from bot.cartrover.models import CancelOutcome, CancelReply, Order
from bot.holds import flow, requests
from bot.store.records import ItemState, RequestState
from bot.times import FrozenClock
from tests.fakes import RecordingPoster, make_deps


class Book:
    """New orders whose sending a cancel stops; counts the cancels."""

    def __init__(self, refs: list[str]) -> None:
        self.canceled: dict[str, int] = dict.fromkeys(refs, 0)

    def get_order(self, ref: str) -> Order:
        flag = "Y" if self.canceled[ref] else "N"
        return Order.from_api({"cust_ref": ref, "order_status": "new", "sending_canceled": flag})

    def get_orders(self, refs: list[str], created: Any = None) -> dict[str, Order]:
        return {ref: self.get_order(ref) for ref in refs}

    def cancel_sending(
        self, ref: str, *, go_ahead: Callable[[], bool] | None = None
    ) -> CancelReply:
        if go_ahead is not None and not go_ahead():
            raise Withheld("not sent")
        self.canceled[ref] += 1
        return CancelReply(CancelOutcome.ACCEPTED, "", "PID-1")

    def iter_orders(self, status: str = "new", **query: Any) -> list[Order]:
        return []


class CountingPoster(RecordingPoster):
    def __init__(self) -> None:
        super().__init__()
        self.updates: list[str] = []

    def update(self, channel: str, ts: str, text: str, blocks: Any) -> None:
        self.updates.append(text)


def test_progress_updates_are_throttled_to_one_a_second(tmp_path: Path) -> None:
    """Progress steps 0.1 s apart (one per order sent, one per verified batch) give one update a
    second and one final one, all recorded."""
    clock = FrozenClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    refs = [f"BULK-{n:03d}" for n in range(50)]
    book, poster = Book(refs), CountingPoster()
    deps = make_deps(tmp_path / "bot.db", clock, poster=poster, cartrover=book)
    request = requests.open_request(
        deps.holds,
        clock,
        ttl=timedelta(hours=1),
        requester="U1",
        channel_id="C1",
        reason="",
        refs=refs,
        source="digest",
    )
    deps.holds.set_message(request.id, "C1", "1700000000.000001")
    assert deps.holds.decide(request.id, to=RequestState.EXECUTING, actor="U2", at=clock.now())
    steps = iter(range(1000))  # each progress step 0.1 s after the last
    taken: list[int] = []

    def monotonic() -> float:
        taken.append(next(steps))
        return taken[-1] / 10

    finished = flow.run_approved(deps, request.id, monotonic=monotonic)
    assert finished is not None and finished.state is RequestState.DONE
    assert len(taken) == 50 + 2  # 50 orders sent, verified in two batches
    assert len(poster.updates) == 6 + 1  # at 0.0, 1.0, … 5.0 s, then the final one
    assert {item.state for item in finished.items} == {ItemState.CANCELED}
    assert set(book.canceled.values()) == {1}
