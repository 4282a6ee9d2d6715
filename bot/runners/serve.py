"""``serve``: a WSGI application on waitress routing ``POST /slack/events`` to bolt and
``GET /healthz`` to the health check. What it refuses, and why, is in the README ("Security").

- **Verified before bolt.** A request's Slack signature is checked here, on the raw bytes, before
  bolt sees anything: a missing, malformed, stale or wrong signature gets 401, and an unreadable
  body of a signed request 400. Such a request reaches no listener and causes no outbound call of
  any kind; the log gets one line with the body's size and a SHA-256 prefix, never the body, and
  a flood of them is summed up once a minute. bolt checks the signature again (defence in depth).
- **Parsed once, correctly.** bolt's own body parser reads any form body that merely *contains*
  ``payload`` as an interactivity payload and drops it; :func:`bolt_request` parses the body
  itself, and the raw text still goes to bolt's verification untouched.
- **A server that cannot be held.** waitress refuses bodies over :data:`MAX_BODY` from the
  ``Content-Length`` header alone, before reading (or spooling) any of it. On top of waitress's
  idle timeout, :class:`GuardedServer` closes a connection whose request has not fully arrived
  within a deadline, however slowly its bytes keep coming, and when connections near the limit it
  closes the slowest of them first, so a crowd of slow clients never locks Slack out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from bot.settings import Settings
from bot.slackio import SlackPoster

__all__ = [
    "MAX_BODY",
    "GuardedServer",
    "ServerLimits",
    "ServerThread",
    "SlackSignature",
    "SlackWsgi",
    "UnreadableBody",
    "bolt_request",
    "make_server",
    "parse_body",
    "serve",
]

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # Slack payloads are far smaller; anything this big or bigger is refused
SIGNATURE_WINDOW = 300  # seconds: Slack's replay window for a request's timestamp
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # seconds since 1970, ASCII digits only ("²" is a digit)
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_FORM_FIELDS = 200  # a Slack form has about a dozen fields


# ------------------------------------------------------------------ verification and parsing


class SlackSignature:
    """Slack's request signature: HMAC-SHA256 of ``v0:{timestamp}:{raw body}`` with the signing
    secret, within :data:`SIGNATURE_WINDOW` seconds of this server's clock.

    Computed here on the raw bytes with the standard library, so that no header value or body,
    however malformed, can make the check raise: :meth:`problem` answers in words or None.
    """

    def __init__(
        self,
        secret: str,
        *,
        window: int = SIGNATURE_WINDOW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = secret.encode()
        self.window = window
        self.clock = clock

    def sign(self, body: bytes, timestamp: str) -> str:
        digest = hmac.new(self._key, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
        return "v0=" + digest.hexdigest()

    def problem(self, body: bytes, timestamp: str | None, signature: str | None) -> str | None:
        """None for a valid signature; else what is wrong with it, in words."""
        if not timestamp or not signature:
            return "no Slack signature"
        if not _TIMESTAMP.fullmatch(timestamp):
            return "a malformed X-Slack-Request-Timestamp"
        skew = self.clock() - int(timestamp)
        if abs(skew) > self.window:
            return f"a timestamp {skew:+.0f} s off this server's clock (a replay, or clock drift)"
        if not _SIGNATURE.fullmatch(signature):
            return "a malformed X-Slack-Signature"
        if not hmac.compare_digest(self.sign(body, timestamp), signature):
            return "a wrong Slack signature"
        return None


class UnreadableBody(ValueError):
    """A signed request whose body is not the JSON object or form Slack sends."""


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise UnreadableBody("not JSON") from None
    if not isinstance(value, dict):
        raise UnreadableBody("JSON, but not an object")
    return value


def parse_body(raw: str, content_type: str | None = None) -> dict[str, Any]:
    """A Slack request body: a JSON object (Events API), or a form whose ``payload`` field, when
    present, is a JSON object (interactivity) and otherwise is the data (slash commands)."""
    if not raw:
        return {}
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "application/json" or raw.lstrip().startswith("{"):
        return _json_object(raw)
    try:
        form = dict(parse_qsl(raw, keep_blank_values=True, max_num_fields=_FORM_FIELDS))
    except ValueError:
        raise UnreadableBody("a form with too many fields") from None
    if "payload" in form:
        return _json_object(form["payload"])
    return form


def bolt_request(
    raw_body: str, headers: dict[str, str | Sequence[str]], query: str = ""
) -> BoltRequest:
    """A BoltRequest whose body is parsed correctly even when the text contains 'payload'.

    Raises :class:`UnreadableBody` for a body Slack would never send.
    """
    content_type = headers.get("content-type")
    body = parse_body(raw_body, content_type if isinstance(content_type, str) else None)
    try:
        request = BoltRequest(body=raw_body, query=query, headers=headers)
    except (ValueError, TypeError, AttributeError):
        raise UnreadableBody("a body bolt cannot read") from None
    request.body = body
    request.context = build_context(request.context, body)
    return request


class _Refusals:
    """Logs refused requests without letting a flood of them flood the log: the first of each
    minute in full (why, the body's size and a SHA-256 prefix, never the body), the rest counted
    and summed up in one line when the next minute's first refusal arrives."""

    def __init__(self, every: float = 60.0) -> None:
        self.every = every
        self._lock = threading.Lock()
        self._since = -every
        self._more = 0

    def note(self, why: str, body: bytes) -> None:
        now = time.monotonic()
        with self._lock:
            fresh = now - self._since >= self.every
            more, self._more = (self._more, 0) if fresh else (0, self._more + 1)
            if fresh:
                self._since = now
        if more:
            log.warning("…and %d more requests to /slack/events refused in that minute", more)
        if fresh:
            log.warning(
                "refused a request to /slack/events: %s (%d bytes, sha256 %s)",
                why,
                len(body),
                hashlib.sha256(body).hexdigest()[:16],
            )


# ------------------------------------------------------------------ the WSGI application


class SlackWsgi:
    """The whole HTTP surface of ``serve``."""

    def __init__(
        self,
        app: App,
        health: Callable[[], tuple[int, dict[str, Any]]],
        *,
        signing_secret: str,
    ) -> None:
        self.app = app
        self.health = health
        self.signature = SlackSignature(signing_secret)
        self._refusals = _Refusals()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events":
            if method != "POST":
                return self._send(start_response, 405, b"method not allowed")
            return self._slack(environ, start_response)
        if path == "/healthz" and method in ("GET", "HEAD"):
            status, body = self.health()
            return self._send(start_response, status, json.dumps(body).encode(), "application/json")
        return self._send(start_response, 404, b"not found")

    def _slack(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            return self._send(start_response, 413, b"too large")
        raw: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
        problem = self.signature.problem(
            raw,
            environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
            environ.get("HTTP_X_SLACK_SIGNATURE"),
        )
        if problem is not None:
            self._refusals.note(problem, raw)
            return self._send(start_response, 401, b"invalid request")
        headers: dict[str, str | Sequence[str]] = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        try:
            request = bolt_request(raw.decode("utf-8"), headers, environ.get("QUERY_STRING", ""))
        except UnicodeDecodeError:
            self._refusals.note("a signed body that is not UTF-8", raw)
            return self._send(start_response, 400, b"unreadable body")
        except UnreadableBody as exc:
            self._refusals.note(f"a signed body that is {exc}", raw)
            return self._send(start_response, 400, b"unreadable body")
        response = self.app.dispatch(request)
        if response.status == 401:
            log.warning("bolt refused a request this server had verified; check the clock")
        body = response.body.encode() if isinstance(response.body, str) else response.body
        content_type = (response.headers.get("content-type") or ["text/plain;charset=utf-8"])[0]
        return self._send(start_response, response.status, body, content_type)

    @staticmethod
    def _send(
        start_response: StartResponse, status: int, body: bytes, content_type: str = "text/plain"
    ) -> list[bytes]:
        start_response(
            f"{status} {_REASONS.get(status, 'Status')}",
            [("Content-Type", content_type), ("Content-Length", str(len(body)))],
        )
        return [body]


# ------------------------------------------------------------------ the server


@dataclass(frozen=True)
class ServerLimits:
    """What one client may take of the server. Slack sends each request whole at once, from many
    addresses, and expects its answer within 3 seconds; nothing here comes near that."""

    max_body: int = MAX_BODY
    max_header: int = 32 * 1024  # Slack's headers plus a proxy's fit in a few kilobytes
    request_deadline: float = 5.0  # seconds for a whole request (headers and body) to arrive
    idle_timeout: int = 10  # seconds a kept-alive connection may wait for its next request
    connection_limit: int = 500  # open connections; polled, so well past select()'s 1024 fds
    shed_margin: int = 20  # near the limit, the slowest connections are closed first


class _DeadlineChannel(HTTPChannel):  # type: ignore[misc]
    """A waitress channel that remembers when the request it is reading began to arrive."""

    request_started: float | None = None
    _timed: object = None

    def received(self, data: bytes) -> bool:
        done: bool = super().received(data)
        if self.request is None:
            self.request_started, self._timed = None, None
        elif self.request is not self._timed:  # a new request began in this read
            self.request_started, self._timed = time.monotonic(), self.request
        return done


class GuardedServer(TcpWSGIServer):  # type: ignore[misc]
    """waitress's TCP server, with a deadline per request and slow connections shed first.

    waitress's ``channel_timeout`` counts any received byte as activity, so a client sending one
    header byte a second is never idle; here a request that has not fully arrived within
    ``request_deadline`` seconds has its connection closed, however busy it looks.
    """

    channel_class = _DeadlineChannel

    def __init__(self, *args: Any, limits: ServerLimits, **kw: Any) -> None:
        self.limits = limits
        self._closed_slow = 0
        self._reported = time.monotonic()
        super().__init__(*args, **kw)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # idle connections, after ``idle_timeout``
        cutoff = time.monotonic() - self.limits.request_deadline
        for channel in list(self.active_channels.values()):
            started = getattr(channel, "request_started", None)
            if not channel.requests and started is not None and started < cutoff:
                self._close(channel)
        self._report()

    def readable(self) -> bool:
        over = len(self._map) - (self.adj.connection_limit - self.limits.shed_margin)
        if self.accepting and over > 0:
            self._shed(over)
        readable: bool = super().readable()
        return readable

    def _shed(self, count: int) -> None:
        """Close the ``count`` connections that have waited longest without a complete request."""
        wall, mono = time.time(), time.monotonic()

        def waited(channel: Any) -> float:
            started: float | None = getattr(channel, "request_started", None)
            idle_since: float = channel.last_activity
            return mono - started if started is not None else wall - idle_since

        idle = [c for c in self.active_channels.values() if not c.requests and not c.will_close]
        for channel in sorted(idle, key=waited, reverse=True)[:count]:
            self._close(channel)

    def _close(self, channel: Any) -> None:
        if not channel.will_close:
            channel.will_close = True  # its own next write turn closes it, as waitress does
            self._closed_slow += 1

    def _report(self) -> None:
        now = time.monotonic()
        if self._closed_slow and now - self._reported >= 60:
            log.warning(
                "closed %d connections that were slow to send a request (last %.0f s)",
                self._closed_slow,
                now - self._reported,
            )
            self._closed_slow, self._reported = 0, now


def make_server(
    wsgi: Any,
    *,
    host: str,
    port: int,
    threads: int = 16,
    limits: ServerLimits | None = None,
    **adjustments: Any,
) -> GuardedServer:
    """A :class:`GuardedServer` listening on ``host``:``port`` (one address), not yet running."""
    limits = limits or ServerLimits()
    adj = Adjustments(
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=limits.max_body,
        max_request_header_size=limits.max_header,
        channel_timeout=limits.idle_timeout,
        cleanup_interval=1,
        connection_limit=limits.connection_limit,
        asyncore_use_poll=True,
        **adjustments,
    )
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    return GuardedServer(
        wsgi, {}, dispatcher=dispatcher, adj=adj, sockinfo=adj.listen[0], limits=limits
    )


class ServerThread:
    """The ``serve`` server running in a background thread (tests, benchmarks), stopped cleanly.

    Stopping closes the server's sockets from inside its own event loop: closing them from
    another thread while the loop sits in ``poll()`` fails there with a bad file descriptor.
    """

    def __init__(
        self,
        wsgi: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 16,
        limits: ServerLimits | None = None,
    ) -> None:
        self.server = make_server(wsgi, host=host, port=port, threads=threads, limits=limits)
        self.url = f"http://{host}:{self.server.effective_port}"
        self._thread = threading.Thread(target=self.server.run, name="waitress", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        server: Any = self.server
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        self._thread.join(timeout)
        server.task_dispatcher.shutdown()


def serve(settings: Settings, *, port: int, with_scheduler: bool, host: str = "0.0.0.0") -> int:  # noqa: S104
    """Run the HTTP server until SIGTERM/SIGINT; then drain work and close everything."""
    import signal

    from bot.runners.app import Runtime
    from bot.runners.health import Health
    from bot.runners.scheduler import build_scheduler, scheduler_state

    secret = settings.slack_signing_secret
    assert secret is not None  # settings.require("serve") checked it
    runtime = Runtime.start(settings)
    scheduler = build_scheduler(runtime.deps) if with_scheduler else None
    poster = runtime.deps.poster
    health = Health(
        runtime.deps.store,
        poster if isinstance(poster, SlackPoster) else None,
        (lambda: scheduler_state(scheduler)) if scheduler else None,
    )
    wsgi = SlackWsgi(runtime.app, health.check, signing_secret=secret.get_secret_value())
    server = make_server(wsgi, host=host, port=port, threads=16, ident="cartrover-bot")

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runtime.resume_in_background()
    if scheduler is not None:
        scheduler.start()
    log.info("serving Slack on http://%s:%s/slack/events", host, port)
    try:
        server.run()
    finally:
        log.info("shutting down: no new work; finishing what is in flight")
        server.close()
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        runtime.close(timeout=20.0)
    return 0
