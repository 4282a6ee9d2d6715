"""The whole bot on loopback: the real bolt app behind ``serve``'s WSGI app on waitress, the
CartRover sandbox, a recording fake Slack and a real SQLite file. Requests are signed exactly as
Slack signs them. Nothing here is mocked."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from bot.cartrover.client import CartRoverClient
from bot.cartrover.pacing import LeakyBucket
from bot.deps import Deps
from bot.dev.loopback.server import ServerThread
from bot.dev.sandbox import SANDBOX_API_KEY, SANDBOX_API_USER, OrderBook, SandboxServer
from bot.runners.app import build_app, build_deps
from bot.runners.health import Health
from bot.runners.server import ServerLimits
from bot.runners.wsgi import SlackWsgi
from bot.settings import Settings
from bot.slackio import SlackPoster, make_web_client
from bot.store import open_store
from bot.store.base import HoldRequest, RequestState
from bot.times import FrozenClock
from tests.fakes.slack import GOOD_TOKEN, TEAM_ID, Call, FakeSlack

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
REQUESTER = "UREQUEST1"
APPROVER = "UAPPROVE1"
APPROVER_2 = "UAPPROVE2"
GROUP = "S0APPROVERS"
GROUP_MEMBER = "UGROUPIE1"
STRANGER = "USTRANGE1"
CHANNEL = "C0HOLDS01"
APP_ID = "A0TEST"  # the api_app_id of every payload the harness sends, unless told otherwise


class Bot:
    """One bot process: its own store connection, CartRover client, bolt app and HTTP server."""

    def __init__(
        self,
        settings: Settings,
        clock: FrozenClock,
        capacity: int = 1000,
        refill_seconds: float = 0.001,
        limits: ServerLimits | None = None,
        **client_options: Any,
    ) -> None:
        self.settings = settings
        self.web_client = make_web_client(GOOD_TOKEN, settings.slack_api_url, rate_limit_retries=3)
        self.store = open_store(settings.database_url)
        self.cartrover = CartRoverClient.from_settings(
            settings, bucket=LeakyBucket(capacity, refill_seconds), **client_options
        )
        self.deps: Deps = build_deps(
            settings,
            web_client=self.web_client,
            cartrover=self.cartrover,
            store=self.store,
            clock=clock,
            team_id=TEAM_ID,
        )
        self.app = build_app(self.deps, self.web_client)
        poster = self.deps.poster
        health = Health(self.store, poster if isinstance(poster, SlackPoster) else None)
        wsgi = SlackWsgi(self.app, health.check, signing_secret=SIGNING_SECRET)
        self.server = ServerThread(wsgi, threads=24, limits=limits)
        self.url = self.server.url

    def stop(self, drain_seconds: float = 10.0) -> None:
        self.server.stop()
        self.deps.workers.shutdown(drain_seconds)
        self.cartrover.close()
        self.store.close()


class Harness:
    def __init__(
        self,
        tmp_path: Path,
        clock: FrozenClock,
        client: dict[str, Any] | None = None,
        server_limits: ServerLimits | None = None,
        **env: str,
    ) -> None:
        self.clock = clock
        self.server_limits = server_limits
        self.client_options = client or {}  # CartRoverClient keywords (timeouts, deadline)
        self.tmp_path = tmp_path
        self.slack = FakeSlack().start()
        self.slack.groups[GROUP] = [GROUP_MEMBER]
        self.book = OrderBook.seeded(clock)
        # The CartRover rate limit, shared by the sandbox and each bot's client bucket.
        self.rate_limit = (1000, 0.001)
        self.sandbox = SandboxServer(self.book, capacity=1000, refill_seconds=0.001).start()
        values = {
            "SLACK_BOT_TOKEN": GOOD_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack.url,
            "CARTROVER_API_URL": self.sandbox.url,
            "CARTROVER_API_USER": SANDBOX_API_USER,
            "CARTROVER_API_KEY": SANDBOX_API_KEY,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "APPROVERS": f"{APPROVER},{APPROVER_2},{GROUP}",
            "HOLD_REQUEST_TTL_HOURS": "24",
        }
        values.update(env)
        self.settings = Settings.load(values)
        self.bots: list[Bot] = []
        self.bot = self.start_bot()
        self.http = httpx.Client(timeout=10)
        self.verifier = SignatureVerifier(SIGNING_SECRET)
        self._responses = 0

    def set_rate_limit(self, capacity: int, refill_seconds: float) -> None:
        """Give the sandbox this bucket; bots started from now on pace themselves the same."""
        self.rate_limit = (capacity, refill_seconds)
        self.sandbox.set_rate_limit(capacity, refill_seconds)

    def start_bot(self) -> Bot:
        bot = Bot(
            self.settings,
            self.clock,
            *self.rate_limit,
            limits=self.server_limits,
            **self.client_options,
        )
        self.bots.append(bot)
        return bot

    def restart(self, drain_seconds: float = 10.0) -> Bot:
        """Stop the bot process and start a fresh one on the same database."""
        self.bot.stop(drain_seconds)
        self.bots.remove(self.bot)
        self.bot = self.start_bot()
        return self.bot

    def close(self) -> None:
        for bot in self.bots:
            bot.stop()
        self.http.close()
        self.sandbox.stop()
        self.slack.stop()

    # -- sending what Slack sends
    def post(
        self,
        body: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        bot: Bot | None = None,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> httpx.Response:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        if signature is None:
            signature = self.verifier.generate_signature(timestamp=ts, body=body)
        headers = {"X-Slack-Request-Timestamp": ts, "Content-Type": content_type}
        if signature:
            headers["X-Slack-Signature"] = signature
        return self.http.post(
            f"{(bot or self.bot).url}/slack/events", content=body, headers=headers
        )

    def sign(self, body: bytes, timestamp: str) -> str:
        """Slack's signature of raw bytes (which need not be UTF-8)."""
        signed = b"v0:" + timestamp.encode() + b":" + body
        return "v0=" + hmac.new(SIGNING_SECRET.encode(), signed, hashlib.sha256).hexdigest()

    def response_url(self) -> str:
        self._responses += 1
        return self.slack.webhook(f"r{self._responses}")

    def command_body(self, text: str, user: str = REQUESTER, channel: str = CHANNEL) -> str:
        return urlencode(
            {
                "token": "deprecated",
                "team_id": TEAM_ID,
                "team_domain": "test",
                "channel_id": channel,
                "channel_name": "holds",
                "user_id": user,
                "user_name": "someone",
                "command": "/cartrover",
                "text": text,
                "api_app_id": APP_ID,
                "response_url": self.response_url(),
                "trigger_id": "1.2.3",
            }
        )

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
        payload = {
            "type": "block_actions",
            "api_app_id": app_id,
            "user": {"id": user, "team_id": team},
            "team": {"id": team, "domain": "test"},
            "container": {"type": "message", "channel_id": channel, "message_ts": ts},
            "channel": {"id": channel},
            "response_url": response_url or self.response_url(),
            "trigger_id": "1.2.3",
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "b",
                    "value": value,
                    "type": "button",
                    "action_ts": str(time.time()),
                }
            ],
        }
        return urlencode({"payload": json.dumps(payload)})

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
        """Ask for a hold and return the request once its message is posted."""
        before = len(self.slack.of("chat.postMessage"))
        assert self.command(f"hold {text}", user=user).status_code == 200
        return self.newest_request(before + 1)

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
