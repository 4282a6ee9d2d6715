"""The HTTP server cannot be starved or filled by one client: an oversized body is refused from
its Content-Length alone, slow or idle connections are closed within seconds, and with many slow
clients connected a signed command is still answered at once. Real sockets, real server."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import MakeHarness
from tests.harness import Harness

SLACK_SLA = 3.0  # seconds Slack waits for an answer


def _address(harness: Harness) -> tuple[str, int]:
    parts = urlsplit(harness.bot.url)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


class Tricklers:
    """``count`` connections that send a request's header one byte at a time, forever: the
    slowloris client. A background thread feeds them until stopped (bounded to 60 s)."""

    def __init__(self, address: tuple[str, int], count: int, every: float = 0.2) -> None:
        self.sockets = [socket.create_connection(address, timeout=5) for _ in range(count)]
        for sock in self.sockets:
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nX-Slow: ")
        self.closed_by_server = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._feed, args=(every,), daemon=True)
        self._thread.start()

    def _feed(self, every: float) -> None:
        deadline = time.monotonic() + 60
        live = list(self.sockets)
        while live and not self._stop.wait(every) and time.monotonic() < deadline:
            for sock in list(live):
                try:
                    sock.sendall(b"a")
                except OSError:
                    live.remove(sock)
                    self.closed_by_server += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.sockets:
            sock.close()


def _closed_within(sock: socket.socket, limit: float) -> float:
    """Seconds until the server closed ``sock`` (reading only; fails after ``limit``)."""
    started = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(4096):
            pass
    except (TimeoutError, ConnectionResetError) as exc:
        if isinstance(exc, TimeoutError):
            raise AssertionError(f"the server kept the connection open for {limit} s") from None
    return time.monotonic() - started


def test_an_oversized_body_is_refused_from_its_content_length_before_it_is_sent(
    harness: Harness,
) -> None:
    """A 1 GB Content-Length is answered 413 at once, while the client has sent no body byte:
    nothing is read, nothing spooled to a temporary file, no listener runs."""
    with socket.create_connection(_address(harness), timeout=5) as sock:
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 1000000000\r\n\r\n"
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")
    assert [c.method for c in harness.slack.calls] == ["auth.test"]


def test_oversized_headers_are_refused(harness: Harness) -> None:
    """Headers past 32 KB get 431 without reaching the application."""
    with socket.create_connection(_address(harness), timeout=5) as sock:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nX-Big: " + b"a" * 40_000)
        answer = sock.recv(4096)
    assert answer.split(b" ", 2)[1] == b"431"
    assert [c.method for c in harness.slack.calls] == ["auth.test"]


def test_a_trickling_request_is_cut_off_at_its_deadline(make_harness: MakeHarness) -> None:
    """A client sending one header byte every 0.1 s is never idle, yet its connection is closed
    once the request deadline passes."""
    from bot.runners.http.server import ServerLimits

    h = make_harness(server_limits=ServerLimits(request_deadline=1.0))
    tricklers = Tricklers(_address(h), 1, every=0.1)
    try:
        assert _closed_within(tricklers.sockets[0], 6) < 4
    finally:
        tricklers.close()


def test_an_idle_connection_is_closed_within_seconds(make_harness: MakeHarness) -> None:
    """A connection that sends nothing is closed after the idle timeout."""
    from bot.runners.http.server import ServerLimits

    h = make_harness(server_limits=ServerLimits(idle_timeout=1))
    with socket.create_connection(_address(h), timeout=5) as sock:
        assert _closed_within(sock, 6) < 4


def _help_latency(harness: Harness) -> float:
    started = time.monotonic()
    response = harness.command("help")
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert "/cartrover status" in response.json()["text"]
    return elapsed


def test_150_trickling_connections_do_not_keep_slack_out(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    """With 150 connections trickling header bytes, a signed `/cartrover help` through the real
    server is still answered well within Slack's 3 seconds."""
    tricklers = Tricklers(_address(harness), 150)
    try:
        elapsed = _help_latency(harness)
    finally:
        tricklers.close()
    with capsys.disabled():
        print(f"\n/cartrover help beside 150 trickling connections: {elapsed * 1000:.0f} ms")
    assert elapsed < SLACK_SLA


def test_near_the_connection_limit_the_slowest_connections_make_room(
    make_harness: MakeHarness,
) -> None:
    """More slow clients than the connection limit: the ones waiting longest are closed first,
    so a signed command still gets in and is answered at once."""
    from bot.runners.http.server import ServerLimits

    limits = ServerLimits(connection_limit=40, shed_margin=10, request_deadline=30.0)
    h = make_harness(server_limits=limits)
    tricklers = Tricklers(_address(h), 60)
    try:
        assert _help_latency(h) < SLACK_SLA
        h.wait_until(lambda: tricklers.closed_by_server > 0)
    finally:
        tricklers.close()
