"""A local stand-in for the Slack Web API on loopback that records every call: the Slack of
``cartrover-bot demo`` and of the end-to-end tests, shaped like the mock Web API server that
bolt-python tests itself against.

The bot's real ``WebClient`` talks to it through ``SLACK_API_URL`` (:attr:`LocalSlack.url`), so the
bot runs exactly as in production. It reads each call's arguments as Slack does
(:mod:`bot.dev.loopback.webapi`: a JSON body only for methods documented to accept JSON; a read
method such as ``usergroups.users.list`` sees a JSON body as no arguments) and refuses what Slack
documents refusing. It records request **bodies**, answers ``auth.test`` (with an ``x-oauth-scopes``
header), ``chat.postMessage`` (with a fresh ``ts``), ``chat.update`` (of a message posted here),
``chat.postEphemeral``, ``conversations.open`` (the app's DMs), ``usergroups.users.list``,
``apps.connections.open`` (for an app-level token: a Socket Mode URL where nothing answers, so a
``socket`` process runs but never connects) and the views methods (``views.open``,
``views.update``, ``views.publish``: modals and App Homes kept in :attr:`LocalSlack.views`, see
:mod:`bot.dev.loopback.views`), and ``{"ok": true}`` for anything else; a ``/webhook/<name>`` sink
stands in for ``response_url``s. Channels can be archived or deleted, or lose the bot, and
users deactivated (:attr:`LocalSlack.conversations`, :mod:`bot.dev.loopback.conversations`).
A wrong token gets ``invalid_auth``, none ``not_authed``; failures
are scripted per method with :meth:`LocalSlack.fail_next`. A ``reset`` failure stands for an answer
lost on the way back: the call is carried out (a post gets its ``ts``, kept in
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

from bot.dev.loopback.conversations import Conversations
from bot.dev.loopback.views import Views
from bot.dev.loopback.webapi import (
    METHOD_SCOPES,
    MISSING_USERGROUP_ERRORS,
    read_arguments,
    refusal,
)
from bot.words import plural

__all__ = [
    "BOT_ID",
    "BOT_USER",
    "GOOD_TOKEN",
    "SCOPES",
    "TEAM_ID",
    "Call",
    "Failure",
    "LocalSlack",
]

BOT_ID = "B0BOT0001"
GOOD_TOKEN = "xoxb-1111-2222-fakefakefake"  # noqa: S105 -- published; only the local Slack takes it
TEAM_ID = "T0TEST"
BOT_USER = "UBOT0001"
SCOPES = "commands,chat:write,im:write,usergroups:read"  # what manifest.yml asks for


@dataclass
class Call:
    method: str  # Web API method name, or "webhook"
    body: dict[str, Any]  # the body as sent (decoded), whether or not the method reads it
    token: str | None
    at: float = field(default_factory=time.monotonic)
    path: str = ""
    reply: dict[str, Any] | None = None  # what the local Slack answered (None: no answer)
    lost_reply: dict[str, Any] | None = None  # what it did but never answered (a reset)
    args: dict[str, Any] = field(default_factory=dict)  # the arguments the method saw
    encoding: str = ""  # "json", "form" or "none"
    json_ignored: bool = False  # a JSON body to a method that reads none (seen as no arguments)


@dataclass
class Failure:
    status: int = 200
    error: str | None = None  # Slack error code for {"ok": false}
    retry_after: int | None = None
    reset: bool = False  # carry out the call, then drop the connection without answering


class LocalSlack:
    """The recording Web API server. ``scopes=None`` leaves out the ``x-oauth-scopes`` header
    (and then no method is refused for a missing scope). ``groups``: the workspace's user groups
    by id; any other id is ``no_such_subteam``. ``missing_usergroup_error``: the switch for what
    Slack answers ``usergroups.users.list`` without a ``usergroup`` (see
    :mod:`bot.dev.loopback.webapi`)."""

    def __init__(
        self,
        token: str = GOOD_TOKEN,
        *,
        scopes: str | None = SCOPES,
        missing_usergroup_error: str = MISSING_USERGROUP_ERRORS[0],
    ) -> None:
        if missing_usergroup_error not in MISSING_USERGROUP_ERRORS:
            raise ValueError(f"missing_usergroup_error: one of {MISSING_USERGROUP_ERRORS}")
        self.token = token
        self.scopes = scopes
        self.missing_usergroup_error = missing_usergroup_error
        self.calls: list[Call] = []
        self.groups: dict[str, list[str]] = {}
        self.messages: set[tuple[str, str]] = set()  # (channel, ts) of every message posted
        self.webhook_status = 200
        self.webhook_redirect: str | None = None  # answer response_url posts with a 302 to it
        self.views = Views(TEAM_ID)
        self.conversations = Conversations()
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

    def posted(self, channel: str) -> dict[str, Any]:
        """``chat.postMessage``'s answer: a new message in ``channel``."""
        ts = self.next_ts()
        with self._lock:
            self.messages.add((channel, ts))
        return {"ok": True, "channel": channel, "ts": ts}

    def updated(self, channel: str, ts: str) -> dict[str, Any]:
        """``chat.update``'s answer: only a message posted here can be updated."""
        with self._lock:
            known = (channel, ts) in self.messages
        if not known:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "ts": ts}

    def conversation_answer(self, method: str, args: dict[str, Any]) -> dict[str, Any] | None:
        """The answer of a ``chat.*`` or ``conversations.open`` call (None: another method)."""
        conversations = self.conversations
        if method in ("chat.postMessage", "chat.postEphemeral"):
            refused = conversations.refuse_post(str(args["channel"]))
            if refused:
                return {"ok": False, "error": refused}
        if method == "chat.postMessage":
            return self.posted(str(args["channel"]))
        if method == "chat.update":
            refused = conversations.refuse_update(str(args["channel"]))
            if refused:
                return {"ok": False, "error": refused}
            return self.updated(str(args["channel"]), str(args["ts"]))
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self.next_ts()}
        if method == "conversations.open":
            return conversations.open(args)
        return None

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Poll until ``count`` calls of ``method`` arrived (listeners finish after the ack)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = self.of(method)
            if len(calls) >= count:
                return calls
            time.sleep(0.01)
        raise AssertionError(
            f"expected {plural(count, method + ' call')}, got {len(self.of(method))}"
        )

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
                self._answer_call()
            finally:
                slack._busy(-1)

        do_GET = do_POST

        def _answer_call(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            path, _, query = self.path.partition("?")
            if path.startswith("/webhook/"):
                self._answer_webhook(raw)
                return
            method = path.rsplit("/", 1)[-1]
            args = read_arguments(
                method,
                query,
                self.headers.get("Content-Type", ""),
                raw,
                self.headers.get("Authorization", ""),
            )
            call = Call(
                method,
                args.sent,
                args.token,
                path=self.path,
                args=args.values,
                encoding=args.encoding,
                json_ignored=args.json_ignored,
            )
            slack.record(call)
            failure = slack._take_failure(method)
            if failure and failure.reset:
                if args.token == slack.token:
                    call.lost_reply = self._answer(method, args.values)
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if failure:
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
                call.reply = {"ok": False, "error": failure.error or "failed"}
                self._send(failure.status, call.reply, headers)
                return
            if method == "apps.connections.open" and str(args.token).startswith("xapp-"):
                # Socket Mode: an app-level token gets a URL, where no WebSocket ever answers
                port = slack._server.server_address[1]
                call.reply = {"ok": True, "url": f"ws://127.0.0.1:{port}/socket-mode"}
                self._send(200, call.reply)
                return
            if args.token != slack.token:
                call.reply = {"ok": False, "error": "invalid_auth" if args.token else "not_authed"}
                self._send(200, call.reply)
                return
            extra = {}
            if method == "auth.test" and slack.scopes is not None:
                extra["x-oauth-scopes"] = slack.scopes
            call.reply = self._answer(method, args.values)
            self._send(200, call.reply, extra)

        def _answer_webhook(self, raw: str) -> None:
            body: dict[str, Any]
            if self.headers.get("Content-Type", "").startswith("application/json"):
                body = json.loads(raw or "{}")
            else:
                body = dict(parse_qsl(raw))
            if slack.webhook_redirect:
                slack.record(Call("webhook", body, None, path=self.path))
                self._send(302, {"ok": False}, {"Location": slack.webhook_redirect})
                return
            reply = {"ok": slack.webhook_status == 200}
            slack.record(Call("webhook", body, None, path=self.path, reply=reply))
            self._send(slack.webhook_status, reply)

        def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
            needed = METHOD_SCOPES.get(method)
            if needed and slack.scopes is not None and needed not in slack.scopes.split(","):
                return {"ok": False, "error": "missing_scope", "needed": needed}
            error = refusal(method, args, slack.missing_usergroup_error)
            if error:
                return {"ok": False, "error": error}
            if method == "auth.test":
                org = {"enterprise_id": slack.enterprise_id} if slack.enterprise_id else {}
                return {
                    "ok": True,
                    "url": "https://loopback.slack.test/",
                    "team": "Test",
                    "user": "cartrover",
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER,
                    "bot_id": BOT_ID,
                    **org,
                }
            conversation = slack.conversation_answer(method, args)
            if conversation is not None:
                return conversation
            if method == "usergroups.users.list":
                members = slack.groups.get(str(args["usergroup"]))
                if members is None:
                    return {"ok": False, "error": "no_such_subteam"}
                return {"ok": True, "users": list(members)}
            if method == "views.open":
                return slack.views.open(args)
            if method == "views.update":
                return slack.views.update(args)
            if method == "views.publish":
                return slack.views.publish(args)
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
