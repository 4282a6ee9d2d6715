"""The client-side leaky bucket that keeps the CartRover client under the server's rate limit."""

from __future__ import annotations

import threading

import pytest

from bot.cartrover.pacing import LeakyBucket


class FakeTime:
    """A monotonic clock that moves only when something sleeps on it (or a test advances it)."""

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
            self.now += seconds

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
    """Once the burst is spent, each further call waits one refill interval."""
    t = FakeTime()
    b = bucket(t, capacity=3, refill=0.5)
    for _ in range(5):
        b.acquire()
    assert t.sleeps == pytest.approx([0.5, 0.5])


def test_waiting_calls_fit_after_time_passes() -> None:
    """After the bucket drains with time, calls go without waiting again."""
    t = FakeTime()
    b = bucket(t, capacity=2, refill=1.0)
    b.acquire()
    b.acquire()
    t.advance(2.0)
    assert b.try_take() == (3, 0.0)
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
    b.observe_remaining(0, b.acquire())
    assert b.try_take() == (None, pytest.approx(0.5))


def test_observe_remaining_spends_what_the_server_says_remains() -> None:
    """A header saying more calls remain than the model believes (a server refilling faster
    than documented) lets that many go at once; a reply without the header changes nothing."""
    t = FakeTime()
    b = bucket(t, capacity=4, refill=1.0)
    for remaining in (3, 2, 1, 0):
        b.observe_remaining(remaining, b.acquire())
    ticket = b.acquire()
    assert t.sleeps == [1.0]
    b.observe_remaining(None, ticket)
    assert b.level() == pytest.approx(4.0)
    b.observe_remaining(3, b.acquire())
    for _ in range(3):
        b.acquire()
    assert t.sleeps == [1.0, 1.0]


def test_calls_still_in_flight_count_on_top_of_the_header() -> None:
    """Calls sent but not yet answered may not be counted by the server yet: they are added to
    what the header says, so the model never spends them twice."""
    t = FakeTime()
    b = bucket(t, capacity=10, refill=1.0)
    first, *others = [b.acquire() for _ in range(4)]
    b.observe_remaining(9, first)  # the server saw only the first call
    assert b.level() == pytest.approx(1 + len(others))


def test_a_call_answered_first_may_still_have_been_counted_last() -> None:
    """A call that was in flight when another left may reach the server after it, so the other's
    figure may not include it even if its own answer came back first: it is counted on top."""
    t = FakeTime()
    b = bucket(t, capacity=10, refill=1.0)
    earlier, later = b.acquire(), b.acquire()
    b.observe_remaining(4, earlier)  # the server took `earlier` last: 4 left after both
    b.observe_remaining(5, later)  # `later`'s figure was read before `earlier` arrived
    assert b.level() == pytest.approx(10 - 5 + 1)  # never believes 5 remain


def test_an_older_answer_does_not_overrule_a_newer_one() -> None:
    """The reply to an earlier call, arriving late, does not replace a newer figure."""
    t = FakeTime()
    b = bucket(t, capacity=10, refill=1.0)
    older, newer = b.acquire(), b.acquire()
    b.observe_remaining(2, newer)
    b.observe_remaining(9, older)
    assert b.level() == pytest.approx(10 - 2 + 1)  # the older call was still in flight


def replay(sent: list[float], capacity: int, refill: float) -> None:
    """Replay send times through an exact server-side leaky bucket; fail on an overflow."""
    level, last = 0.0, min(sent)
    for at in sorted(sent):
        level = max(level - (at - last) / refill, 0.0)
        last = at
        assert level + 1 <= capacity + 1e-9, "the bucket would have overflowed"
        level += 1


def test_never_exceeds_the_bucket_over_a_long_run() -> None:
    """Over many calls, no window ever holds more calls than the leaky bucket allows."""
    t = FakeTime()
    capacity, refill = 5, 0.1
    b = bucket(t, capacity=capacity, refill=refill)
    sent: list[float] = []
    for _ in range(200):
        assert b.acquire()
        sent.append(t.now)
        t.advance(0.01 if len(sent) % 7 else 0.3)
    replay(sent, capacity, refill)


def test_threads_that_wake_late_together_never_burst_past_the_bucket() -> None:
    """Many threads waiting for places, all woken late at once (a stalled machine), still send
    no more than the bucket holds: each re-checks the bucket when it actually sends."""
    t = FakeTime()
    capacity, refill = 4, 1.0
    gate = threading.Event()
    sent: list[float] = []
    lock = threading.Lock()

    def stalled_sleep(seconds: float) -> None:
        gate.wait(5)  # every waiter stalls, then they all wake together...
        t.advance(0.25)  # ...each moving the clock a little

    b = LeakyBucket(capacity, refill, headroom=0, monotonic=t.monotonic, sleep=stalled_sleep)
    for _ in range(capacity):
        b.acquire()
    sent += [t.now] * capacity  # the bucket is full

    def call() -> None:
        b.acquire()
        with lock:
            sent.append(t.now)

    threads = [threading.Thread(target=call) for _ in range(12)]
    for thread in threads:
        thread.start()
    t.advance(30.0)  # long enough for all twelve, had they gone in a burst
    gate.set()
    for thread in threads:
        thread.join(10)
    assert len(sent) == capacity + 12
    replay(sent, capacity, refill)


@pytest.mark.parametrize(
    ("capacity", "refill", "headroom"), [(0, 1.0, 0), (5, 0.0, 0), (5, 1.0, 5), (5, 1.0, -1)]
)
def test_refuses_impossible_settings(capacity: int, refill: float, headroom: int) -> None:
    """A zero capacity, a non-positive refill or a headroom outside the capacity is refused."""
    with pytest.raises(ValueError):  # noqa: PT011
        LeakyBucket(capacity, refill, headroom=headroom)


def test_the_app_homes_pulse_ignores_an_older_answer_as_the_pacing_does() -> None:
    """The figure shown to approvers is the one the pacing uses: a late reply to an older call
    changes neither, and a newer call without an answer marks the pulse silent."""
    from datetime import UTC, datetime

    from bot.cartrover.vitals import CartRoverPulse

    t = FakeTime()
    pulse = CartRoverPulse(
        10,
        1.0,
        now=lambda: datetime(2026, 3, 2, tzinfo=UTC),
        monotonic=t.monotonic,
        sleep=t.sleep,
        headroom=0,
    )
    older, newer, newest = pulse.acquire(), pulse.acquire(), pulse.acquire()
    pulse.observe_remaining(2, newer)
    pulse.observe_remaining(9, older)
    assert pulse.pulse.remaining == 2 and not pulse.pulse.silent
    pulse.observe_remaining(None, newest)
    assert pulse.pulse.remaining == 2 and pulse.pulse.silent
