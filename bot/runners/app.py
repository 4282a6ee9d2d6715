"""The composition root: real clients, the store, the bolt ``App`` and its handlers.

Nothing is built at import time. ``Runtime.start(settings)`` is what ``serve``, ``socket`` and
``clock`` use; tests and the demo call :func:`build_app` with their own collaborators.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextvars import copy_context
from dataclasses import dataclass, field
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from slack_bolt import App, BoltResponse
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.middleware import Middleware
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient

import handlers
from bot import metrics
from bot.cartrover.service import OrderService
from bot.cartrover.vitals import CartRoverPulse
from bot.deps import Deps
from bot.holds.approvers import Approvers
from bot.holds.flow import MAINTENANCE_BEAT
from bot.holds.takeover import Takeover
from bot.home.pacing import PUBLISH_GAP, PublishPacer
from bot.home.publishing import Refresher
from bot.logcontext import bind
from bot.runners.scheduler import stop_scheduler
from bot.settings import Settings
from bot.slack.webapi import Responder, ResponseUrls, SlackFailed, SlackPoster, make_web_client
from bot.store.contracts import Store
from bot.times import Clock, SystemClock
from bot.workers import Workers
from handlers.replies import refuse_other_app, refuse_other_workspace

__all__ = [
    "STOP_SECONDS",
    "WORK_THREADS",
    "AppIdentity",
    "RequestGate",
    "Runtime",
    "build_app",
    "build_deps",
    "database_reading",
]

log = logging.getLogger(__name__)

# CartRover work (reads, cancels, replies) runs here, never on the server's request threads.
WORK_THREADS = 16
# From SIGTERM to exit: the leases go at once, the work in flight gets the rest (R60: 10 s).
STOP_SECONDS = 8.0


def build_deps(
    settings: Settings,
    *,
    web_client: WebClient,
    cartrover: OrderService,
    store: Store,
    clock: Clock | None = None,
    workers: Workers | None = None,
    team_id: str | None = None,
    app_id: str | None = None,
    pulse: CartRoverPulse | None = None,
    enterprise_id: str | None = None,
    publish_gap: float = PUBLISH_GAP,
) -> Deps:
    poster = SlackPoster(web_client)
    deps = Deps(
        settings=settings,
        clock=clock or SystemClock(),
        cartrover=cartrover,
        holds=store,
        digests=store,
        surfaces=store,
        poster=poster,
        approvers=Approvers(
            settings.approvers,
            allow_self_approval=settings.allow_self_approval,
            group_members=poster.group_members,
        ),
        workers=workers or Workers(WORK_THREADS),
        home=Refresher(PublishPacer(gap=publish_gap)),
        team_id=team_id,
        enterprise_id=enterprise_id,
        app_id=app_id or settings.slack_app_id,
        pulse=pulse,
    )
    metrics.DATABASE.watch(lambda: database_reading(deps))
    return deps


def database_reading(deps: Deps) -> metrics.DatabaseReading:
    """What ``GET /metrics`` reads from the database at each scrape (StoreError if it cannot)."""
    here, elsewhere, unleased = deps.holds.lease_counts(deps.runner, deps.clock.now())
    return metrics.DatabaseReading(
        scheduler_ran_at=deps.surfaces.heartbeat(MAINTENANCE_BEAT),
        leases_here=here,
        leases_elsewhere=elsewhere,
        unleased=unleased,
    )


class AppIdentity:
    """The bot's own Slack app id, against which every payload's ``api_app_id`` is checked.

    Known from the start when ``SLACK_APP_ID`` is set or Slack reports it (``auth.test`` with some
    tokens; the Socket Mode greeting). Otherwise the first *verified* request pins it: only Slack,
    signing with this app's secret or writing on this app's own connection, can produce one.
    """

    def __init__(self, app_id: str | None = None) -> None:
        self._app_id = app_id
        self._lock = threading.Lock()

    @property
    def app_id(self) -> str | None:
        return self._app_id

    def learn(self, app_id: str, source: str) -> None:
        """Take ``app_id`` from Slack (``source`` says where) unless one is known already."""
        with self._lock:
            known = self._app_id
            if known is None:
                self._app_id = app_id
        if known is None:
            log.info("Slack app id %s (from %s)", app_id, source)
        elif known != app_id:
            log.error(
                "Slack says this app is %s (%s) but the bot expects %s; payloads of %s are "
                "refused: check SLACK_APP_ID",
                app_id,
                source,
                known,
                app_id,
            )

    def admits(self, app_id: str) -> bool:
        """True for this app's own id; the first verified request pins an unknown id."""
        with self._lock:
            if self._app_id is None:
                self._app_id = app_id
                pinned = True
            else:
                pinned = False
            own = self._app_id == app_id
        if pinned:
            log.info(
                "Slack app id %s, pinned from the first verified request; set SLACK_APP_ID to "
                "fix it in advance",
                app_id,
            )
        return own


class RequestGate(Middleware):
    """Runs after bolt's own signature check, before any listener.

    - Gives the request a :class:`Responder` that answers only if the request was verified: a
      signed HTTP request (bolt refused the unsigned ones before this point) or a Socket Mode
      delivery, whose credential is the app-level token. An HTTP request on an app that checks no
      signatures is refused outright.
    - Refuses, ephemerally and in the audit trail, a payload whose ``api_app_id`` is another app's.
    - Refuses a command, click, form, shortcut or event of another workspace (or, when the bot's
      workspace belongs to an Enterprise Grid org, of another org) before any work and without
      any outbound call: it is acknowledged (a command with a line saying why), audited and
      logged, and no listener sees it (reliability R65).
    - Opens the log context (:mod:`bot.logcontext`) of everything the request sets going: who, in
      which channel, and what kind of payload.
    """

    def __init__(
        self, deps: Deps, identity: AppIdentity, allowed: ResponseUrls, *, signed: bool
    ) -> None:
        self.deps = deps
        self.identity = identity
        self.allowed = allowed
        self.signed = signed

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        verified = req.mode == "socket_mode" or self.signed
        respond = Responder(req.context.response_url, allowed=self.allowed, verified=verified)
        req.context["respond"] = respond
        bind(  # for the listener too, which bolt runs after this returns
            slack_user=req.context.user_id,
            slack_channel=req.context.channel_id,
            event=payload_kind(req.body),
        )
        if not verified:
            log.warning("refused an unsigned HTTP request: the app has no signing secret")
            return BoltResponse(status=401, body="")
        app_id = req.body.get("api_app_id")
        if isinstance(app_id, str) and app_id and not self.identity.admits(app_id):
            refuse_other_app(self.deps, req.body, respond, app_id)
            return BoltResponse(status=200, body="")
        team, org = req.context.team_id, req.context.enterprise_id
        expected_team, expected_org = self.deps.team_id, self.deps.enterprise_id
        if (expected_team and team != expected_team) or (expected_org and org != expected_org):
            said = refuse_other_workspace(self.deps, req.body, team, org)
            return BoltResponse(status=200, body=said)
        return next()


def payload_kind(body: dict[str, Any]) -> str | None:
    """What a Slack payload is, for the log context: ``command``, the interactive payload's type
    (``block_actions``, ``view_submission``, ``shortcut``, …) or the event's type."""
    if body.get("command"):
        return "command"
    event = body.get("event")
    if body.get("type") == "event_callback" and isinstance(event, dict):
        kind = event.get("type")
    else:
        kind = body.get("type")
    return kind if isinstance(kind, str) and kind else None


class _Drop(logging.Filter):
    """Drops records whose message is exactly ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.text


# bolt reads SLACK_BOT_TOKEN from the environment itself and, since the bot hands it a client
# built from that very token, would warn at every start that the token "will be unused".
_UNUSED_TOKEN = _Drop(warning_client_prioritized_and_token_skipped())


class ScopedApp(App):
    """bolt's App, dispatching each request in a ``contextvars`` context of its own: the log
    context the request gate binds (:mod:`bot.logcontext`) reaches the listener and the work it
    hands on, and ends with the request, whichever thread (HTTP or Socket Mode) ran it."""

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        return copy_context().run(super().dispatch, req)


def build_app(deps: Deps, web_client: WebClient, identity: AppIdentity | None = None) -> App:
    secret = deps.settings.slack_signing_secret
    logging.getLogger("bot.bolt").addFilter(_UNUSED_TOKEN)
    app = ScopedApp(
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
    logging.getLogger("bot.bolt").removeFilter(_UNUSED_TOKEN)
    # bolt logs the whole body of a request whose signature fails at INFO; serve verifies before
    # bolt and logs refusals by size and hash only, so bolt's line would only ever be a leak.
    logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)
    app.use(
        RequestGate(
            deps,
            identity or AppIdentity(deps.app_id),
            ResponseUrls(deps.settings.response_url_origins),
            signed=secret is not None,
        )
    )
    handlers.register(app, deps)
    return app


@dataclass
class Runtime:
    """Everything a long-running process owns, with one ``close()``."""

    deps: Deps
    app: App
    web_client: WebClient
    identity: AppIdentity = field(default_factory=AppIdentity)
    closers: list[Any] = field(default_factory=list)
    scheduler: BaseScheduler | None = None  # the in-process scheduler, if this process runs one
    takeover: Takeover = field(init=False)

    def __post_init__(self) -> None:
        self.takeover = Takeover(self.deps)

    @classmethod
    def start(
        cls, settings: Settings, *, clock: Clock | None = None, publish_gap: float = PUBLISH_GAP
    ) -> Runtime:
        from bot.cartrover.client import CartRoverClient
        from bot.store import open_store

        token = settings.slack_bot_token
        if token is None:
            raise SlackFailed("auth.test", "SLACK_BOT_TOKEN is not set")
        web_client = make_web_client(token.get_secret_value(), settings.slack_api_url)
        whoami = _whoami(web_client)
        identity = AppIdentity(settings.slack_app_id)
        if whoami.app_id:
            identity.learn(whoami.app_id, "auth.test")
        store = open_store(settings.database_url)
        pulse = CartRoverPulse(now=(clock or SystemClock()).now)
        cartrover = CartRoverClient.from_settings(settings, bucket=pulse)
        deps = build_deps(
            settings,
            web_client=web_client,
            cartrover=cartrover,
            store=store,
            clock=clock,
            team_id=whoami.team_id,
            enterprise_id=whoami.enterprise_id,
            app_id=identity.app_id,
            pulse=pulse,
            publish_gap=publish_gap,
        )
        app = build_app(deps, web_client, identity)
        return cls(
            deps=deps,
            app=app,
            web_client=web_client,
            identity=identity,
            closers=[cartrover, store],
        )

    def resume_in_background(self) -> None:
        """Take over approved holds no live runner holds, now and from now on
        (:class:`bot.holds.takeover.Takeover`)."""
        self.takeover.start()

    def hand_over(self) -> None:
        """The first thing on SIGTERM: no new work and no new cancel; each hold's runner stops
        at its next step and gives its lease up, for a running peer to take the hold over."""
        self.takeover.hand_over()

    def close(self, deadline: float | None = None) -> bool:
        """Hand over (if not done yet), stop the scheduler, let the work in flight finish until
        ``deadline`` (``time.monotonic()``; default :data:`STOP_SECONDS` from now), release the
        leases still held, and only then close the CartRover client and the store. True if
        every job finished in time."""
        if deadline is None:
            deadline = time.monotonic() + STOP_SECONDS
        self.takeover.hand_over()
        jobs_done = stop_scheduler(self.scheduler, deadline)
        finished = self.deps.workers.shutdown(deadline - time.monotonic()) and jobs_done
        if not finished:
            log.warning(
                "some work was still running at shutdown; any cancel in flight stays 'sending' "
                "and is re-read (never resent) by the process that takes the request over"
            )
        self.takeover.release(within=deadline - time.monotonic())
        for closer in self.closers:
            try:
                closer.close()
            except Exception:
                log.exception("closing %s failed", type(closer).__name__)
        return finished


@dataclass(frozen=True)
class _Whoami:
    """What ``auth.test`` says of SLACK_BOT_TOKEN: its workspace (payloads of others are
    refused), its Enterprise Grid org when it has one, and the app id when reported (Slack
    documents only ``bot_id`` for bot tokens)."""

    team_id: str | None
    app_id: str | None
    enterprise_id: str | None


def _whoami(web_client: WebClient) -> _Whoami:
    reply = SlackPoster(web_client).whoami()
    team, app_id, org = reply.get("team_id"), reply.get("app_id"), reply.get("enterprise_id")
    log.info("Slack: connected to team %s as %s", team, reply.get("user_id"))
    return _Whoami(*(str(value) if value else None for value in (team, app_id, org)))
