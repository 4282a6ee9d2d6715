"""What the benchmarks share: a bot on the loopback kit, driven by signed requests."""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.dev.loopback.signing import SlackRequests  # noqa: E402
from bot.dev.loopback.world import LoopbackBot, LoopbackWorld  # noqa: E402
from bot.dev.sandbox import OrderBook  # noqa: E402
from bot.times import FrozenClock  # noqa: E402

SECRET = "bench-signing-secret-0123456789"
REQUESTER, APPROVER, CHANNEL = "UBENCHREQ", "UBENCHAPP", "CBENCH01"


class Bench:
    """A world and one bot on a frozen clock, with a client that sends what Slack sends."""

    def __init__(self, book: OrderBook, clock: FrozenClock, **env: str) -> None:
        self.clock = clock
        self.world = LoopbackWorld(book, capacity=1_000_000, refill_seconds=1e-6).start()
        self.tmp = tempfile.TemporaryDirectory(prefix="cartrover-bench-")
        values = {
            "SLACK_SIGNING_SECRET": SECRET,
            "DATABASE_URL": f"sqlite:///{Path(self.tmp.name) / 'bench.db'}",
            "APPROVERS": APPROVER,
            **env,
        }
        self.settings = self.world.settings(values)
        self.requests = SlackRequests(SECRET, response_url=self._response_url)
        self._urls = 0
        self.http = httpx.Client(timeout=60)
        self.bot: LoopbackBot | None = None

    def start_bot(self) -> LoopbackBot:
        self.bot = LoopbackBot(self.settings, self.clock, rate_limit=self.world.rate_limit)
        return self.bot

    def _response_url(self) -> str:
        self._urls += 1
        return self.world.slack.webhook(f"r{self._urls}")

    def post(self, body: str) -> None:
        assert self.bot is not None
        reply = self.http.post(
            f"{self.bot.url}/slack/events", content=body, headers=self.requests.headers(body)
        )
        if reply.status_code != 200:
            raise RuntimeError(f"HTTP {reply.status_code}: {reply.text[:200]}")

    def command(self, text: str, user: str = REQUESTER) -> None:
        self.post(self.requests.command(text, user=user, channel=CHANNEL))

    def click(self, action_id: str, value: str, user: str, ts: str) -> None:
        self.post(self.requests.click(action_id, value, user=user, channel=CHANNEL, ts=ts))

    def wait(self, predicate: Any, timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.005)
        raise TimeoutError("the bot did not finish in time")

    def close(self) -> None:
        if self.bot is not None:
            self.bot.stop()
        self.http.close()
        self.world.stop()
        self.tmp.cleanup()


def frozen_now() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))
