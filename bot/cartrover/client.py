"""The CartRover client: the one place CartRover HTTP happens (cartrover-api.md §11).

A thin I/O layer over :mod:`bot.cartrover.protocol` (gidgethub's model): one private ``_call``
sends one request through the leaky bucket and hands the reply to ``protocol.decode``. Reads are
retried (tenacity) on ConnectionFailed, Unavailable and RateLimited; ``wms_cancel`` is resent only
when the request surely never left (R5, R6). httpx exceptions are translated here and never escape.

Every operation has an overall deadline (R31): the client's own transport
(:mod:`bot.cartrover.transport`) bounds every connect, read and write by the time left, and the
body is streamed with a check between chunks for transports the caller brings.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, NamedTuple, TypeVar

import httpx
import tenacity
from pydantic import SecretStr
from tenacity.retry import retry_base
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from bot.cartrover import protocol
from bot.cartrover.errors import (
    CartRoverError,
    ConnectionFailed,
    RateLimited,
    Unavailable,
    UnexpectedReply,
)
from bot.cartrover.models import CancelReply, Order
from bot.cartrover.pacing import LeakyBucket
from bot.cartrover.transport import DEADLINE, DeadlineTransport
from bot.settings import ConfigError, Settings

__all__ = ["DEFAULT_TIMEOUT", "CartRoverClient", "OrderListing"]

log = logging.getLogger("bot.cartrover")

DEFAULT_TIMEOUT = httpx.Timeout(connect=3.0, read=15.0, write=10.0, pool=2.0)
MAX_BODY_BYTES = 16 * 1024 * 1024
_T = TypeVar("_T")
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)

# ------------------------------------------------------------------ helpers


class _Reply(NamedTuple):
    data: Any
    process_id: str | None
    status: int


def _reveal(secret: str | SecretStr) -> str:
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


def _detail(exc: Exception) -> str:
    text = re.sub(r"\w+://\S+", "<url>", " ".join(str(exc).split()))[:120]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _translate(exc: Exception, deadline: float | None) -> CartRoverError:
    """An httpx exception → ConnectionFailed / UnexpectedReply, without URL or credentials."""
    if isinstance(exc, httpx.DecodingError):
        return UnexpectedReply(f"CartRover's reply could not be decoded ({_detail(exc)})")
    sent = not isinstance(exc, _NOT_SENT)
    if deadline is not None and sent:
        message = f"no complete answer from CartRover within the {deadline:g} s deadline"
    elif sent:
        message = f"no complete answer from CartRover ({_detail(exc)})"
    else:
        message = f"could not reach CartRover; nothing was sent ({_detail(exc)})"
    return ConnectionFailed(message, request_sent=sent)


class _StopAtDeadline(stop_base):
    """Stop when the next wait would end past the operation's deadline."""

    def __init__(self, monotonic: Callable[[], float], deadline_at: float) -> None:
        self._monotonic, self._deadline_at = monotonic, deadline_at

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return self._monotonic() + retry_state.upcoming_sleep >= self._deadline_at


class _ReadWait(wait_base):
    """Capped, jittered exponential backoff, but never shorter than the server's Retry-After."""

    def __init__(self) -> None:
        self._backoff = tenacity.wait_exponential_jitter(multiplier=0.5, max=8.0, jitter=0.5)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        wait = self._backoff(retry_state)
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            wait = max(wait, exc.retry_after)
        return wait


class OrderListing:
    """A lazy, single-pass iterable of Orders fetched page by page until a short page (§9)."""

    def __init__(self, fetch: Callable[[int], list[Order]], limit: int, max_pages: int) -> None:
        self._fetch, self._limit, self._max_pages = fetch, limit, max_pages
        self._started = False
        self.pages_fetched = 0
        self.truncated = False

    def __iter__(self) -> Iterator[Order]:
        if self._started:
            raise RuntimeError("an OrderListing can be iterated only once")
        self._started = True
        return self._orders()

    def _orders(self) -> Iterator[Order]:
        for page in range(1, self._max_pages + 1):
            orders = self._fetch(page)
            self.pages_fetched += 1
            yield from orders
            if protocol.is_last_page(len(orders), self._limit):
                return
        self.truncated = True
        log.warning("CartRover listing stopped at the page cap (%d pages)", self._max_pages)


# ------------------------------------------------------------------ the client


class CartRoverClient:
    """CartRover over one long-lived httpx.Client: order lookup, listing and cancel sending."""

    def __init__(
        self,
        base_url: str,
        api_user: str,
        api_key: str | SecretStr,
        *,
        cancel_user: str | None = None,
        cancel_key: str | SecretStr | None = None,
        http: httpx.Client | None = None,
        bucket: LeakyBucket | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        read_attempts: int = 4,
        cancel_attempts: int = 3,
        deadline: float = 30.0,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        if (cancel_user is None) != (cancel_key is None):
            raise ValueError("set both cancel_user and cancel_key, or neither")
        if read_attempts < 1 or cancel_attempts < 1 or deadline <= 0:
            raise ValueError("attempts must be at least 1 and the deadline positive")
        self.base_url = base_url.rstrip("/")
        self._auth = protocol.basic_auth(api_user, _reveal(api_key))
        self._cancel_auth = self._auth
        if cancel_user is not None and cancel_key is not None:
            self._cancel_auth = protocol.basic_auth(cancel_user, _reveal(cancel_key))
        self._owns_http = http is None
        self._http = http or httpx.Client(transport=DeadlineTransport(), timeout=timeout)
        self._bucket = bucket or LeakyBucket()
        self._sleep, self._monotonic = sleep, monotonic
        self._read_attempts, self._cancel_attempts = read_attempts, cancel_attempts
        self._deadline, self._timeout = deadline, timeout
        self._stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self._closed = False

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> CartRoverClient:
        """A client for ``CARTROVER_API_URL`` with the main and cancel credential pairs."""
        user, key = settings.cartrover_api_user, settings.cartrover_api_key
        if not user or key is None:
            raise ConfigError("CARTROVER_API_USER and CARTROVER_API_KEY are required")
        cancel_user, cancel_key = settings.cancel_credentials
        options: dict[str, Any] = {"cancel_user": cancel_user, "cancel_key": cancel_key}
        return cls(settings.cartrover_api_url, user, key, **(options | overrides))

    # -- lifecycle and counters

    def close(self) -> None:
        """Close the httpx client if this client created it; calls in flight end at once (as
        ConnectionFailed, request_sent=True) and later calls fail without sending."""
        self._closed = True
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> CartRoverClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CartRoverClient({self.base_url!r})"

    @property
    def stats(self) -> dict[str, int]:
        """HTTP calls made by kind (get_order, list_orders, cancel_sending), retries, failures."""
        with self._stats_lock:
            return dict(self._stats)

    def _count(self, name: str) -> None:
        with self._stats_lock:
            self._stats[name] += 1

    # -- the three calls

    def get_order(self, ref: str) -> Order:
        """One order (M2). Raises OrderRefError before any request for an invalid reference."""
        reply = self._read("get_order", protocol.order_path(ref))
        return self._decoded(protocol.decode_order, reply)

    def iter_orders(
        self,
        status: str = "new",
        *,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        order_source: str | None = None,
        limit: int = protocol.MAX_LIST_LIMIT,
        max_pages: int = 1000,
    ) -> OrderListing:
        """Orders matching an M1 query, fetched lazily page by page (arguments checked now)."""
        path = protocol.list_path(status)

        def query(page: int) -> str:
            return protocol.list_query(
                limit=limit,
                page=page,
                from_date=from_date,
                to_date=to_date,
                order_source=order_source,
            )

        query(1)
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")

        def fetch(page: int) -> list[Order]:
            reply = self._read("list_orders", path, query(page))
            return self._decoded(protocol.decode_orders, reply)

        return OrderListing(fetch, limit, max_pages)

    def cancel_sending(self, ref: str) -> CancelReply:
        """C4 ``wms_cancel`` with the cancel credentials. Resent only after a failure that proves
        nothing was sent; a timeout, reset or 5xx after sending raises at once (R5, R6)."""
        path = protocol.cancel_path(ref)
        deadline_at = self._monotonic() + self._deadline
        retrying = self._retrying(
            tenacity.retry_if_exception(
                lambda e: (
                    isinstance(e, ConnectionFailed) and not e.request_sent and not self._closed
                )
            ),
            self._cancel_attempts,
            tenacity.wait_exponential_jitter(multiplier=0.2, max=2.0, jitter=0.2),
            deadline_at,
        )
        reply = retrying(self._call, "cancel_sending", path, "", self._cancel_auth, deadline_at)
        return self._decoded(protocol.decode_cancel, reply)

    # -- the machinery

    def _read(self, kind: str, path: str, query: str = "") -> _Reply:
        deadline_at = self._monotonic() + self._deadline
        retrying = self._retrying(
            tenacity.retry_if_exception(
                lambda e: (
                    isinstance(e, ConnectionFailed | Unavailable | RateLimited) and not self._closed
                )
            ),
            self._read_attempts,
            _ReadWait(),
            deadline_at,
        )
        return retrying(self._call, kind, path, query, self._auth, deadline_at)

    def _retrying(
        self, retry: retry_base, attempts: int, wait: wait_base, deadline_at: float
    ) -> tenacity.Retrying:
        """A retry policy bounded by attempts and by the operation's deadline."""
        return tenacity.Retrying(
            retry=retry,
            stop=tenacity.stop_any(
                tenacity.stop_after_attempt(attempts),
                _StopAtDeadline(self._monotonic, deadline_at),
            ),
            wait=wait,
            sleep=self._sleep,
            before_sleep=self._before_retry,
            reraise=True,
        )

    def _before_retry(self, retry_state: tenacity.RetryCallState) -> None:
        self._count("retries")
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        log.info(
            "CartRover retry in %.2f s after attempt %d: %s",
            retry_state.upcoming_sleep,
            retry_state.attempt_number,
            exc,
        )

    def _decoded(self, decode: Callable[[Any, str | None], _T], reply: _Reply) -> _T:
        try:
            return decode(reply.data, reply.process_id)
        except UnexpectedReply as exc:
            exc.http_status = exc.http_status or reply.status
            log.warning("CartRover unexpected reply: %s", exc)
            raise

    def _call(self, kind: str, path: str, query: str, auth: str, deadline_at: float) -> _Reply:
        """One request: wait for the bucket, send, read within the deadline, decode the envelope."""
        if self._closed:
            raise ConnectionFailed("the CartRover client is closed", request_sent=False)
        left = deadline_at - self._monotonic()
        if left <= 0:
            raise ConnectionFailed("the deadline passed before sending", request_sent=False)
        if not self._bucket.acquire(timeout=left):
            raise RateLimited("no rate-limit capacity within the deadline; nothing was sent")
        left = max(deadline_at - self._monotonic(), 0.001)
        target = path + ("?" + query if query else "")
        headers = {**protocol.REQUEST_HEADERS, "Authorization": auth}
        limits = {
            name: min(value, left) if value is not None else left
            for name, value in self._timeout.as_dict().items()
        }
        self._count(kind)
        started = time.perf_counter()
        real_deadline = time.monotonic() + left
        token = DEADLINE.set(real_deadline)
        try:
            request = self._http.build_request(
                "GET", self.base_url + target, headers=headers, timeout=httpx.Timeout(**limits)
            )
            status, reply_headers, body = self._exchange(request, real_deadline)
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            error = _translate(exc, self._deadline if time.monotonic() >= real_deadline else None)
            self._log(target, None, started, {}, error)
            # from None: the httpx exception holds the request, Authorization header included.
            raise error from None
        finally:
            DEADLINE.reset(token)
        self._bucket.observe_remaining(protocol.remaining_hits(reply_headers))
        try:
            data = protocol.decode(status, reply_headers, body)
        except CartRoverError as error:
            if isinstance(error, RateLimited):
                self._bucket.observe_remaining(0)
            self._log(target, status, started, reply_headers, error)
            raise
        self._log(target, status, started, reply_headers, None)
        return _Reply(data, protocol.process_id(reply_headers), status)

    def _exchange(
        self, request: httpx.Request, real_deadline: float
    ) -> tuple[int, httpx.Headers, bytes]:
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
            return response.status_code, response.headers, b"".join(chunks)
        finally:
            response.close()

    def _log(
        self,
        target: str,
        status: int | None,
        started: float,
        headers: Mapping[str, str],
        error: CartRoverError | None,
    ) -> None:
        if error is not None:
            self._count("rate_limited" if isinstance(error, RateLimited) else "failures")
        hits = protocol.remaining_hits(headers)
        log.log(
            logging.INFO if error is None else logging.WARNING,
            "CartRover GET %s → %s in %d ms · Process-ID %s · hits remaining %s%s",
            target,
            status if status is not None else "no answer",
            (time.perf_counter() - started) * 1000,
            protocol.process_id(headers) or "-",
            "-" if hits is None else hits,
            "" if error is None else f" · {type(error).__name__}: {error.message}",
        )
