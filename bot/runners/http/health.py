"""Liveness and readiness (reliability R62): ``GET /livez`` and ``GET /readyz`` (``/healthz`` is
readiness too), on ``serve``'s port, and on ``HEALTH_PORT`` for ``socket`` and ``clock``.

- **Live**: the process answers. No I/O at all, so a stuck database never gets a live process
  restarted.
- **Ready**: the database takes a write (a heartbeat row) within :data:`PROBE_SECONDS`; Slack has
  not refused the bot's token; and, where the deployment expects a scheduler, the scheduler's
  heartbeat (kept in the database by its maintenance job, whichever process runs it) is fresh —
  so a web process sees a dead ``clock``. Anything else answers 503 naming the failing part.

The database is probed on a thread of its own, waited for at most :data:`PROBE_SECONDS`: a locked
SQLite file (whose busy timeout is longer), a full disk or a PostgreSQL that refuses connections
(whose pool would wait longer) cannot hold the answer. At most one probe runs at a time; while
one hangs, readiness says so at once instead of starting another.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.holds.flow import MAINTENANCE_BEAT
from bot.runners.scheduler import MAINTENANCE_SECONDS
from bot.slack.webapi import SlackPoster
from bot.store.contracts import SurfaceStore
from bot.store.records import StoreError
from bot.times import Clock, SystemClock

if TYPE_CHECKING:
    from bot.runners.app import Runtime

__all__ = [
    "PROBE_SECONDS",
    "READINESS_BEAT",
    "SCHEDULER_STALE",
    "HealthWsgi",
    "Readiness",
    "live",
    "readiness_of",
]

PROBE_SECONDS = 2.0  # the database must take a write within this (readiness answers within 3 s)
READINESS_BEAT = "readiness"  # the heartbeat row each probe writes
# The maintenance job beats every MAINTENANCE_SECONDS; three missed beats make it stale.
SCHEDULER_STALE = timedelta(seconds=3 * MAINTENANCE_SECONDS)

Verdict = tuple[int, dict[str, Any]]


def live() -> Verdict:
    """``/livez``: the process answers."""
    return 200, {"status": "ok"}


@dataclass(frozen=True)
class _Probed:
    """What one database probe found: an error, or the scheduler's last heartbeat."""

    error: str | None = None
    heartbeat: datetime | None = None


class _StoreProbe:
    """One write and one read on a thread of their own, waited for within a bound."""

    def __init__(self, store: SurfaceStore, clock: Clock, seconds: float) -> None:
        self.store, self.clock, self.seconds = store, clock, seconds
        self._lock = threading.Lock()
        # The unanswered probe (its answer's event) and when it started. Its thread may live on
        # a moment after answering (closing its database connection), so the answer, not the
        # thread, says whether it is still out.
        self._running: tuple[threading.Event, float] | None = None
        self._result: _Probed | None = None

    def run(self) -> _Probed:
        with self._lock:
            if self._running is not None and not self._running[0].is_set():
                waited = time.monotonic() - self._running[1]
                return _Probed(f"no answer for {waited:.0f} s (locked, full or unreachable?)")
            done = threading.Event()
            box: list[_Probed] = []
            thread = threading.Thread(
                target=self._probe, args=(box, done), name="readiness-probe", daemon=True
            )
            self._running = (done, time.monotonic())
            thread.start()
        if not done.wait(self.seconds):
            return _Probed(f"no answer within {self.seconds:g} s (locked, full or unreachable?)")
        return box[0]

    def _probe(self, box: list[_Probed], done: threading.Event) -> None:
        try:
            self.store.beat(READINESS_BEAT, self.clock.now())
            box.append(_Probed(heartbeat=self.store.heartbeat(MAINTENANCE_BEAT)))
        except StoreError as exc:
            box.append(_Probed(f"error: {exc}"))
        except Exception as exc:  # a readiness probe reports; it never raises
            box.append(_Probed(f"error: {type(exc).__name__}"))
        finally:
            done.set()


class Readiness:
    """``/readyz``: whether this process can do its work now, part by part."""

    def __init__(
        self,
        store: SurfaceStore,
        poster: SlackPoster | None = None,
        *,
        clock: Clock | None = None,
        expects_scheduler: bool = False,
        scheduler_state: Callable[[], str] | None = None,
        probe_seconds: float = PROBE_SECONDS,
        shadow_mode: bool = False,
    ) -> None:
        self.clock = clock or SystemClock()
        self.poster = poster
        self.expects_scheduler = expects_scheduler
        self.scheduler_state = scheduler_state
        self.started_at = self.clock.now()
        self._probe = _StoreProbe(store, self.clock, probe_seconds)
        self.mode = "shadow" if shadow_mode else "live"  # SHADOW_MODE: nothing is canceled

    def check(self) -> Verdict:
        """(HTTP status, JSON body): 200 when ready, else 503 with ``failing`` naming the parts."""
        probed = self._probe.run()
        failing = []
        database = probed.error or "ok"
        if probed.error:
            failing.append("database")
        slack = "ok"
        if self.poster is not None and self.poster.fatal_error:
            slack = f"error: {self.poster.fatal_error}"
            failing.append("slack")
        scheduler = self._scheduler(probed)
        if scheduler.startswith(("stale", "stopped", "paused")):
            failing.append("scheduler")
        body: dict[str, Any] = {
            "status": "unhealthy" if failing else "ok",
            "database": database,
            "slack": slack,
            "scheduler": scheduler,
            "mode": self.mode,
        }
        if failing:
            body["failing"] = failing
        return (503 if failing else 200), body

    def _scheduler(self, probed: _Probed) -> str:
        own = self.scheduler_state() if self.scheduler_state else None
        if own is not None and own != "running":
            return own  # this process's own scheduler is not running
        if not self.expects_scheduler:
            return "not expected"
        if probed.error:
            return "unknown (the database did not answer)"
        now = self.clock.now()
        beat = probed.heartbeat
        # A process gives a scheduler (its own, or a clock started with it) time to beat first.
        since = max(beat, self.started_at) if beat else self.started_at
        if now - since <= SCHEDULER_STALE:
            return f"ok (last ran {_ago(now, beat)})" if beat else "ok (waiting for its first run)"
        return f"stale: last ran {_ago(now, beat)}" if beat else "stale: never ran"


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "never"
    return f"{max((now - then).total_seconds(), 0):.0f} s ago"


class HealthWsgi:
    """``/livez``, ``/readyz`` and ``/healthz`` as a WSGI application; None for other paths
    (:meth:`answer`), 404 when it serves alone."""

    PATHS = ("/livez", "/readyz", "/healthz")

    def __init__(self, ready: Callable[[], Verdict]) -> None:
        self.ready = ready

    def answer(self, path: str, method: str) -> Verdict | None:
        if path not in self.PATHS or method not in ("GET", "HEAD"):
            return None
        return live() if path == "/livez" else self.ready()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        verdict = self.answer(environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET"))
        status, body = verdict if verdict is not None else (404, {"status": "not found"})
        payload = json.dumps(body).encode()
        reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
        start_response(
            f"{status} {reason}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]


def readiness_of(runtime: Runtime) -> Readiness:
    """Readiness for a long-running process: every deployment of the bot expects a scheduler
    (in this process, in a peer, or in a ``clock``), whose heartbeat must stay fresh."""
    from bot.runners.scheduler import scheduler_state

    poster = runtime.deps.poster
    scheduler = runtime.scheduler
    return Readiness(
        runtime.deps.surfaces,
        poster if isinstance(poster, SlackPoster) else None,
        clock=runtime.deps.clock,
        expects_scheduler=True,
        scheduler_state=(lambda: scheduler_state(scheduler)) if scheduler else None,
        shadow_mode=runtime.deps.settings.shadow_mode,
    )
