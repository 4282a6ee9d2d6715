"""The composition root: real clients, the store, the bolt ``App`` and its handlers.

Nothing is built at import time. ``Runtime.start(settings)`` is what ``serve``, ``socket`` and
``clock`` use; tests and the demo call :func:`build_app` with their own collaborators.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

import handlers
from bot import approval
from bot.approvers import Approvers
from bot.deps import Deps, OrderService
from bot.settings import Settings
from bot.slackio import SlackFailed, SlackPoster, make_web_client
from bot.store.base import Store
from bot.times import Clock, SystemClock
from bot.workers import Lane, Workers

__all__ = ["WORK_THREADS", "Runtime", "build_app", "build_deps"]

log = logging.getLogger(__name__)

# CartRover work (reads, cancels, replies) runs here, never on the server's request threads.
WORK_THREADS = 16


def build_deps(
    settings: Settings,
    *,
    web_client: WebClient,
    cartrover: OrderService,
    store: Store,
    clock: Clock | None = None,
    workers: Workers | None = None,
    team_id: str | None = None,
) -> Deps:
    poster = SlackPoster(web_client)
    return Deps(
        settings=settings,
        clock=clock or SystemClock(),
        cartrover=cartrover,
        store=store,
        poster=poster,
        approvers=Approvers(
            settings.approvers,
            allow_self_approval=settings.allow_self_approval,
            group_members=poster.group_members,
        ),
        workers=workers or Workers(WORK_THREADS),
        team_id=team_id,
    )


def build_app(deps: Deps, web_client: WebClient) -> App:
    secret = deps.settings.slack_signing_secret
    app = App(
        client=web_client,
        signing_secret=secret.get_secret_value() if secret else None,
        request_verification_enabled=secret is not None,
        # One auth.test now, cached by bolt: requests never wait on it, and a token revoked later
        # surfaces in our own Slack calls (health 503, one alert) instead of in bolt's middleware.
        token_verification_enabled=True,
        # Every listener only parses, acks and hands the work to ``deps.workers``: it never
        # blocks, so it runs inline on the request thread. That skips bolt's listener pool and
        # its 10 ms ack polling loop; the HTTP answer leaves as soon as the listener returns.
        process_before_response=True,
        logger=logging.getLogger("bot.bolt"),
    )
    handlers.register(app, deps)
    return app


@dataclass
class Runtime:
    """Everything a long-running process owns, with one ``close()``."""

    deps: Deps
    app: App
    web_client: WebClient
    closers: list[Any] = field(default_factory=list)

    @classmethod
    def start(cls, settings: Settings, *, clock: Clock | None = None) -> Runtime:
        from bot.cartrover.client import CartRoverClient
        from bot.store import open_store

        token = settings.slack_bot_token
        if token is None:
            raise SlackFailed("auth.test", "SLACK_BOT_TOKEN is not set")
        web_client = make_web_client(token.get_secret_value(), settings.slack_api_url)
        team_id = _workspace(web_client)
        store = open_store(settings.database_url)
        cartrover = CartRoverClient.from_settings(settings)
        deps = build_deps(
            settings,
            web_client=web_client,
            cartrover=cartrover,
            store=store,
            clock=clock,
            team_id=team_id,
        )
        app = build_app(deps, web_client)
        return cls(deps=deps, app=app, web_client=web_client, closers=[cartrover, store])

    def resume_in_background(self) -> None:
        """Finish, on the worker pool, approved holds a stopped process left (never resends)."""
        self.deps.workers.submit(
            lambda: approval.resume_unfinished(self.deps),
            what="resume unfinished holds",
            lane=Lane.DECISIONS,
        )

    def close(self, timeout: float = 20.0) -> bool:
        """Stop taking work, let in-flight jobs finish (up to ``timeout``), close clients."""
        finished = self.deps.workers.shutdown(timeout)
        if not finished:
            log.warning(
                "some work was still running at shutdown; any cancel in flight stays 'sending' "
                "and is re-read (never resent) when the bot starts again"
            )
        for closer in self.closers:
            try:
                closer.close()
            except Exception:
                log.exception("closing %s failed", type(closer).__name__)
        return finished


def _workspace(web_client: WebClient) -> str | None:
    """The team id of SLACK_BOT_TOKEN's workspace (clicks from elsewhere are refused, R32)."""
    reply = SlackPoster(web_client).whoami()
    team = reply.get("team_id")
    log.info("Slack: connected to team %s as %s", team, reply.get("user_id"))
    return str(team) if team else None
