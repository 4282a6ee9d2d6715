"""R36: random sequences of requests, clicks, double clicks, expiry, sweeps and restarts never
cancel an order twice and never leave a decided request without its audit row.

The rules drive the real click path (``handlers.holds``) and the real use cases against the
CartRover sandbox, a recording fake Slack and a real SQLite file; a "restart" opens a new store
and client on the same file, as a new process would.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot.cartrover.client import CartRoverClient
from bot.cartrover.pacing import LeakyBucket
from bot.deps import Deps
from bot.dev.loopback.slack import GOOD_TOKEN, TEAM_ID, LocalSlack
from bot.dev.sandbox import (
    SANDBOX_API_KEY,
    SANDBOX_API_USER,
    SANDBOX_CANCEL_API_KEY,
    SANDBOX_CANCEL_API_USER,
    OrderBook,
    SandboxServer,
)
from bot.holds import flow
from bot.holds.takeover import Takeover
from bot.runners.app import build_deps
from bot.settings import Settings
from bot.slack.webapi import make_web_client
from bot.store import open_store
from bot.store.records import HoldRequest, RequestState
from bot.times import FrozenClock
from handlers.holds import approve_clicked, reject_without_reason
from handlers.replies import Asker

REQUESTER, APPROVER, APPROVER_2, STRANGER = "UREQ00001", "UAPP00001", "UAPP00002", "USTR00001"
CHANNEL = "C0PROPS01"
REFS = ["TS-1001", "TS-1002", "TS-1003", "TEST-0007", "SHOP-48201"]
DECISIONS = {
    RequestState.EXECUTING: {"approved"},
    RequestState.DONE: {"approved"},
    RequestState.FAILED: {"approved"},
    RequestState.UNKNOWN: {"approved"},
    RequestState.REJECTED: {"rejected", "withdrawn", "post_failed"},
    RequestState.EXPIRED: {"expired"},
}

SLACK = LocalSlack().start()


class HoldMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FrozenClock(datetime(2026, 3, 2, 12, tzinfo=UTC))
        self.sandbox = SandboxServer(
            OrderBook.seeded(self.clock), capacity=10_000, refill_seconds=1e-4
        ).start()
        self.db = Path(tempfile.mkdtemp()) / "bot.db"
        self.settings = Settings.load(
            {
                "SLACK_BOT_TOKEN": GOOD_TOKEN,
                "SLACK_API_URL": SLACK.url,
                "CARTROVER_API_URL": self.sandbox.url,
                "CARTROVER_API_USER": SANDBOX_API_USER,
                "CARTROVER_API_KEY": SANDBOX_API_KEY,
                "CARTROVER_CANCEL_API_USER": SANDBOX_CANCEL_API_USER,
                "CARTROVER_CANCEL_API_KEY": SANDBOX_CANCEL_API_KEY,
                "DATABASE_URL": f"sqlite:///{self.db}",
                "APPROVERS": f"{APPROVER},{APPROVER_2}",
                "HOLD_REQUEST_TTL_HOURS": "24",
            }
        )
        self.deps = self._start()
        self.requests: list[int] = []

    def _start(self) -> Deps:
        self.store = open_store(self.settings.database_url)
        return build_deps(
            self.settings,
            web_client=make_web_client(GOOD_TOKEN, SLACK.url),
            cartrover=CartRoverClient.from_settings(
                self.settings, bucket=LeakyBucket(10_000, 1e-4), read_attempts=1
            ),
            store=self.store,
            clock=self.clock,
            team_id=TEAM_ID,
        )

    def _stop(self) -> None:
        self.deps.workers.shutdown(5)
        self.deps.cartrover.close()  # type: ignore[attr-defined]
        self.store.close()

    def teardown(self) -> None:
        self._stop()
        self.sandbox.stop()

    # -- helpers
    def _request(self, index: int) -> HoldRequest:
        found = self.deps.holds.get_request(self.requests[index % len(self.requests)])
        assert found is not None
        return found

    def _click(self, request: HoldRequest, user: str) -> dict[str, Any]:
        return {
            "user": {"id": user},
            "team": {"id": TEAM_ID},
            "container": {"channel_id": request.channel_id, "message_ts": request.message_ts},
            "actions": [{"value": str(request.id)}],
        }

    def _asker(self, user: str) -> Asker:
        return Asker(user=user, channel=CHANNEL, respond=lambda **_: None, team=TEAM_ID)

    # -- rules
    @rule(ref=st.sampled_from(REFS), user=st.sampled_from([REQUESTER, APPROVER]))
    def ask_for_a_hold(self, ref: str, user: str) -> None:
        asked = flow.ask(
            self.deps, requester=user, channel_id=CHANNEL, refs=[ref], reason="property"
        )
        if asked.posted is not None:
            self.requests.append(asked.posted.request.id)

    @precondition(lambda self: self.requests)
    @rule(
        index=st.integers(0, 20), user=st.sampled_from([APPROVER, APPROVER_2, REQUESTER, STRANGER])
    )
    def approve(self, index: int, user: str) -> None:
        request = self._request(index)
        approve_clicked(self.deps, self._asker(user), self._click(request, user))

    @precondition(lambda self: self.requests)
    @rule(index=st.integers(0, 20))
    def double_click_by_two_approvers(self, index: int) -> None:
        request = self._request(index)
        with ThreadPoolExecutor(2) as pool:
            for user in (APPROVER, APPROVER_2):
                pool.submit(
                    approve_clicked, self.deps, self._asker(user), self._click(request, user)
                )

    @precondition(lambda self: self.requests)
    @rule(index=st.integers(0, 20), user=st.sampled_from([APPROVER, REQUESTER, STRANGER]))
    def reject(self, index: int, user: str) -> None:
        request = self._request(index)
        reject_without_reason(self.deps, self._asker(user), self._click(request, user))

    @rule(hours=st.sampled_from([1, 5, 25]))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    @rule()
    def sweep(self) -> None:
        flow.keep_up(self.deps)

    @rule()
    def restart(self) -> None:
        self._stop()
        self.deps = self._start()
        Takeover(self.deps).look()  # what a starting process does: take over holds nobody runs
        assert self.deps.workers.drain(30)

    # -- invariants
    @invariant()
    def no_order_is_cancelled_twice(self) -> None:
        for ref in REFS:
            assert len(self.sandbox.cancel_requests(ref)) <= 1, ref

    @invariant()
    def every_decision_has_its_audit_row(self) -> None:
        for request_id in self.requests:
            request = self.deps.holds.get_request(request_id)
            assert request is not None
            if request.state is RequestState.PENDING:
                continue
            events = {e.event for e in self.deps.holds.audit_for_request(request_id)}
            assert events & DECISIONS[request.state], (request.state, events)

    @invariant()
    def a_cancel_only_follows_an_approval(self) -> None:
        approved = {
            ref
            for request_id in self.requests
            if (request := self.deps.holds.get_request(request_id)) is not None
            and request.decided_by is not None
            and request.state not in (RequestState.REJECTED, RequestState.EXPIRED)
            for ref in request.cust_refs
        }
        for ref in REFS:
            if self.sandbox.cancel_requests(ref):
                assert ref in approved, ref


HoldMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_hold_invariants = HoldMachine.TestCase
