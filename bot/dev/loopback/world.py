"""A whole bot world on loopback: the local Slack, the CartRover sandbox and bots, each bot a
``serve`` process in miniature (its own store connection, CartRover client, bolt app and the real
HTTP server on a thread). The tests, the benchmarks and the demo build on it."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

from bot.cartrover.client import CartRoverClient
from bot.cartrover.vitals import CartRoverPulse
from bot.deps import Deps
from bot.dev.loopback.server import ServerThread
from bot.dev.loopback.slack import GOOD_TOKEN, TEAM_ID, LocalSlack
from bot.dev.sandbox import (
    SANDBOX_API_KEY,
    SANDBOX_API_USER,
    SANDBOX_CANCEL_API_KEY,
    SANDBOX_CANCEL_API_USER,
    OrderBook,
    SandboxServer,
)
from bot.holds.takeover import Takeover
from bot.home.pacing import PUBLISH_GAP
from bot.runners.app import build_app, build_deps
from bot.runners.http.health import Readiness
from bot.runners.http.server import ServerLimits
from bot.runners.http.wsgi import SlackWsgi
from bot.settings import Settings
from bot.slack.webapi import SlackPoster, make_web_client
from bot.store import open_store
from bot.times import Clock, SystemClock

__all__ = ["LoopbackBot", "LoopbackWorld"]


class LoopbackWorld:
    """The local Slack and a CartRover sandbox over ``book`` (default: the seed, on the wall
    clock), started together; the rate limit is shared by the sandbox and every bot started
    later (each paces itself the same)."""

    def __init__(
        self,
        book: OrderBook | None = None,
        *,
        capacity: int = 1000,
        refill_seconds: float = 0.001,
        api_user: str = SANDBOX_API_USER,
        api_key: str = SANDBOX_API_KEY,
    ) -> None:
        self.book = book or OrderBook.seeded(SystemClock())
        self.rate_limit = (capacity, refill_seconds)
        self.credentials = (api_user, api_key)
        self.slack = LocalSlack()
        self.sandbox = SandboxServer(
            self.book,
            capacity=capacity,
            refill_seconds=refill_seconds,
            api_user=api_user,
            api_key=api_key,
        )

    def start(self) -> LoopbackWorld:
        self.slack.start()
        try:
            self.sandbox.start()
        except BaseException:
            self.slack.stop()
            raise
        return self

    def stop(self) -> None:
        self.sandbox.stop()
        self.slack.stop()

    def __enter__(self) -> LoopbackWorld:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def set_rate_limit(self, capacity: int, refill_seconds: float) -> None:
        """Give the sandbox this bucket; bots started from now on pace themselves the same."""
        self.rate_limit = (capacity, refill_seconds)
        self.sandbox.set_rate_limit(capacity, refill_seconds)

    def environment(self, **values: str) -> dict[str, str]:
        """The variables that point a bot at this world (Slack, CartRover), plus ``values``."""
        return {
            "SLACK_BOT_TOKEN": GOOD_TOKEN,
            "SLACK_API_URL": self.slack.url,
            "CARTROVER_API_URL": self.sandbox.url,
            "CARTROVER_API_USER": self.credentials[0],
            "CARTROVER_API_KEY": self.credentials[1],
            "CARTROVER_CANCEL_API_USER": SANDBOX_CANCEL_API_USER,
            "CARTROVER_CANCEL_API_KEY": SANDBOX_CANCEL_API_KEY,
            **values,
        }

    def settings(self, values: Mapping[str, str] | None = None) -> Settings:
        """:meth:`environment` plus ``values`` as Settings (the process environment unread)."""
        return Settings.load(self.environment(**dict(values or {})))


class LoopbackBot:
    """One bot as ``serve`` runs it, on loopback, started at once; :attr:`url` is its server.
    ``rate_limit`` is the CartRover bucket it paces itself by (a world's :attr:`rate_limit`)."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        *,
        rate_limit: tuple[int, float] = (1000, 0.001),
        limits: ServerLimits | None = None,
        threads: int = 24,
        team_id: str | None = TEAM_ID,
        enterprise_id: str | None = None,
        resume: bool = True,
        look_every: float | None = None,
        expects_scheduler: bool = False,
        publish_gap: float = PUBLISH_GAP,
        **client_options: Any,
    ) -> None:
        secret = settings.slack_signing_secret
        if secret is None:
            raise ValueError("a loopback bot needs SLACK_SIGNING_SECRET")
        self.settings = settings
        self.web_client = make_web_client(GOOD_TOKEN, settings.slack_api_url, rate_limit_retries=3)
        self.store = open_store(settings.database_url)
        self.pulse = CartRoverPulse(*rate_limit, now=clock.now)
        self.cartrover = CartRoverClient.from_settings(
            settings, bucket=self.pulse, **client_options
        )
        self.deps: Deps = build_deps(
            settings,
            web_client=self.web_client,
            cartrover=self.cartrover,
            store=self.store,
            clock=clock,
            team_id=team_id,
            enterprise_id=enterprise_id,
            publish_gap=publish_gap,
            pulse=self.pulse,
        )
        self.app = build_app(self.deps, self.web_client)
        poster = self.deps.poster
        self.readiness = Readiness(
            self.store,
            poster if isinstance(poster, SlackPoster) else None,
            clock=clock,
            expects_scheduler=expects_scheduler,
            shadow_mode=settings.shadow_mode,
        )
        wsgi = SlackWsgi(self.app, self.readiness.check, signing_secret=secret.get_secret_value())
        self.server = ServerThread(wsgi, threads=threads, limits=limits)
        self.url = self.server.url
        self.takeover = Takeover(self.deps, look_every=look_every)
        if resume:  # as every runner does: take over holds nobody runs, now and from now on
            self.takeover.start()

    def stop(self, drain_seconds: float = 10.0, *, release_leases: bool = True) -> None:
        """Stop as ``serve`` does on SIGTERM (hand the holds over at once, then let the work in
        flight finish before the clients close); ``release_leases=False`` stops as a crash
        would, leaving the leases to lapse."""
        self.takeover.hand_over()
        self.server.stop()
        self.deps.workers.shutdown(drain_seconds)
        if release_leases:
            self.takeover.release()
        self.cartrover.close()
        self.store.close()
