"""The whole bot on loopback for end-to-end tests: the loopback kit's world (local Slack, CartRover
sandbox) and bots (the real bolt app behind ``serve``'s WSGI app and server), a real SQLite file,
and requests signed exactly as Slack signs them. Nothing here is mocked."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bot.dev.loopback.signing import APP_ID, JSON, SlackRequests
from bot.dev.loopback.slack import GOOD_TOKEN, TEAM_ID, Call
from bot.dev.loopback.views import ShownView
from bot.dev.loopback.world import LoopbackBot, LoopbackWorld
from bot.dev.sandbox import OrderBook
from bot.runners.http.server import ServerLimits
from bot.slack import ids
from bot.store.records import HoldRequest, RequestState
from bot.times import FrozenClock

__all__ = [
    "APPROVER",
    "APPROVER_2",
    "APP_ID",
    "CHANNEL",
    "GOOD_TOKEN",
    "GROUP",
    "GROUP_MEMBER",
    "REQUESTER",
    "SIGNING_SECRET",
    "STRANGER",
    "TEAM_ID",
    "Harness",
]

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
REQUESTER = "UREQUEST1"
APPROVER = "UAPPROVE1"
APPROVER_2 = "UAPPROVE2"
GROUP = "S0APPROVERS"
GROUP_MEMBER = "UGROUPIE1"
STRANGER = "USTRANGE1"
CHANNEL = "C0HOLDS01"


class Harness:
    def __init__(
        self,
        tmp_path: Path,
        clock: FrozenClock,
        client: dict[str, Any] | None = None,
        server_limits: ServerLimits | None = None,
        look_every: float | None = None,
        server_threads: int = 24,
        publish_gap: float = 0.2,
        **env: str,
    ) -> None:
        self._closed = False
        self.clock = clock
        self.server_limits = server_limits
        self.look_every = look_every  # how often each bot looks for holds nobody runs
        self.server_threads = server_threads
        # Each person's App Home is published at most once per gap (3 s in production): short
        # here, so that tests which look at a Home twice in a row need not wait.
        self.publish_gap = publish_gap
        self.client_options = client or {}  # CartRoverClient keywords (timeouts, deadline)
        self.tmp_path = tmp_path
        self.book = OrderBook.seeded(clock)
        self.world = LoopbackWorld(self.book).start()
        self.slack, self.sandbox = self.world.slack, self.world.sandbox
        self.slack.groups[GROUP] = [GROUP_MEMBER]
        self.settings = self.world.settings(
            {
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
                "APPROVERS": f"{APPROVER},{APPROVER_2},{GROUP}",
                "HOLD_REQUEST_TTL_HOURS": "24",
                **env,
            }
        )
        self.requests = SlackRequests(SIGNING_SECRET, response_url=self.response_url)
        self.bots: list[LoopbackBot] = []
        self.bot = self.start_bot()
        self.http = httpx.Client(timeout=10)
        self._responses = 0

    def set_rate_limit(self, capacity: int, refill_seconds: float) -> None:
        """Give the sandbox this bucket; bots started from now on pace themselves the same."""
        self.world.set_rate_limit(capacity, refill_seconds)

    def start_bot(self) -> LoopbackBot:
        bot = LoopbackBot(
            self.settings,
            self.clock,
            rate_limit=self.world.rate_limit,
            limits=self.server_limits,
            look_every=self.look_every,
            threads=self.server_threads,
            publish_gap=self.publish_gap,
            **self.client_options,
        )
        self.bots.append(bot)
        return bot

    def restart(self, drain_seconds: float = 10.0, *, crash: bool = False) -> LoopbackBot:
        """Stop the bot process (as SIGTERM does, or as a crash would: its leases left behind)
        and start a fresh one on the same database."""
        self.bot.stop(drain_seconds, release_leases=not crash)
        self.bots.remove(self.bot)
        self.bot = self.start_bot()
        return self.bot

    def close(self) -> None:
        """Stop the bots, the HTTP client and the loopback world; closing again does nothing."""
        if self._closed:
            return
        self._closed = True
        for bot in self.bots:
            bot.stop()
        self.http.close()
        self.world.stop()

    # -- sending what Slack sends
    def post(
        self,
        body: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        bot: LoopbackBot | None = None,
        content_type: str = "application/x-www-form-urlencoded",
        extra_headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = self.requests.headers(body, timestamp=timestamp, content_type=content_type)
        headers.update(extra_headers or {})
        if signature is not None:
            headers["X-Slack-Signature"] = signature
        if not signature and signature is not None:
            del headers["X-Slack-Signature"]
        return self.http.post(
            f"{(bot or self.bot).url}/slack/events", content=body, headers=headers
        )

    def sign(self, body: bytes, timestamp: str) -> str:
        """Slack's signature of raw bytes (which need not be UTF-8)."""
        return self.requests.sign(body, timestamp)

    def response_url(self) -> str:
        self._responses += 1
        return self.slack.webhook(f"r{self._responses}")

    def command_body(self, text: str, user: str = REQUESTER, channel: str = CHANNEL) -> str:
        return self.requests.command(text, user=user, channel=channel)

    def command(
        self, text: str, user: str = REQUESTER, channel: str = CHANNEL, **kw: Any
    ) -> httpx.Response:
        return self.post(self.command_body(text, user, channel), **kw)

    def click_body(
        self,
        action_id: str,
        value: str,
        user: str,
        *,
        channel: str,
        ts: str,
        team: str = TEAM_ID,
        app_id: str = APP_ID,
        response_url: str | None = None,
    ) -> str:
        return self.requests.click(
            action_id,
            value,
            user=user,
            channel=channel,
            ts=ts,
            team=team,
            app_id=app_id,
            response_url=response_url,
        )

    def click(self, action_id: str, request: HoldRequest, user: str, **kw: Any) -> httpx.Response:
        assert request.message_ts is not None
        bot = kw.pop("bot", None)
        body = self.click_body(
            action_id,
            str(request.id),
            user,
            channel=request.channel_id,
            ts=request.message_ts,
            **kw,
        )
        return self.post(body, bot=bot)

    # -- the Slack surfaces: events, modals, the App Home
    def event(
        self, body: str, *, retry: int | None = None, bot: LoopbackBot | None = None
    ) -> httpx.Response:
        """Deliver an Events API body (JSON), as Slack's ``retry``-th retry if given."""
        extra = self.requests.retry_headers(retry) if retry else None
        return self.post(body, content_type=JSON, extra_headers=extra, bot=bot)

    def settled(self, timeout: float = 10.0) -> None:
        """Wait until every bot's workers and App Home publishing, and the local Slack, have
        nothing left in hand."""

        def idle() -> bool:
            return (
                all(bot.deps.workers.busy == 0 for bot in self.bots)
                and all(
                    getattr(bot.deps.home, "pacer", None) is None or bot.deps.home.pacer.busy == 0  # type: ignore[attr-defined]
                    for bot in self.bots
                )
                and self.slack.in_flight == 0
            )

        self.wait_until(idle, timeout)

    def open_home(self, user: str, *, bot: LoopbackBot | None = None) -> ShownView:
        """``user`` opens the App Home; the Home once the bot has published it for them and
        nothing else is on its way (a refresh from earlier work lands first, not after)."""
        self.settled()
        shown = self.slack.views.home(user)
        before = shown.versions if shown else 0
        assert self.event(self.requests.home_opened(user=user), bot=bot).status_code == 200

        def published() -> bool:
            home = self.slack.views.home(user)
            return home is not None and home.versions > before

        self.wait_until(published)
        self.settled()
        home = self.slack.views.home(user)
        assert home is not None
        return home

    def wait_modal(self, count: int = 1, timeout: float = 10.0) -> ShownView:
        """The ``count``-th modal the bot opened, once it has."""
        self.wait_until(lambda: len(self.slack.views.modals()) >= count, timeout)
        return self.slack.views.modals()[count - 1]

    def submit_view(
        self,
        view_id: str,
        user: str,
        values: dict[str, str] | None = None,
        *,
        bot: LoopbackBot | None = None,
    ) -> httpx.Response:
        """Submit modal ``view_id`` as ``user`` with ``values`` typed (by input block id); the
        local Slack then does what the answer says (errors, update, close)."""
        view = self.slack.views.submitted(view_id, values)
        response = self.post(self.requests.view_submission(view, user=user), bot=bot)
        answer = response.json() if response.content else None
        self.slack.views.answer(view_id, answer)
        return response

    def reject(
        self, request: HoldRequest, user: str, reason: str = "", **kw: Any
    ) -> httpx.Response:
        """Click Reject on ``request``'s card and submit the reason form that opens."""
        modals = len(self.slack.views.modals())
        assert self.click(ids.REJECT_HOLD, request, user, **kw).status_code == 200
        modal = self.wait_modal(modals + 1)
        return self.submit_view(modal.id, user, {ids.REJECT_REASON_FIELD: reason})

    # -- waiting for what happens after the ack
    def replies(self) -> list[Call]:
        return self.slack.of("webhook")

    def wait_reply(self, count: int = 1, timeout: float = 10.0) -> Call:
        return self.slack.wait_for("webhook", count, timeout)[count - 1]

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.01)
        raise AssertionError("condition not reached in time")

    def request(self, request_id: int) -> HoldRequest:
        found = self.bot.store.get_request(request_id)
        assert found is not None
        return found

    def wait_state(
        self, request_id: int, *states: RequestState, timeout: float = 10.0
    ) -> HoldRequest:
        self.wait_until(lambda: self.request(request_id).state in states, timeout)
        return self.request(request_id)

    def open_hold(self, text: str, user: str = REQUESTER) -> HoldRequest:
        """Ask for a hold and return the request once its message is posted and the requester
        has been told (so later replies are not mistaken for that one)."""
        before, told = len(self.slack.of("chat.postMessage")), len(self.replies())
        assert self.command(f"hold {text}", user=user).status_code == 200
        request = self.newest_request(before + 1)
        self.slack.wait_for("webhook", told + 1)
        return request

    def newest_request(self, posts: int, timeout: float = 10.0) -> HoldRequest:
        """Wait for the ``posts``-th chat.postMessage to be a stored pending request; return it."""
        self.slack.wait_for("chat.postMessage", posts, timeout=timeout)

        def newest() -> HoldRequest | None:
            pending = self.bot.store.requests_in_state(RequestState.PENDING)
            return pending[-1] if pending and pending[-1].message_ts else None

        self.wait_until(lambda: newest() is not None, timeout)
        found = newest()
        assert found is not None
        return found
