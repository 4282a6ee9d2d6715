"""Hold execution when two runners meet: a live one and a resumer (R42, R1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.dev.sandbox.seed import STALE_TEST_REF
from bot.holds import execution
from bot.store.base import ItemState, RequestState
from bot.times import FrozenClock
from tests.harness import APPROVER, Harness


@pytest.fixture
def harness(tmp_path: Path, clock: FrozenClock) -> Iterator[Harness]:
    h = Harness(tmp_path, clock)
    yield h
    h.close()


def _approved(harness: Harness) -> int:
    request = harness.open_hold(STALE_TEST_REF)
    deps = harness.bot.deps
    assert deps.store.decide(
        request.id, to=RequestState.EXECUTING, actor=APPROVER, at=deps.clock.now()
    )
    return request.id


def test_a_stale_runner_does_not_overwrite_a_cancel_in_flight(harness: Harness) -> None:
    """A runner holding an old copy finds the order canceled by the live runner and leaves it."""
    deps = harness.bot.deps
    request_id = _approved(harness)
    snapshot = harness.request(request_id)  # the resumer's copy: item still queued
    assert deps.store.start_item(request_id, STALE_TEST_REF, deps.clock.now())  # the live runner
    harness.book.wms_cancel(STALE_TEST_REF)  # its cancel has landed, not yet recorded
    run = execution._Run(deps.cartrover, deps.store, deps.clock)
    assert execution._send(run, snapshot, snapshot.items[0]) == (False, None)
    assert harness.request(request_id).items[0].state is ItemState.SENDING
    live = execution._Sent(STALE_TEST_REF, refused=False, context="", process_ids=("SBX-live",))
    execution._verify(run, snapshot, [live])  # the live runner
    assert harness.request(request_id).items[0].state is ItemState.CANCELED


def test_only_requests_nobody_works_on_are_resumed(harness: Harness) -> None:
    """A request with recent progress belongs to a live process; an idle one is resumed."""
    deps = harness.bot.deps
    request_id = _approved(harness)
    assert execution.unfinished(deps.store, deps.clock) == []
    harness.clock.advance(execution.ORPHANED_AFTER)
    assert [r.id for r in execution.unfinished(deps.store, deps.clock)] == [request_id]
    assert deps.store.start_item(request_id, STALE_TEST_REF, deps.clock.now())
    assert execution.unfinished(deps.store, deps.clock) == []  # progress a moment ago
    harness.clock.advance(execution.ORPHANED_AFTER + timedelta(seconds=1))
    finished = execution.execute(
        deps.cartrover, deps.store, deps.clock, request_id
    )  # the "sender" died before its call left
    assert finished is not None and finished.state is RequestState.UNKNOWN
    assert finished.items[0].state is ItemState.NOT_CONFIRMED  # re-read, reported, never resent
    assert harness.book.cancel_count(STALE_TEST_REF) == 0
