"""Decisions and cancels run on their own lane: an approved cancel is never queued behind other
users' reads. The pool itself with jobs held on events, then end to end against a slow sandbox."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from bot.dev.sandbox import STALE_PATTERN_TEST_REF, STALE_TEST_REF
from bot.slack import ids
from bot.store.records import RequestState
from bot.workers import Lane, LaneLoad, Workers
from tests.harness import APPROVER, Harness

LATENCY = 2.0  # seconds the sandbox takes for every CartRover call
BACKLOG = 30  # slow reads queued before the click


# -- the pool -----------------------------------------------------------------------------------


@pytest.fixture
def workers() -> Iterator[Workers]:
    pool = Workers(2, decision_workers=1)
    yield pool
    pool.shutdown(5)


def test_a_decision_runs_while_every_read_thread_is_busy(workers: Workers) -> None:
    """With both read threads held and more reads queued, a decision starts at once; each
    lane's queue depth is reported."""
    release, started = threading.Event(), threading.Semaphore(0)

    def slow_read() -> None:
        started.release()
        release.wait(10)

    for _ in range(5):
        assert workers.submit(slow_read, what="read")
    assert started.acquire(timeout=5) and started.acquire(timeout=5)
    assert workers.load()[Lane.READS] == LaneLoad(queued=3, running=2, threads=2)

    decided = threading.Event()
    assert workers.submit(decided.set, what="decide", lane=Lane.DECISIONS)
    assert decided.wait(5)
    assert workers.load()[Lane.DECISIONS].queued == 0
    release.set()
    assert workers.shutdown(5)
    assert workers.load() == {
        Lane.READS: LaneLoad(0, 0, 2),
        Lane.DECISIONS: LaneLoad(0, 0, 1),
    }


def test_shutdown_drains_both_lanes_and_refuses_new_work(workers: Workers) -> None:
    """Shutdown waits for the running jobs of every lane and says whether they finished; from
    its start neither lane takes new work."""
    release = threading.Event()
    started = threading.Semaphore(0)
    finished: list[Lane] = []

    def job(lane: Lane) -> None:
        started.release()
        release.wait(10)
        finished.append(lane)

    for lane in Lane:
        assert workers.submit(lambda lane=lane: job(lane), what="job", lane=lane)
    assert started.acquire(timeout=5) and started.acquire(timeout=5)
    assert not workers.shutdown(0.05)  # both still running: not drained in time
    assert not workers.submit(lambda: None, what="late", lane=Lane.DECISIONS)
    assert not workers.submit(lambda: None, what="late")
    release.set()
    assert workers.shutdown(10)
    assert sorted(finished) == sorted(Lane) and workers.busy == 0


def test_a_failing_decision_is_reported_like_any_job(workers: Workers) -> None:
    """An exception on the decision lane reaches ``on_error`` with a correlation id."""
    told: list[str] = []
    done = threading.Event()

    def boom() -> None:
        raise RuntimeError("boom")

    def tell(correlation: str) -> None:
        told.append(correlation)
        done.set()

    assert workers.submit(boom, what="decide", lane=Lane.DECISIONS, on_error=tell)
    assert done.wait(5) and len(told[0]) == 8


# -- end to end ---------------------------------------------------------------------------------


@pytest.fixture
def slow_cartrover(harness: Harness) -> Iterator[Harness]:
    """``harness``, its CartRover made fast again before the bot drains on close."""
    yield harness
    harness.sandbox.faults.latency = 0.0


def test_an_approved_cancel_is_not_queued_behind_slow_reads(slow_cartrover: Harness) -> None:
    """With CartRover taking 2 s a call and 30 `stale`/`status` commands filling the read
    lane, an Approve click's cancel reaches CartRover after one re-read, not after the reads."""
    harness = slow_cartrover
    request = harness.open_hold(STALE_TEST_REF)
    workers = harness.bot.deps.workers
    harness.sandbox.faults.latency = LATENCY
    for index in range(BACKLOG):
        text = "stale" if index % 3 else f"status {STALE_PATTERN_TEST_REF}"
        assert harness.command(text).status_code == 200
    reads = workers.load()[Lane.READS]
    assert reads.running == reads.threads and reads.queued == BACKLOG - reads.threads

    clicked = time.monotonic()
    assert harness.click(ids.APPROVE_HOLD, request, APPROVER).status_code == 200
    harness.wait_until(lambda: bool(harness.sandbox.cancel_requests(STALE_TEST_REF)), timeout=20)
    waited = harness.sandbox.cancel_requests(STALE_TEST_REF)[0].at - clicked
    # One re-read (LATENCY) comes first. Queued behind the reads it would start only when the
    # first round of them ended (LATENCY) and then re-read: twice as long.
    assert waited < LATENCY * 1.5, f"the first cancel came {waited:.2f} s after the click"
    harness.sandbox.faults.latency = 0.0
    harness.wait_state(request.id, RequestState.DONE, timeout=20)
