"""Hold execution when runners meet: a live one and a resumer (R42, R1), two of one process
(R61), a peer taking over from one that stopped or died (R59, R60)."""

from __future__ import annotations

import threading
import time
from functools import partial

from bot.dev.loopback.slack import Call
from bot.dev.loopback.world import LoopbackBot
from bot.dev.sandbox import SandboxServer, generate_orders
from bot.dev.sandbox.seed import STALE_TEST_REF
from bot.holds import execution, flow
from bot.holds.takeover import Takeover
from bot.holds.verdicts import RECHECK_AFTER, Sent
from bot.slack import ids
from bot.store import open_store
from bot.store.records import ItemState, RequestState
from bot.times import FrozenClock
from tests.e2e.conftest import MakeHarness
from tests.harness import APPROVER, Harness


def _approved(harness: Harness) -> int:
    request = harness.open_hold(STALE_TEST_REF)
    deps = harness.bot.deps
    assert deps.holds.decide(
        request.id, to=RequestState.EXECUTING, actor=APPROVER, at=deps.clock.now()
    )
    return request.id


def _take_over(harness: Harness) -> list[int]:
    """What the bot's takeover does when it looks: hand each approved hold nobody runs to a
    runner of its own; the ids handed over, once their runners are done."""
    handed = harness.bot.takeover.look()
    assert harness.bot.deps.workers.drain(10)
    return handed


def test_a_stale_runner_does_not_overwrite_a_cancel_in_flight(harness: Harness) -> None:
    """A runner holding an old copy finds the order canceled by the live runner and leaves it."""
    deps = harness.bot.deps
    request_id = _approved(harness)
    snapshot = harness.request(request_id)  # the resumer's copy: item still queued
    assert deps.holds.start_item(request_id, STALE_TEST_REF, deps.clock.now())  # the live runner
    harness.book.wms_cancel(STALE_TEST_REF)  # its cancel has landed, not yet recorded
    run = execution._Run(deps.cartrover, deps.holds, deps.clock)
    assert execution._send(run, snapshot, snapshot.items[0]) == (False, None)
    assert harness.request(request_id).items[0].state is ItemState.SENDING
    live = Sent(STALE_TEST_REF, refused=False, context="", process_ids=("SBX-live",))
    execution._verify(run, snapshot, [execution._Look(live)])  # the live runner
    assert harness.request(request_id).items[0].state is ItemState.CANCELED


def test_a_request_is_run_by_whoever_holds_its_lease(harness: Harness) -> None:
    """An approved request nobody runs is resumable; once a runner holds its lease nobody else
    may take it until the lease lapses; then another may, and the first runner's renewal fails."""
    store, clock = harness.bot.store, harness.clock
    request_id = _approved(harness)
    assert [r.id for r in store.resumable(clock.now())] == [request_id]
    assert store.take_lease(request_id, "A", clock.now() + flow.LEASE, clock.now())
    assert store.resumable(clock.now()) == []
    assert not store.take_lease(request_id, "B", clock.now() + flow.LEASE, clock.now())
    assert store.soonest_lease_end(clock.now()) == clock.now() + flow.LEASE
    clock.advance(flow.LEASE)
    assert [r.id for r in store.resumable(clock.now())] == [request_id]
    assert store.take_lease(request_id, "B", clock.now() + flow.LEASE, clock.now())
    assert not store.renew_lease(request_id, "A", clock.now() + flow.LEASE, clock.now())
    assert store.renew_lease(request_id, "B", clock.now() + flow.LEASE, clock.now())


def test_a_crashed_runners_cancel_is_re_read_once_its_lease_lapses(harness: Harness) -> None:
    """A runner that died after marking an order sending (its cancel may have left) holds the
    lease until it lapses; then the next runner re-reads the order, looks again a minute later
    when the first read does not show the cancel, and never resends."""
    deps = harness.bot.deps
    request_id = _approved(harness)
    now = deps.clock.now()
    assert deps.holds.take_lease(request_id, "dead-process", now + flow.LEASE, now)
    assert deps.holds.start_item(request_id, STALE_TEST_REF, now)  # then the process died
    assert _take_over(harness) == []  # its lease is still live
    harness.clock.advance(flow.LEASE)
    assert _take_over(harness) == [request_id]
    checking = harness.request(request_id)
    assert checking.state is RequestState.EXECUTING
    assert checking.items[0].state is ItemState.CHECKING  # re-read once; a second look follows
    assert _take_over(harness) == []  # held until the second look is due
    harness.clock.advance(RECHECK_AFTER)
    assert _take_over(harness) == [request_id]
    finished = harness.request(request_id)
    assert finished.state is RequestState.UNKNOWN
    assert finished.items[0].state is ItemState.NOT_CONFIRMED  # re-read, reported, never resent
    assert harness.book.cancel_count(STALE_TEST_REF) == 0


def test_a_bot_that_starts_after_a_crash_takes_lapsed_requests_over_at_once(
    harness: Harness,
) -> None:
    """Without any scheduler, a bot starting after another crashed mid-cancel (its lease left
    behind, now lapsed) takes the request over at start-up: it re-reads the order the crashed
    runner was sending, finds the cancel landed, and sends none again."""
    store = harness.bot.store
    request_id = _approved(harness)
    now = harness.clock.now()
    assert store.take_lease(request_id, "crashed-process", now + flow.LEASE, now)
    assert store.start_item(request_id, STALE_TEST_REF, now)
    harness.book.wms_cancel(STALE_TEST_REF)  # its cancel landed; then the process died
    harness.clock.advance(flow.LEASE)
    harness.restart()  # a fresh bot: no scheduler, only what every runner does at start
    done = harness.wait_state(request_id, RequestState.DONE, RequestState.UNKNOWN)
    assert done.items[0].state is ItemState.CANCELED
    assert harness.sandbox.cancel_requests(STALE_TEST_REF) == []  # the bot itself sent none


def test_a_bot_that_stops_cleanly_hands_its_requests_over_at_once(harness: Harness) -> None:
    """A bot stopped mid-request (as on SIGTERM) gives its lease up, so the next bot finishes
    the request at start-up without waiting for the lease to lapse; the clock never moves."""
    deps = harness.bot.deps
    request_id = _approved(harness)
    now = deps.clock.now()
    assert deps.holds.take_lease(request_id, deps.runner, now + flow.LEASE, now)  # it runs it
    harness.restart()  # a clean stop, then a fresh bot
    done = harness.wait_state(request_id, RequestState.DONE)
    assert done.items[0].state is ItemState.CANCELED
    assert harness.book.cancel_count(STALE_TEST_REF) == 1


def test_a_bot_that_crashes_keeps_its_requests_until_the_lease_lapses(harness: Harness) -> None:
    """A bot that dies leaves its lease: a bot starting before it lapses does not touch the
    request (the first might still be running it), and takes it over after."""
    deps = harness.bot.deps
    request_id = _approved(harness)
    now = deps.clock.now()
    assert deps.holds.take_lease(request_id, deps.runner, now + flow.LEASE, now)
    harness.restart(crash=True)
    harness.wait_until(lambda: harness.bot.deps.workers.busy == 0)  # its start-up look is done
    assert harness.request(request_id).state is RequestState.EXECUTING
    assert harness.book.cancel_count(STALE_TEST_REF) == 0
    harness.clock.advance(flow.LEASE)
    harness.bot.takeover.start()  # what its timer does when the lease lapses
    assert harness.wait_state(request_id, RequestState.DONE).items[0].state is ItemState.CANCELED


def test_a_runner_keeps_looking_for_requests_nobody_runs(harness: Harness) -> None:
    """With no lease to wait for, a runner still looks again (every few seconds; here a fraction
    of one): an approved request left without a runner is finished."""
    takeover = Takeover(harness.bot.deps, look_every=0.05)
    takeover.start()
    try:
        request_id = _approved(harness)  # executing, no runner, started by nobody
        done = harness.wait_state(request_id, RequestState.DONE, timeout=5)
        assert done.items[0].state is ItemState.CANCELED
    finally:
        takeover.halt()


def test_a_running_peer_takes_over_a_hold_approved_after_it_started(
    make_harness: MakeHarness, clock: FrozenClock
) -> None:
    """The peer looked at start-up and found nothing; a hold approved later by a process that
    then died (its lease left behind) is still the peer's once the lease lapses: it looks again
    whatever the leases said when it last looked (R59)."""
    harness = make_harness(look_every=0.05)
    harness.wait_until(lambda: harness.bot.deps.workers.busy == 0)
    deps = harness.bot.deps
    request = harness.open_hold(STALE_TEST_REF)
    now = clock.now()
    lease = {"runner": "dead-process/run", "lease_until": now + flow.LEASE}
    approved = partial(deps.holds.decide, to=RequestState.EXECUTING, at=now, **lease)
    assert approved(request.id, actor=APPROVER)  # by a process that died at once
    time.sleep(0.3)  # several looks: the lease is live, nobody touches the request
    assert harness.request(request.id).items[0].state is ItemState.QUEUED
    clock.advance(flow.LEASE)
    done = harness.wait_state(request.id, RequestState.DONE, timeout=5)
    assert done.items[0].state is ItemState.CANCELED
    assert harness.book.cancel_count(STALE_TEST_REF) == 1


def test_an_approval_leases_the_request_before_any_slack_call(harness: Harness) -> None:
    """When the card first changes to "approved", the approving process's runner already holds
    the request: nobody else could have started it between the decision and the run (R61)."""
    request = harness.open_hold(STALE_TEST_REF)
    probe = open_store(harness.settings.database_url)
    seen: list[list[int]] = []

    def at_first_update(call: Call) -> None:
        if call.method == "chat.update" and not seen:
            seen.append([r.id for r in probe.resumable(harness.clock.now())])

    harness.slack.on_call = at_first_update
    try:
        assert harness.click(ids.APPROVE_HOLD, request, APPROVER).status_code == 200
        harness.wait_state(request.id, RequestState.DONE)
    finally:
        harness.slack.on_call = None
        probe.close()
    assert seen == [[]]  # executing, and not free for anyone to resume


def test_two_runners_of_one_process_never_share_a_request(harness: Harness) -> None:
    """A runner stalled past its lease loses the request to the next runner, even one of its
    own process: its renewal fails, so it stops instead of recording over the new runner."""
    deps = harness.bot.deps
    request_id = _approved(harness)
    stalled = flow.new_runner(deps)
    now = deps.clock.now()
    assert deps.holds.take_lease(request_id, stalled, now + flow.LEASE, now)
    assert flow.run_approved(deps, request_id) is None  # its lease is live: refused
    harness.clock.advance(flow.LEASE)
    harness.sandbox.faults.hang_cancel = 1
    second = threading.Thread(target=flow.run_approved, args=(deps, request_id))
    second.start()
    try:
        assert harness.sandbox.faults.wait_held(1, timeout=10)  # the second runner's cancel
        now = deps.clock.now()
        assert not deps.holds.renew_lease(request_id, stalled, now + flow.LEASE, now)
    finally:
        harness.sandbox.faults.release()
        second.join(10)
    assert harness.request(request_id).state is RequestState.DONE
    assert harness.book.cancel_count(STALE_TEST_REF) == 1


def test_a_stopping_bot_hands_its_running_hold_over_at_once(
    make_harness: MakeHarness, clock: FrozenClock
) -> None:
    """Stopped in the middle of a five-order hold (as on SIGTERM), a bot sends no new cancel and
    gives its lease up as soon as its cancel in flight has answered: its peer, on the same
    database but its own CartRover endpoint, finishes the hold although the clock never moves
    (so no lease ever lapses), and every order is canceled exactly once."""
    harness = make_harness(look_every=0.05)
    refs = [f"RUN-{n:06d}" for n in range(1, 6)]
    harness.book.add_many(generate_orders(5, now=clock.now(), prefix="RUN-"))
    theirs = SandboxServer(harness.book, capacity=1000, refill_seconds=0.001).start()
    try:
        harness.sandbox.faults.latency = 0.15
        request = harness.open_hold(",".join(refs))
        values = {**_bot_values(harness), "CARTROVER_API_URL": theirs.url}
        peer = LoopbackBot(harness.world.settings(values), clock, look_every=0.05)
        harness.bots.append(peer)
        stopping = harness.bot
        assert harness.click(ids.APPROVE_HOLD, request, APPROVER).status_code == 200
        harness.wait_until(lambda: len(harness.sandbox.cancel_requests()) >= 2)
        stopping.takeover.hand_over()  # what SIGTERM does first
        sent_by_then = len(harness.sandbox.cancel_requests())
        stopping.stop()
        harness.bots.remove(stopping)
        harness.bot = peer
        done = harness.wait_state(request.id, RequestState.DONE, timeout=15)
        assert len(harness.sandbox.cancel_requests()) == sent_by_then  # none after the signal
        assert all(item.state is ItemState.CANCELED for item in done.items)
        assert [harness.book.cancel_count(ref) for ref in refs] == [1] * 5
        assert len(theirs.cancel_requests()) == 5 - sent_by_then  # the peer sent only the rest
    finally:
        theirs.stop()


def _bot_values(harness: Harness) -> dict[str, str]:
    return {
        "SLACK_SIGNING_SECRET": harness.settings.slack_signing_secret.get_secret_value(),  # type: ignore[union-attr]
        "DATABASE_URL": harness.settings.database_url,
        "APPROVERS": APPROVER,
    }
