"""Everything the demo runs: the CartRover sandbox, the local Slack, a throw-away SQLite database
and the bot itself, composed by :class:`bot.runners.app.Runtime` exactly as ``serve`` composes it.

One :class:`~bot.times.FrozenClock` is shared by the sandbox's order book and the bot, so
:meth:`World.advance` makes orders go stale or be sent to the WMS, and runs the scheduler's jobs
(expiry, the daily digest) as the scheduler would have: at every daily digest time it crosses,
then at the end. ``/advance 1d`` from 04:00 posts the 09:00 digest. Requests reach the bot's bolt
app the way Slack sends them: form bodies signed with a signing secret made up for this run,
parsed by :func:`bot.runners.http.wsgi.bolt_request` and handed to ``app.dispatch``.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from slack_bolt import App, BoltResponse

from bot.deps import Deps
from bot.dev.demo.choices import Choices
from bot.dev.demo.people import CHANNEL_ID, People
from bot.dev.loopback.signing import JSON, SlackRequests
from bot.dev.loopback.slack import LocalSlack
from bot.dev.loopback.world import LoopbackWorld
from bot.dev.sandbox import TEST_PATTERN, TEST_SOURCE, OrderBook, SandboxServer
from bot.digest import schedule
from bot.digest.post import post_now
from bot.holds import flow
from bot.runners.app import Runtime
from bot.runners.http.wsgi import bolt_request
from bot.runners.scheduler import guarded
from bot.settings import Settings
from bot.times import FrozenClock

__all__ = ["SETTLE_TIMEOUT", "World", "demo_settings"]

log = logging.getLogger(__name__)

SETTLE_TIMEOUT = 30.0  # the bot's own CartRover deadline; nothing in the demo should take longer


def demo_settings(
    world: LoopbackWorld,
    *,
    database_url: str,
    signing_secret: str,
    approvers: str,
    choices: Choices | None = None,
) -> Settings:
    """The demo's configuration, from a mapping only: the operator's honoured ``choices``
    (:mod:`bot.dev.demo.choices`) and the demo's own Slack, CartRover, database and people."""
    return world.settings(
        {
            **(choices.values if choices else {}),
            "SLACK_SIGNING_SECRET": signing_secret,
            "DATABASE_URL": f"sqlite:///{database_url}",
            "APPROVERS": approvers,
            "DIGEST_CHANNEL": CHANNEL_ID,
            "TEST_ORDER_SOURCES": TEST_SOURCE,
            "TEST_ORDER_PATTERN": TEST_PATTERN,
        }
    )


class World:
    """The running demo. Build it with :meth:`start`; :meth:`close` removes every trace."""

    def __init__(
        self,
        *,
        clock: FrozenClock,
        book: OrderBook,
        sandbox: SandboxServer,
        slack: LocalSlack,
        runtime: Runtime,
        people: People,
        signing_secret: str,
        tmpdir: tempfile.TemporaryDirectory[str],
        choices: Choices | None = None,
    ) -> None:
        self.clock = clock
        self.book = book
        self.sandbox = sandbox
        self.slack = slack
        self.runtime = runtime
        self.people = people
        self.tmpdir = tmpdir
        self.choices = choices or Choices()
        self.requests = SlackRequests(signing_secret, team_id=runtime.deps.team_id or "T0DEMO")
        self._closed = False

    @classmethod
    def start(cls, *, clock: FrozenClock | None = None, choices: Choices | None = None) -> World:
        """Start the sandbox, the local Slack and the bot on a fresh temporary database, with
        the operator's honoured ``choices``."""
        clock = clock or FrozenClock(datetime.now(UTC).replace(second=0, microsecond=0))
        tmpdir = tempfile.TemporaryDirectory(prefix="cartrover-demo-")
        loopback = LoopbackWorld(OrderBook.seeded(clock), capacity=100, refill_seconds=0.6)
        try:
            loopback.start()
            people = People()
            signing_secret = secrets.token_hex(16)
            settings = demo_settings(
                loopback,
                database_url=str(Path(tmpdir.name) / "demo.db"),
                signing_secret=signing_secret,
                approvers=people.approver_ids(),
                choices=choices,
            )
            # One person at a keyboard: every Home they open is published at once, unpaced.
            runtime = Runtime.start(settings, clock=clock, publish_gap=0.0)
        except BaseException:
            loopback.stop()
            tmpdir.cleanup()
            raise
        world = cls(
            clock=clock,
            book=loopback.book,
            sandbox=loopback.sandbox,
            slack=loopback.slack,
            runtime=runtime,
            people=people,
            choices=choices,
            signing_secret=signing_secret,
            tmpdir=tmpdir,
        )
        try:
            schedule.subscribe_default(runtime.deps)  # what the scheduler does first at start-up
            flow.maintain(runtime.deps)  # and its first maintenance run (the App Home shows it)
        except BaseException:
            world.close()
            raise
        return world

    @property
    def deps(self) -> Deps:
        return self.runtime.deps

    @property
    def app(self) -> App:
        return self.runtime.app

    @property
    def directory(self) -> Path:
        return Path(self.tmpdir.name)

    # -- playing Slack's part

    def dispatch(self, body: str, *, json_body: bool = False) -> BoltResponse:
        """Deliver one body to the bot as Slack would: signed, through ``bolt_request``. A form,
        or (``json_body``) an Events API delivery."""
        # The signature's timestamp is wall time: bolt checks it against its own clock.
        kind = JSON if json_body else "application/x-www-form-urlencoded"
        headers: dict[str, str | Sequence[str]] = dict(
            self.requests.headers(body, content_type=kind)
        )
        return self.app.dispatch(bolt_request(body, headers))

    def settle(self, timeout: float = SETTLE_TIMEOUT) -> bool:
        """Wait until the bot's worker pool is idle and no Slack call is in flight."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.deps.workers.busy == 0 and self.slack.in_flight == 0:
                return True
            time.sleep(0.002)
        return False

    # -- time and the scheduler

    def advance(self, delta: timedelta) -> list[str]:
        """Move the shared clock on, stopping at each digest time on the way to run the jobs the
        scheduler would run then, and once more at the end; returns the orders that CartRover
        sent to the WMS meanwhile."""
        before = {record["cust_ref"] for record in self.book.list("at_wms")}
        start = self.clock.now()
        end = start + delta
        for instant in self._digest_times(start, end):
            self.clock.set(instant)
            self.run_scheduled_jobs()
        self.clock.set(end)
        self.run_scheduled_jobs()
        return sorted({record["cust_ref"] for record in self.book.list("at_wms")} - before)

    def _digest_times(self, start: datetime, end: datetime) -> list[datetime]:
        """Every daily digest time of every subscription after ``start``, before ``end``."""
        times, days = set(), self.deps.settings.digest_weekdays
        for subscription in self.deps.digests.subscriptions():
            at = start
            while (at := schedule.next_run(subscription, at, days)) < end:
                times.add(at.astimezone(UTC))
        return sorted(times)

    def run_scheduled_jobs(self) -> None:
        """The scheduler's periodic bodies: expire overdue holds, post any digest that is due."""
        guarded("maintenance", lambda: flow.maintain(self.deps))()
        guarded("digest catch-up", lambda: schedule.digest_catch_up(self.deps))()

    def post_digest(self) -> str:
        """Post the digest of stale test orders in the demo channel now; its ``ts``."""
        return post_now(self.deps, CHANNEL_ID)

    # -- the end

    def close(self) -> None:
        """Let work in flight finish, stop every server, remove the temporary directory."""
        if self._closed:
            return
        self._closed = True
        try:
            self.runtime.close()
        finally:
            self.slack.stop()
            self.sandbox.stop()
            self.tmpdir.cleanup()

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
