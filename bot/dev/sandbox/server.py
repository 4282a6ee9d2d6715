"""The CartRover sandbox server: a real HTTP server (stdlib, one daemon thread per connection)
serving exactly the four calls the bot makes (see :mod:`bot.dev.sandbox.handler`) over an
:class:`OrderBook`."""

from __future__ import annotations

import contextlib
import errno
import hmac
import shlex
import signal
import socket
import sys
import threading
import time
from base64 import b64decode
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from types import FrameType, TracebackType

from bot.dev.sandbox.control import Credential, Faults, LeakyBucket, RecordedRequest
from bot.dev.sandbox.handler import SandboxHandler
from bot.dev.sandbox.orders import OrderBook
from bot.dev.sandbox.seed import TEST_PATTERN, TEST_SOURCE
from bot.times import SystemClock

__all__ = [
    "SANDBOX_API_KEY",
    "SANDBOX_API_USER",
    "SANDBOX_CANCEL_API_KEY",
    "SANDBOX_CANCEL_API_USER",
    "SandboxServer",
    "run_sandbox",
]

SANDBOX_API_USER = "sandbox"
SANDBOX_API_KEY = "sandbox-key"  # a published demo credential (merchant level)
SANDBOX_CANCEL_API_USER = "sandbox-cart"
SANDBOX_CANCEL_API_KEY = "sandbox-cart-key"  # likewise, for the Cart API's cancel call


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default backlog is 5: forty connections opened at once would wait for SYN
    # retries (a second each), which no real API server makes its clients do.
    request_queue_size = 128
    sandbox: SandboxServer


class SandboxServer:
    """A CartRover API stand-in for tests and the demo. Merchant calls (M1, M2, M3) take the main
    (merchant-level) credential pair only; the cart-level ``wms_cancel`` (C4) takes the cancel
    (Cart API) pair only, as CartRover keeps separate credentials per API level. One bucket is
    shared by every call and credential."""

    def __init__(
        self,
        book: OrderBook,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_user: str = SANDBOX_API_USER,
        api_key: str = SANDBOX_API_KEY,
        cancel_api_user: str = SANDBOX_CANCEL_API_USER,
        cancel_api_key: str = SANDBOX_CANCEL_API_KEY,
        capacity: int = 100,
        refill_seconds: float = 0.6,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if (api_user, api_key) == (cancel_api_user, cancel_api_key):
            raise ValueError("the cancel pair is a Cart API pair: it must differ from the main")
        self.book = book
        self.faults = Faults()
        self.monotonic = monotonic
        self.bucket = LeakyBucket(capacity, refill_seconds, monotonic)
        self.stopping = threading.Event()
        self.rate_limited_count = 0
        self._main = (api_user, api_key)
        self._cancel = (cancel_api_user, cancel_api_key)
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self._thread: threading.Thread | None = None
        self._httpd = _HTTPServer((host, port), SandboxHandler, bind_and_activate=True)
        self._httpd.sandbox = self

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, poll_interval: float = 0.01) -> SandboxServer:
        """Serve in a background daemon thread; :meth:`stop` takes up to ``poll_interval``."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": poll_interval},
                name=f"cartrover-sandbox-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, let go of held answers and drop open connections."""
        self.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- control and inspection -------------------------------------------------------------

    def set_rate_limit(self, capacity: int, refill_seconds: float) -> None:
        """Change the bucket (and fill it)."""
        self.bucket.configure(capacity, refill_seconds)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    def cancel_requests(self, ref: str | None = None) -> list[RecordedRequest]:
        """The ``wms_cancel`` requests received (for one order when ``ref`` is given)."""
        return [r for r in self.requests if r.route == "C4" and (ref is None or r.cust_ref == ref)]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- used by the handler ----------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def count_rate_limited(self) -> None:
        with self._lock:
            self.rate_limited_count += 1

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def check_auth(self, header: str | None, route: str | None) -> tuple[bool, Credential | None]:
        """Whether the Basic credentials are right for ``route``, and which pair they are."""
        presented = _basic(header)
        credential: Credential | None = None
        if presented is not None:
            if _same(presented, self._main):
                credential = "main"
            elif _same(presented, self._cancel):
                credential = "cancel"
        return credential == ("cancel" if route == "C4" else "main"), credential


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, key = b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, key) if sep else None


def _same(presented: tuple[str, str], expected: tuple[str, str]) -> bool:
    user, key = expected
    user_ok = hmac.compare_digest(presented[0].encode(), user.encode())
    key_ok = hmac.compare_digest(presented[1].encode(), key.encode())
    return user_ok and key_ok


def run_sandbox(port: int = 8321, host: str = "127.0.0.1") -> int:
    """``cartrover-bot sandbox``: serve a seeded sandbox until Ctrl-C or SIGTERM; the exit code
    (1, with one line saying why, when the port cannot be listened on)."""
    try:
        server = SandboxServer(OrderBook.seeded(SystemClock()), host=host, port=port)
    except OSError as exc:
        print(f"cartrover-bot sandbox: {_port_problem(port, exc)}", file=sys.stderr, flush=True)
        return 1
    previous = None
    if threading.current_thread() is threading.main_thread():

        def _terminate(signum: int, frame: FrameType | None) -> None:
            server.stopping.set()  # a flag, not an exception: it may arrive at any line

        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        server.start(poll_interval=0.5)
        print(banner(server.url), flush=True)
        while not server.stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        print("CartRover sandbox stopped.", flush=True)
    return 0


def banner(url: str) -> str:
    """What the sandbox prints at start: every variable the bot needs to use it, ready for the
    environment or ``.env``, the test-order rule that matches its seeded test orders included."""
    rule = (
        f"TEST_ORDER_SOURCES={shlex.quote(TEST_SOURCE)}",
        f"TEST_ORDER_PATTERN={shlex.quote(TEST_PATTERN)}",
    )
    return "\n".join(
        [
            f"CartRover sandbox listening on {url}",
            f"  CARTROVER_API_URL={url}",
            f"  CARTROVER_API_USER={SANDBOX_API_USER}",
            f"  CARTROVER_API_KEY={SANDBOX_API_KEY}",
            f"  CARTROVER_CANCEL_API_USER={SANDBOX_CANCEL_API_USER}",
            f"  CARTROVER_CANCEL_API_KEY={SANDBOX_CANCEL_API_KEY}",
            *(f"  {line}" for line in rule),
            "Set these for the bot (environment or .env). The cancel pair is the sandbox's Cart",
            "API pair (the cancel call takes no other); the last two lines are the test-order",
            "rule that finds the sandbox's seeded test orders. Press Ctrl-C to stop.",
        ]
    )


def _port_problem(port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        why = "is already in use: another program (perhaps another sandbox) listens on it"
    elif error.errno == errno.EACCES:
        why = "needs privileges this user does not have (ports below 1024 usually do)"
    else:
        why = f"cannot be opened ({error.strerror or type(error).__name__})"
    return f"port {port} {why}; stop that program, or choose a free port with --port N"
