"""The client-side leaky bucket that keeps the CartRover client under the server's rate limit."""

from __future__ import annotations

import threading

import pytest

from bot.cartrover.pacing import LeakyBucket


class FakeTime:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def bucket(t: FakeTime, capacity: int = 10, refill: float = 0.5, headroom: int = 0) -> LeakyBucket:
    return LeakyBucket(capacity, refill, headroom=headroom, monotonic=t.monotonic, sleep=t.sleep)


def test_a_full_burst_goes_without_waiting() -> None:
    """An empty bucket lets `capacity - headroom` calls through at once."""
    t = FakeTime()
    b = bucket(t, capacity=10, headroom=1)
    for _ in range(9):
        assert b.acquire()
    assert t.sleeps == []


def test_the_call_after_a_burst_waits_one_refill() -> None:
    """Once the burst is spent, each further call waits one refill interval more."""
    t = FakeTime()
    b = bucket(t, capacity=3, refill=0.5)
    for _ in range(5):
        b.acquire()
    assert t.sleeps == pytest.approx([0.5, 1.0])


def test_waiting_calls_fit_after_time_passes() -> None:
    """After the bucket drains with time, calls go without waiting again."""
    t = FakeTime()
    b = bucket(t, capacity=2, refill=1.0)
    b.acquire()
    b.acquire()
    t.advance(2.0)
    assert b.reserve() == 0.0
    assert b.level() == pytest.approx(1.0)


def test_acquire_with_timeout_gives_up_without_counting() -> None:
    """A call that would wait longer than its timeout is refused and not counted."""
    t = FakeTime()
    b = bucket(t, capacity=1, refill=2.0)
    assert b.acquire()
    assert not b.acquire(timeout=1.0)
    assert b.level() == pytest.approx(1.0)
    assert b.acquire(timeout=2.0)
    assert t.sleeps == [2.0]


def test_observe_remaining_lowers_the_local_capacity() -> None:
    """When the server says fewer calls remain than the model thinks, the next call waits."""
    t = FakeTime()
    b = bucket(t, capacity=10, refill=0.5)
    b.observe_remaining(0)
    assert b.reserve() == pytest.approx(0.5)


def test_observe_remaining_never_raises_the_local_capacity() -> None:
    """A header saying more remain than the model believes changes nothing; None is ignored."""
    t = FakeTime()
    b = bucket(t, capacity=4, refill=1.0)
    for _ in range(4):
        b.acquire()
    before = b.level()
    b.observe_remaining(4)
    b.observe_remaining(None)
    assert b.level() == before


def test_never_exceeds_the_bucket_over_a_long_run() -> None:
    """Over many calls, no window ever holds more calls than the leaky bucket allows."""
    t = FakeTime()
    capacity, refill = 5, 0.1
    b = bucket(t, capacity=capacity, refill=refill)
    sent: list[float] = []
    for _ in range(200):
        wait = b.reserve()
        assert wait is not None
        sent.append(t.now + wait)
        t.advance(0.01 if len(sent) % 7 else 0.3)
    # Replay the sends through an exact server-side leaky bucket.
    level, last = 0.0, sent[0]
    for at in sorted(sent):
        level = max(level - (at - last) / refill, 0.0)
        last = at
        assert level + 1 <= capacity + 1e-9
        level += 1


def test_concurrent_acquires_reserve_distinct_slots() -> None:
    """Threads acquiring at once each get their own slot; the total wait matches the queue."""
    t = FakeTime()
    b = bucket(t, capacity=2, refill=1.0)
    threads = [threading.Thread(target=b.acquire) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(t.sleeps) == pytest.approx([1.0, 2.0, 3.0, 4.0])


@pytest.mark.parametrize(
    ("capacity", "refill", "headroom"), [(0, 1.0, 0), (5, 0.0, 0), (5, 1.0, 5), (5, 1.0, -1)]
)
def test_refuses_impossible_settings(capacity: int, refill: float, headroom: int) -> None:
    """A zero capacity, a non-positive refill or a headroom outside the capacity is refused."""
    with pytest.raises(ValueError):  # noqa: PT011
        LeakyBucket(capacity, refill, headroom=headroom)
