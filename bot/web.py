"""``serve``: a WSGI application on waitress routing ``POST /slack/events`` to bolt and
``GET /healthz`` to the health check.

bolt's own body parser reads any form body that merely *contains* ``payload`` as an interactivity
payload and drops it (slack-platform.md §12). :func:`bolt_request` fixes that in one place: the raw
bytes still go to signature verification untouched.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context

from bot.settings import Settings
from bot.slackio import SlackPoster

__all__ = ["MAX_BODY", "ServerThread", "SlackWsgi", "bolt_request", "serve"]

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # Slack payloads are far smaller; anything bigger is refused
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_REASONS = {
    200: "OK",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def bolt_request(
    raw_body: str, headers: dict[str, str | Sequence[str]], query: str = ""
) -> BoltRequest:
    """A BoltRequest whose body is parsed correctly even when the text contains 'payload'."""
    request = BoltRequest(body=raw_body, query=query, headers=headers)
    if request.body == {} and raw_body and not raw_body.lstrip().startswith("{"):
        form = dict(parse_qsl(raw_body, keep_blank_values=True))
        if "payload" not in form and form:
            request.body = form
            request.context = build_context(request.context, form)
    return request


class SlackWsgi:
    """The whole HTTP surface of ``serve``."""

    def __init__(self, app: App, health: Callable[[], tuple[int, dict[str, Any]]]) -> None:
        self.app = app
        self.health = health

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
        raw = environ["wsgi.input"].read(length).decode("utf-8", errors="replace")
        headers: dict[str, str | Sequence[str]] = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        response = self.app.dispatch(bolt_request(raw, headers, environ.get("QUERY_STRING", "")))
        if response.status == 401:
            log.warning("refused a request with a bad or stale Slack signature")
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


class ServerThread:
    """A waitress server running in a background thread (tests, benchmarks), stopped cleanly.

    Stopping closes the server's sockets from inside its own event loop: closing them from
    another thread while the loop sits in ``select()`` fails there with a bad file descriptor.
    """

    def __init__(self, wsgi: Any, *, host: str = "127.0.0.1", port: int = 0, threads: int = 16):
        import waitress

        self.server = waitress.create_server(wsgi, host=host, port=port, threads=threads)
        self.url = f"http://{host}:{self.server.effective_port}"
        self._thread = threading.Thread(target=self.server.run, name="waitress", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        from waitress import wasyncore

        server: Any = self.server
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        self._thread.join(timeout)
        server.task_dispatcher.shutdown()


def serve(settings: Settings, *, port: int, with_scheduler: bool, host: str = "0.0.0.0") -> int:  # noqa: S104
    """Run the HTTP server until SIGTERM/SIGINT; then drain work and close everything (R30)."""
    import signal

    import waitress

    from bot.app import Runtime
    from bot.health import Health
    from bot.scheduler import build_scheduler, scheduler_state

    runtime = Runtime.start(settings)
    scheduler = build_scheduler(runtime.deps) if with_scheduler else None
    poster = runtime.deps.poster
    health = Health(
        runtime.deps.store,
        poster if isinstance(poster, SlackPoster) else None,
        (lambda: scheduler_state(scheduler)) if scheduler else None,
    )
    server = waitress.create_server(
        SlackWsgi(runtime.app, health.check),
        host=host,
        port=port,
        threads=16,
        ident="cartrover-bot",
    )

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
