"""A local stand-in for the Slack Web API on loopback that records every call: the Slack of
``cartrover-bot demo`` and of the end-to-end tests, shaped like the mock Web API server that
bolt-python tests itself against.

The bot's real ``WebClient`` talks to it through ``SLACK_API_URL`` (:attr:`LocalSlack.url`), so the
bot runs exactly as in production. It records request **bodies**, answers ``auth.test`` (with an
``x-oauth-scopes`` header), ``chat.postMessage`` (with a fresh ``ts``), ``chat.update``,
``chat.postEphemeral``, ``usergroups.users.list``, ``apps.connections.open`` (for an app-level
token: a Socket Mode URL where nothing answers, so a ``socket`` process runs but never
connects) and the views methods (``views.open``,
``views.update``, ``views.publish``: modals and App Homes kept in :attr:`LocalSlack.views`, see
:mod:`bot.dev.loopback.views`), and ``{"ok": true}`` for anything else; a
``/webhook/<name>`` sink stands in for ``response_url``s. A wrong token gets ``invalid_auth``;
failures are scripted per method with :meth:`LocalSlack.fail_next`. A ``reset`` failure stands for
an answer lost on the way back: the call is carried out (a post gets its ``ts``, kept in
:attr:`Call.lost_reply`) and then the connection is dropped. :attr:`LocalSlack.in_flight` counts
requests being answered, so a caller can wait until everything sent has arrived.

Standard library only.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from bot.dev.loopback.views import Views

__all__ = [
    "BOT_USER",
    "GOOD_TOKEN",
    "SCOPES",
    "TEAM_ID",
    "Call",
    "Failure",
    "LocalSlack",
]

GOOD_TOKEN = "xoxb-1111-2222-fakefakefake"  # noqa: S105 -- published; only the local Slack takes it
TEAM_ID = "T0TEST"
BOT_USER = "UBOT0001"
SCOPES = "commands,chat:write,usergroups:read"  # what manifest.yml asks for


@dataclass
class Call:
    method: str  # Web API method name, or "webhook"
    body: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)
    path: str = ""
    reply: dict[str, Any] | None = None  # what the local Slack answered (None: no answer)
    lost_reply: dict[str, Any] | None = None  # what it did but never answered (a reset)


@dataclass
class Failure:
    status: int = 200
    error: str | None = None  # Slack error code for {"ok": false}
    retry_after: int | None = None
    reset: bool = False  # carry out the call, then drop the connection without answering


class LocalSlack:
    """The recording Web API server. ``scopes=None`` leaves out the ``x-oauth-scopes`` header."""

    def __init__(self, token: str = GOOD_TOKEN, *, scopes: str | None = SCOPES) -> None:
        self.token = token
        self.scopes = scopes
        self.calls: list[Call] = []
        self.groups: dict[str, list[str]] = {}
        self.webhook_status = 200
        self.webhook_redirect: str | None = None  # answer response_url posts with a 302 to it
        self.views = Views(TEAM_ID)
        self.enterprise_id: str | None = None  # auth.test names this Enterprise Grid org
        # Called with each call as it is recorded, before it is answered (a test looks at the
        # bot's state at that moment).
        self.on_call: Callable[[Call], None] | None = None
        self._failures: dict[str, list[Failure]] = {}
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self._in_flight = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- lifecycle
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def webhook(self, name: str = "r") -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhook/{name}"

    def start(self) -> LocalSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LocalSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting and inspection
    def fail_next(self, method: str, failure: Failure, times: int = 1) -> None:
        with self._lock:
            self._failures.setdefault(method, []).extend([failure] * times)

    def _take_failure(self, method: str) -> Failure | None:
        with self._lock:
            queue = self._failures.get(method)
            return queue.pop(0) if queue else None

    def record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)

    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def since(self, index: int) -> list[Call]:
        """Every call recorded after the first ``index`` ones, in arrival order."""
        with self._lock:
            return self.calls[index:]

    @property
    def in_flight(self) -> int:
        """Requests received and not yet answered."""
        with self._lock:
            return self._in_flight

    def _busy(self, delta: int) -> None:
        with self._lock:
            self._in_flight += delta

    def next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Poll until ``count`` calls of ``method`` arrived (listeners finish after the ack)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = self.of(method)
            if len(calls) >= count:
                return calls
            time.sleep(0.01)
        raise AssertionError(f"expected {count} {method} call(s), got {len(self.of(method))}")

    def everything_sent(self) -> str:
        """Every recorded body as one JSON text, for escaping and secret checks."""
        with self._lock:
            return json.dumps([c.body for c in self.calls])


def _handler(slack: LocalSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # silence stderr
            return

        def do_POST(self) -> None:
            slack._busy(+1)
            try:
                self._answer_post()
            finally:
                slack._busy(-1)

        def _answer_post(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            body: dict[str, Any]
            if self.headers.get("Content-Type", "").startswith("application/json"):
                body = json.loads(raw or "{}")
            else:
                body = dict(parse_qsl(raw))
            if self.path.startswith("/webhook/") and slack.webhook_redirect:
                slack.record(Call("webhook", body, None, path=self.path))
                self._send(302, {"ok": False}, {"Location": slack.webhook_redirect})
                return
            if self.path.startswith("/webhook/"):
                reply = {"ok": slack.webhook_status == 200}
                slack.record(Call("webhook", body, None, path=self.path, reply=reply))
                self._send(slack.webhook_status, reply)
                return
            method = self.path.rsplit("/", 1)[-1]
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ") if auth else body.get("token")
            call = Call(method, body, token, path=self.path)
            slack.record(call)
            failure = slack._take_failure(method)
            if failure and failure.reset:
                if token == slack.token:
                    call.lost_reply = self._answer(method, body)
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if failure:
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
                call.reply = {"ok": False, "error": failure.error or "failed"}
                self._send(failure.status, call.reply, headers)
                return
            if method == "apps.connections.open" and str(token).startswith("xapp-"):
                # Socket Mode: an app-level token gets a URL, where no WebSocket ever answers
                port = slack._server.server_address[1]
                call.reply = {"ok": True, "url": f"ws://127.0.0.1:{port}/socket-mode"}
                self._send(200, call.reply)
                return
            if token != slack.token:
                call.reply = {"ok": False, "error": "invalid_auth"}
                self._send(200, call.reply)
                return
            extra = {}
            if method == "auth.test" and slack.scopes is not None:
                extra["x-oauth-scopes"] = slack.scopes
            call.reply = self._answer(method, body)
            self._send(200, call.reply, extra)

        def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
            if method == "auth.test":
                org = {"enterprise_id": slack.enterprise_id} if slack.enterprise_id else {}
                return {"ok": True, "team_id": TEAM_ID, "user_id": BOT_USER, "team": "Test", **org}
            if method == "chat.postMessage":
                return {"ok": True, "channel": body.get("channel"), "ts": slack.next_ts()}
            if method == "chat.update":
                return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}
            if method == "chat.postEphemeral":
                return {"ok": True, "message_ts": slack.next_ts()}
            if method == "usergroups.users.list":
                return {"ok": True, "users": slack.groups.get(str(body.get("usergroup")), [])}
            if method == "views.open":
                return slack.views.open(_json_fields(body))
            if method == "views.update":
                return slack.views.update(_json_fields(body))
            if method == "views.publish":
                return slack.views.publish(_json_fields(body))
            return {"ok": True}

        def _send(
            self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _json_fields(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with a form-encoded ``view`` (JSON text) decoded, as Slack reads either."""
    view = body.get("view")
    if isinstance(view, str):
        try:
            return {**body, "view": json.loads(view)}
        except ValueError:
            return body
    return body
