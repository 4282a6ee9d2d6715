"""What the HTTP endpoint does with requests it cannot trust: unsigned or malformed requests cause
no outbound call of any kind, and a response_url is only posted to when a verified request named
a Slack host, without following redirects. Everything goes through the real waitress server."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from slack_bolt.request import BoltRequest

from bot.dev.loopback.slack import TEAM_ID
from bot.dev.sandbox import STALE_TEST_REF
from bot.runners.http.wsgi import bolt_request
from bot.slack import ids
from bot.store.records import RequestState
from tests.e2e.conftest import MakeHarness
from tests.harness import CHANNEL, REQUESTER, STRANGER, Harness

MALFORMED_TIMESTAMPS = ["abc", "1e9", "9" * 400, "", "+1700000000", "1700000000.5", "²"]


class Sink:
    """A host that is not Slack: records every request, whatever its method."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _record(self) -> None:
                sink.seen.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = do_PUT = _record

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def sink() -> Iterator[Sink]:
    found = Sink()
    yield found
    found.stop()


def _post_raw(harness: Harness, body: str | bytes, headers: dict[str, str]) -> httpx.Response:
    raw_headers = {name: value.encode() for name, value in headers.items()}  # UTF-8 on the wire
    return harness.http.post(f"{harness.bot.url}/slack/events", content=body, headers=raw_headers)


def _click_body(harness: Harness, **kw: Any) -> str:
    return harness.click_body(
        ids.APPROVE_HOLD, "1", STRANGER, channel=CHANNEL, ts="1700000000.000001", **kw
    )


# -- unverified requests -----------------------------------------------------------------------


@pytest.mark.parametrize("timestamp", MALFORMED_TIMESTAMPS)
@pytest.mark.parametrize("kind", ["command", "click"])
def test_a_malformed_timestamp_gets_401_and_causes_no_outbound_call(
    harness: Harness, caplog: pytest.LogCaptureFixture, timestamp: str, kind: str
) -> None:
    """An unsigned request with a malformed X-Slack-Request-Timestamp is refused with 401: no
    post to the response_url it names, no CartRover call, no traceback, no body in the log."""
    body = (
        harness.command_body(f"status {STALE_TEST_REF}")
        if kind == "command"
        else _click_body(harness)
    )
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + "ab" * 32,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    with caplog.at_level(logging.DEBUG):
        response = _post_raw(harness, body, headers)
    assert response.status_code == 401
    assert harness.replies() == []  # the error handler used to answer here, before the 401
    assert harness.sandbox.requests == []
    assert [c.method for c in harness.slack.calls] == ["auth.test"]
    assert not any(r.exc_info for r in caplog.records)
    assert "Traceback" not in caplog.text
    assert "webhook" not in caplog.text and STALE_TEST_REF not in caplog.text
    assert "refused a request to /slack/events" in caplog.text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Request-Timestamp": "now"},
        {"X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Signature": "v1=nonsense"},
        {"X-Slack-Signature": "v0=" + "é" * 64},
    ],
)
def test_missing_or_malformed_signature_headers_get_401(
    harness: Harness, headers: dict[str, str]
) -> None:
    """Missing or malformed signature headers are refused before bolt, with nothing sent."""
    body = harness.command_body(f"hold {STALE_TEST_REF}")
    if "X-Slack-Request-Timestamp" not in headers and headers:
        headers["X-Slack-Request-Timestamp"] = str(int(time.time()))
    assert _post_raw(harness, body, headers).status_code == 401
    assert harness.replies() == [] and harness.sandbox.requests == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("payload=not-json", "application/x-www-form-urlencoded"),
        ("payload=%5B1%2C2%5D", "application/x-www-form-urlencoded"),
        ("[1, 2]", "application/json"),
        ("{not json", "application/json"),
        ("&".join(f"f{n}=v" for n in range(500)), "application/x-www-form-urlencoded"),
        (b"text=\xff\xfe", "application/x-www-form-urlencoded"),
    ],
)
def test_a_signed_but_unreadable_body_gets_400(
    harness: Harness, caplog: pytest.LogCaptureFixture, body: str | bytes, content_type: str
) -> None:
    """A correctly signed body that is not what Slack sends is answered 400, without a traceback."""
    raw = body if isinstance(body, bytes) else body.encode()
    ts = str(int(time.time()))
    headers = {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": harness.sign(raw, ts),
        "Content-Type": content_type,
    }
    with caplog.at_level(logging.INFO):
        assert _post_raw(harness, raw, headers).status_code == 400
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)
    assert [c.method for c in harness.slack.calls] == ["auth.test"]


def test_bolts_own_check_failing_on_a_direct_dispatch_answers_nobody(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Behind the HTTP check, bolt's own verification still runs; when it raises on a malformed
    timestamp, the error handler logs one line and posts nothing to the response_url."""
    body = harness.command_body(f"status {STALE_TEST_REF}")
    headers: dict[str, Any] = {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": "abc",
        "x-slack-signature": "v0=" + "0" * 64,
    }
    with caplog.at_level(logging.DEBUG):
        response = harness.bot.app.dispatch(bolt_request(body, headers))
    assert response.status >= 400
    assert harness.replies() == [] and harness.sandbox.requests == []
    assert not any(r.exc_info for r in caplog.records)


# -- where a response_url may point ------------------------------------------------------------


def test_a_verified_click_naming_a_foreign_response_url_is_answered_another_way(
    harness: Harness, sink: Sink
) -> None:
    """A signed click whose response_url is not on Slack's host gets no post there; its answer
    goes out through chat.postEphemeral instead."""
    request = harness.open_hold(STALE_TEST_REF)
    assert request.message_ts is not None
    body = harness.click_body(
        ids.APPROVE_HOLD,
        str(request.id),
        STRANGER,
        channel=CHANNEL,
        ts=request.message_ts,
        response_url=sink.url("/actions/T0/1/x"),
    )
    assert harness.post(body).status_code == 200
    (ephemeral,) = harness.slack.wait_for("chat.postEphemeral")
    assert ephemeral.body["user"] == STRANGER
    assert sink.seen == []
    assert harness.request(request.id).state is RequestState.PENDING


def test_a_response_url_that_redirects_is_not_followed(harness: Harness, sink: Sink) -> None:
    """A response_url on the Slack host answering with a redirect to another host is not
    followed (not even as a GET); the answer goes through chat.postEphemeral."""
    harness.slack.webhook_redirect = sink.url("/stolen")
    assert harness.command(f"status {STALE_TEST_REF}").status_code == 200
    (ephemeral,) = harness.slack.wait_for("chat.postEphemeral")
    assert "will be sent" in json.dumps(ephemeral.body)
    assert len(harness.replies()) == 1  # the one post to the response_url, answered 302
    assert sink.seen == []


def test_a_verified_click_whose_response_url_redirects_gets_no_post_elsewhere(
    harness: Harness, sink: Sink
) -> None:
    """The same for a click: the refusal is not carried to the redirect's target host."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.wait_reply()  # the requester's confirmation, before response_urls start redirecting
    harness.slack.webhook_redirect = sink.url("/stolen")
    harness.click(ids.APPROVE_HOLD, request, STRANGER)
    (ephemeral,) = harness.slack.wait_for("chat.postEphemeral")
    assert ephemeral.body["user"] == STRANGER
    assert sink.seen == []
    assert harness.request(request.id).state is RequestState.PENDING


def test_https_hooks_host_and_the_configured_api_host_are_the_only_ones_allowed() -> None:
    """Slack's hooks host over https, or the origin of SLACK_API_URL; nothing else."""
    from bot.slack.webapi import ResponseUrls

    allowed = ResponseUrls(("https://hooks.slack.com", "http://127.0.0.1:8080"))
    assert allowed.allows("https://hooks.slack.com/commands/T0/1/abc")
    assert allowed.allows("https://HOOKS.slack.com:443/actions/T0/1/abc")
    assert allowed.allows("http://127.0.0.1:8080/webhook/r1")
    for url in (
        "http://hooks.slack.com/commands/T0/1/abc",
        "https://hooks.slack.com.evil.example/commands/x",
        "https://evil.example/?https://hooks.slack.com/",
        "https://user@hooks.slack.com/commands/x",
        "https://hooks.slack.com:8443/commands/x",
        "http://127.0.0.1:8081/webhook/r1",
        "ftp://hooks.slack.com/x",
        "hooks.slack.com/commands/x",
        "",
        "https://[::1/x",
    ):
        assert not allowed.allows(url), url


# -- Socket Mode ---------------------------------------------------------------------------------


def _socket_command(harness: Harness, response_url: str) -> BoltRequest:
    body = {
        "command": "/cartrover",
        "text": f"status {STALE_TEST_REF}",
        "user_id": REQUESTER,
        "channel_id": CHANNEL,
        "team_id": TEAM_ID,
        "api_app_id": "A0TEST",
        "response_url": response_url,
    }
    return BoltRequest(body=body, mode="socket_mode")


def test_socket_mode_answers_through_an_allowed_response_url(harness: Harness) -> None:
    """Socket Mode has no signature (the app token is the credential): its requests are
    answered through their response_url like verified HTTP ones."""
    assert harness.bot.app.dispatch(_socket_command(harness, harness.response_url())).status == 200
    assert "will be sent" in json.dumps(harness.wait_reply().body)


def test_socket_mode_never_posts_to_a_foreign_response_url(harness: Harness, sink: Sink) -> None:
    """The host rule holds in Socket Mode too: the answer takes the chat.postEphemeral route."""
    assert harness.bot.app.dispatch(_socket_command(harness, sink.url())).status == 200
    harness.slack.wait_for("chat.postEphemeral")
    assert sink.seen == []


def test_an_app_without_a_signing_secret_refuses_http_requests(make_harness: MakeHarness) -> None:
    """An HTTP request reaching an app that checks no signatures is refused, not served."""
    from bot.runners.app import build_app

    h = make_harness()
    settings = h.settings.model_copy(update={"slack_signing_secret": None})
    deps = replace(h.bot.deps, settings=settings)
    app = build_app(deps, h.bot.web_client)
    body = urlencode({"command": "/cartrover", "text": "pending", "response_url": "x"})
    response = app.dispatch(bolt_request(body, {}))
    assert response.status == 401
    assert h.replies() == [] and h.sandbox.requests == []
