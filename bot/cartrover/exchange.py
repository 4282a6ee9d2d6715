"""One CartRover request: wait for the bucket, send within the operation's deadline, read the body,
decode it, learn the bucket's state from the reply, log one line. Nothing here retries; the client
(:mod:`bot.cartrover.client`) decides that."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import NamedTuple, TypeVar

import httpx

from bot import metrics
from bot.cartrover import errors, protocol
from bot.cartrover.errors import CartRoverError, ConnectionFailed, RateLimited, Withheld
from bot.cartrover.pacing import LeakyBucket
from bot.cartrover.retrying import translate
from bot.cartrover.transport import DEADLINE, DeadlineTransport

__all__ = ["DEFAULT_TIMEOUT", "ENDPOINTS", "MAX_BODY_BYTES", "Exchange", "Raw", "closed_error"]

log = logging.getLogger("bot.cartrover")

# The kinds of call the client makes, and what a call can come to: the label values of the
# CartRover series, each exported from 0.
ENDPOINTS = ("get_status", "get_order", "list_orders", "cancel_sending", "cancel_probe")
RESULTS = ("ok", "no_answer", *errors.__all__)
metrics.start_at_zero(metrics.CARTROVER_CALLS, [(e, r) for e in ENDPOINTS for r in RESULTS])
metrics.start_at_zero(metrics.CARTROVER_SECONDS, [(e,) for e in ENDPOINTS])

DEFAULT_TIMEOUT = httpx.Timeout(connect=3.0, read=15.0, write=10.0, pool=2.0)
MAX_BODY_BYTES = 16 * 1024 * 1024
_CLOSED = "the CartRover client is closed"
_T = TypeVar("_T")


def closed_error() -> ConnectionFailed:
    """What a call raises once the client is closed: nothing was sent."""
    return ConnectionFailed(_CLOSED, request_sent=False)


class Raw(NamedTuple):
    """A reply as received."""

    status: int
    headers: httpx.Headers
    body: bytes


class Exchange:
    """Requests to one CartRover over one long-lived httpx.Client (its own, unless given one)."""

    def __init__(
        self,
        base_url: str,
        *,
        http: httpx.Client | None = None,
        bucket: LeakyBucket | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        deadline: float = 30.0,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.deadline = deadline
        self._transport = DeadlineTransport() if http is None else None
        self._http = http or httpx.Client(transport=self._transport, timeout=timeout)
        self._bucket = bucket or LeakyBucket()
        self._monotonic, self._timeout = monotonic, timeout
        self._sending = 0  # calls between "about to send" and "reply read"
        self._sending_lock = threading.Condition()
        self._stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self.closed = False

    @property
    def http_is_closed(self) -> bool:
        return self._http.is_closed

    def close(self) -> None:
        """Close the httpx client if this exchange created it; calls in flight end at once (as
        ConnectionFailed, request_sent=True) and later calls fail without sending."""
        self.closed = True
        if self._transport is not None:
            self._http.close()
            # A call that was opening a connection as the pool closed can leave that connection
            # outside the pool: once the calls in flight have ended (their sockets are shut, so
            # at once), close the pool again to close such stragglers too.
            with self._sending_lock:
                self._sending_lock.wait_for(lambda: self._sending == 0, timeout=2.0)
            self._transport.close()

    @property
    def stats(self) -> dict[str, int]:
        with self._stats_lock:
            return dict(self._stats)

    def count(self, name: str) -> None:
        with self._stats_lock:
            self._stats[name] += 1

    def call(
        self,
        kind: str,
        path: str,
        query: str,
        auth: str,
        deadline_at: float,
        decode: Callable[[Raw], _T],
        go_ahead: Callable[[], bool] | None = None,
    ) -> _T:
        """One request: wait for the bucket, send, read within the deadline, ``decode`` the
        reply; the bucket learns from the reply's header (and from a RateLimited error).
        ``go_ahead`` is asked once the request may leave, just before it is sent: False sends
        nothing and raises :class:`Withheld`."""
        if self.closed:
            raise closed_error()
        left = deadline_at - self._monotonic()
        if left <= 0:
            raise ConnectionFailed("the deadline passed before sending", request_sent=False)
        ticket = self._bucket.acquire(timeout=left)
        if ticket is None:
            raise RateLimited("no rate-limit capacity within the deadline; nothing was sent")
        remaining: list[int | None] = [None]  # what the reply said, told to the bucket once
        try:
            if go_ahead is not None and not go_ahead():
                metrics.CARTROVER_CALLS.labels(kind, "Withheld").inc()
                raise Withheld("not sent: withheld just before it would have left")
            return self._send(kind, path, query, auth, deadline_at, decode, remaining)
        finally:
            self._bucket.observe_remaining(remaining[0], ticket)

    def _send(
        self,
        kind: str,
        path: str,
        query: str,
        auth: str,
        deadline_at: float,
        decode: Callable[[Raw], _T],
        remaining: list[int | None],
    ) -> _T:
        left = max(deadline_at - self._monotonic(), 0.001)
        target = path + ("?" + query if query else "")
        headers = {**protocol.REQUEST_HEADERS, "Authorization": auth}
        limits = {
            name: min(value, left) if value is not None else left
            for name, value in self._timeout.as_dict().items()
        }
        self.count(kind)
        started = time.perf_counter()
        real_deadline = time.monotonic() + left
        token = DEADLINE.set(real_deadline)
        with self._sending_lock:
            self._sending += 1
        try:
            if self.closed:
                raise httpx.ConnectError(_CLOSED)
            request = self._http.build_request(
                "GET", self.base_url + target, headers=headers, timeout=httpx.Timeout(**limits)
            )
            raw = self._exchange(request, real_deadline)
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            error = translate(exc, self.deadline if time.monotonic() >= real_deadline else None)
            self._log(kind, target, None, started, {}, error)
            # from None: the httpx exception holds the request, Authorization header included.
            raise error from None
        finally:
            DEADLINE.reset(token)
            with self._sending_lock:
                self._sending -= 1
                self._sending_lock.notify_all()
        remaining[0] = protocol.remaining_hits(raw.headers)
        try:
            result = decode(raw)
        except CartRoverError as error:
            if isinstance(error, RateLimited):
                remaining[0] = 0
            self._log(kind, target, raw.status, started, raw.headers, error)
            raise
        self._log(kind, target, raw.status, started, raw.headers, None)
        return result

    def _exchange(self, request: httpx.Request, real_deadline: float) -> Raw:
        response = self._http.send(request, stream=True, auth=None, follow_redirects=False)
        try:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise httpx.DecodingError("reply body too large", request=request)
                if time.monotonic() >= real_deadline:
                    raise httpx.ReadTimeout("deadline passed", request=request)
            return Raw(response.status_code, response.headers, b"".join(chunks))
        finally:
            response.close()

    def _log(
        self,
        kind: str,
        target: str,
        status: int | None,
        started: float,
        headers: Mapping[str, str],
        error: CartRoverError | None,
    ) -> None:
        if error is not None:
            self.count("rate_limited" if isinstance(error, RateLimited) else "failures")
        hits = protocol.remaining_hits(headers)
        elapsed = time.perf_counter() - started
        result = "ok" if error is None else "no_answer" if status is None else type(error).__name__
        metrics.CARTROVER_CALLS.labels(kind, result).inc()
        metrics.CARTROVER_SECONDS.labels(kind).observe(elapsed)
        if hits is not None:
            metrics.REMAINING_HITS.set(hits)
        process_id = protocol.process_id(headers)
        log.log(
            logging.INFO if error is None else logging.WARNING,
            "CartRover GET %s → %s in %d ms · Process-ID %s · hits remaining %s%s",
            target,
            status if status is not None else "no answer",
            elapsed * 1000,
            process_id or "-",
            "-" if hits is None else hits,
            "" if error is None else f" · {type(error).__name__}: {error.message}",
            extra={"process_id": process_id} if process_id else None,
        )
