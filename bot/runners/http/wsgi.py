"""The HTTP surface of ``serve``: a WSGI application routing ``POST /slack/events`` to bolt,
``GET /livez``, ``GET /readyz`` and ``GET /healthz`` to liveness and readiness
(:mod:`bot.runners.http.health`) and ``GET /metrics`` to :mod:`bot.metrics`. What it refuses,
and why, is in the README ("Security").

- **Verified before bolt.** A request's Slack signature is checked here, on the raw bytes, before
  bolt sees anything: a missing, malformed, stale or wrong signature gets 401, and an unreadable
  body of a signed request 400. Such a request reaches no listener and causes no outbound call of
  any kind; the log gets one line with the body's size and a SHA-256 prefix, never the body, and
  a flood of them is summed up once a minute. bolt checks the signature again (defence in depth).
- **Parsed once, correctly.** bolt's own body parser reads any form body that merely *contains*
  ``payload`` as an interactivity payload and drops it; :func:`bolt_request` parses the body
  itself, and the raw text still goes to bolt's verification untouched.
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
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context

from bot import metrics
from bot.runners.http.health import HealthWsgi

__all__ = [
    "MAX_BODY",
    "SIGNATURE_WINDOW",
    "SlackSignature",
    "SlackWsgi",
    "UnreadableBody",
    "bolt_request",
    "parse_body",
]

log = logging.getLogger("bot.runners.serve")

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
        self.health = HealthWsgi(health)
        self.signature = SlackSignature(signing_secret)
        self._refusals = _Refusals()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events":
            if method != "POST":
                return self._send(start_response, 405, b"method not allowed")
            return self._slack(environ, start_response)
        verdict = self.health.answer(path, method)
        if verdict is not None:
            status, body = verdict
            return self._send(start_response, status, json.dumps(body).encode(), "application/json")
        if path == "/metrics" and method in ("GET", "HEAD"):
            return self._send(start_response, 200, metrics.exposition(), metrics.CONTENT_TYPE)
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
