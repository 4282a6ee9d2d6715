"""The one write an action starts with: tried again for a moment when the database is only busy,
and then NotSaved (R63)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.store.records import StoreError
from bot.store.saving import WRITE_RETRY_SECONDS, NotSaved, saving


class Clock:
    """A monotonic clock moved only by the sleeps it is given."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def failing(*errors: StoreError, then: str = "saved") -> tuple[list[int], Callable[[], str]]:
    tries: list[int] = []

    def write() -> str:
        tries.append(1)
        if len(tries) <= len(errors):
            raise errors[len(tries) - 1]
        return then

    return tries, write


def test_a_brief_lock_is_waited_out() -> None:
    clock = Clock()
    busy = StoreError("database is locked", transient=True)
    tries, write = failing(busy, busy)
    got = saving(write, what="approval", sleep=clock.sleep, monotonic=clock.monotonic)
    assert got == "saved" and len(tries) == 3
    assert sum(clock.slept) < WRITE_RETRY_SECONDS


def test_a_lasting_lock_is_not_saved_within_the_ack_window() -> None:
    clock = Clock()
    busy = StoreError("database is locked", transient=True)
    tries, write = failing(*[busy] * 1000)
    with pytest.raises(NotSaved) as caught:
        saving(write, what="approval", sleep=clock.sleep, monotonic=clock.monotonic)
    assert caught.value.what == "approval" and caught.value.transient
    assert sum(clock.slept) <= WRITE_RETRY_SECONDS
    assert 2 < len(tries) < 20


def test_a_failure_that_will_not_pass_is_not_tried_again() -> None:
    clock = Clock()
    tries, write = failing(StoreError("database or disk is full"))
    with pytest.raises(NotSaved, match="request was not saved: database or disk is full"):
        saving(write, what="request", sleep=clock.sleep, monotonic=clock.monotonic)
    assert len(tries) == 1 and clock.slept == []
