"""The CartRover client: the one place CartRover HTTP happens.

A thin I/O layer over :mod:`bot.cartrover.protocol` (gidgethub's model): one private ``_call``
sends one request through the leaky bucket and returns the raw reply; reads hand it to
``replies.decode`` and are retried (tenacity) on ConnectionFailed, Unavailable and RateLimited;
``wms_cancel`` goes to ``replies.decode_cancel`` (a RateLimit answer is raised, as for any call)
and is resent only when the request surely never left. httpx exceptions are translated here and
never escape.

Reading one order takes two calls, the status call and the single-order call, made concurrently
(the single-order reply carries no status). Reading many goes through :mod:`bot.cartrover.reads`.

Every operation has an overall deadline: the client's own transport
(:mod:`bot.cartrover.transport`) bounds every connect, read and write by the time left, and the
body is streamed with a check between chunks for transports the caller brings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from types import TracebackType
from typing import Any, NamedTuple, TypeVar

import httpx
import tenacity
from pydantic import SecretStr
from tenacity.retry import retry_base
from tenacity.wait import wait_base

from bot.cartrover import protocol, replies
from bot.cartrover.errors import (
    CartRoverError,
    ConnectionFailed,
    NotConfigured,
    OrderNotFound,
    RateLimited,
    Unavailable,
    UnexpectedReply,
)
from bot.cartrover.exchange import DEFAULT_TIMEOUT, Exchange, Raw, closed_error
from bot.cartrover.listing import OrderListing
from bot.cartrover.models import CancelOutcome, CancelReply, KeyProbe, Order, OrderStatus
from bot.cartrover.pacing import LeakyBucket
from bot.cartrover.reads import ListingReads, Read, read_orders
from bot.cartrover.retrying import ReadWait
from bot.logcontext import carried
from bot.orderref import MAX_ORDERS_PER_COMMAND
from bot.retrying import StopAtDeadline
from bot.settings import ConfigError, Settings

__all__ = ["DEFAULT_TIMEOUT", "READ_THREADS", "CartRoverClient", "OrderListing"]

log = logging.getLogger("bot.cartrover")

# Orders read at once by get_orders (each read is two concurrent calls): as many as one command
# names, so `status` of 20 orders takes one round trip, not three. The leaky bucket still paces
# every call, and the transport's pool holds 100 connections.
READ_THREADS = MAX_ORDERS_PER_COMMAND
_T = TypeVar("_T")


class _Reply(NamedTuple):
    data: Any
    process_id: str | None
    status: int


def _reply(
    raw: Raw, decode: Callable[[int, Mapping[str, str], bytes], Any] = replies.decode
) -> _Reply:
    data = decode(raw.status, raw.headers, raw.body)
    return _Reply(data, protocol.process_id(raw.headers), raw.status)


def _listing_reply(raw: Raw) -> _Reply:
    return _reply(raw, replies.decode_listing)


def _cancel_reply(raw: Raw) -> CancelReply:
    return replies.decode_cancel(raw.status, raw.headers, raw.body)


def _key_probe(raw: Raw) -> KeyProbe:
    return replies.decode_key_probe(raw.status, raw.headers, raw.body)


def _reveal(secret: str | SecretStr) -> str:
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


class CartRoverClient:
    """CartRover over one long-lived httpx.Client: order reads, listing and cancel sending."""

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
        read_threads: int = READ_THREADS,
    ) -> None:
        if (cancel_user is None) != (cancel_key is None):
            raise ValueError("set both cancel_user and cancel_key, or neither")
        if read_attempts < 1 or cancel_attempts < 1 or deadline <= 0 or read_threads < 1:
            raise ValueError("attempts and threads must be at least 1 and the deadline positive")
        self.base_url = base_url.rstrip("/")
        self._auth = protocol.basic_auth(api_user, _reveal(api_key))
        # The cancel is a Cart API call with its own keys; without them it is never sent (there
        # is no fallback to the merchant keys, which CartRover keeps apart per API level).
        self._cancel_auth: str | None = None
        if cancel_user is not None and cancel_key is not None:
            self._cancel_auth = protocol.basic_auth(cancel_user, _reveal(cancel_key))
        self._exchange = Exchange(
            self.base_url,
            http=http,
            bucket=bucket,
            monotonic=monotonic,
            deadline=deadline,
            timeout=timeout,
        )
        self._sleep, self._monotonic = sleep, monotonic
        self._read_attempts, self._cancel_attempts = read_attempts, cancel_attempts
        self._deadline = deadline
        # Two pools, so that a task never waits on a task of its own pool: orders read at once,
        # and the status half of each order's read.
        self._orders_pool = ThreadPoolExecutor(read_threads, thread_name_prefix="cartrover-read")
        # This run's listings of known creation times: hits, misses, and whether it reads singly.
        self.listing_reads = ListingReads()
        self._status_pool = ThreadPoolExecutor(read_threads, thread_name_prefix="cartrover-status")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> CartRoverClient:
        """A client for ``CARTROVER_API_URL`` with the merchant pair and, when both are set, the
        cancel pair (never the merchant pair in its place)."""
        user, key = settings.cartrover_api_user, settings.cartrover_api_key
        if not user or key is None:
            raise ConfigError("CARTROVER_API_USER and CARTROVER_API_KEY are required")
        cancel_user, cancel_key = settings.cancel_credentials
        options: dict[str, Any] = {"cancel_user": cancel_user, "cancel_key": cancel_key}
        return cls(settings.cartrover_api_url, user, key, **(options | overrides))

    # -- lifecycle and counters

    def close(self) -> None:
        """Close the httpx client if this client created it; calls in flight end at once (as
        ConnectionFailed, request_sent=True) and later calls fail without sending. Reads
        already queued on the pools run and fail the same way, so a caller always gets a
        CartRoverError."""
        self._exchange.close()
        self._orders_pool.shutdown(wait=False)
        self._status_pool.shutdown(wait=False)

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
    def closed(self) -> bool:
        return self._exchange.closed

    @property
    def can_cancel(self) -> bool:
        """Whether this client has the cancel call's own keys."""
        return self._cancel_auth is not None

    @property
    def stats(self) -> dict[str, int]:
        """HTTP calls made by kind (get_order, get_status, list_orders, cancel_sending,
        cancel_probe), retries, failures, rate_limited."""
        return self._exchange.stats

    # -- the calls

    def get_status(self, ref: str) -> OrderStatus:
        """The status call alone. Raises OrderRefError before any request for a bad reference."""
        reply = self._read("get_status", protocol.status_path(ref))
        return self._decoded(lambda: replies.decode_status(reply.data, reply.process_id), reply)

    def get_order(self, ref: str) -> Order:
        """One order: the status call and the single-order call, concurrently. Raises
        OrderRefError before any request for an invalid reference, OrderNotFound when either
        call recognisably says the order does not exist, else the first call's error."""
        path = protocol.order_path(ref)
        self._refuse_if_closed()
        try:
            status = self._status_pool.submit(carried(self.get_status), ref)
        except RuntimeError:  # closed meanwhile: the pool takes no more work
            raise closed_error() from None
        details: _Reply | CartRoverError
        try:
            details = self._read("get_order", path)
        except CartRoverError as exc:
            details = exc
        try:
            answer = status.result()
        except CartRoverError as exc:
            raise exc if not isinstance(details, OrderNotFound) else details from None
        if isinstance(details, CartRoverError):
            raise details
        reply = details
        return self._decoded(
            lambda: replies.decode_order(reply.data, answer, reply.process_id), reply
        )

    def get_orders(
        self, refs: Sequence[str], created: Mapping[str, datetime] | None = None
    ) -> dict[str, Read]:
        """Each of ``refs`` → its Order or the error that stopped its read, with as few calls as
        it takes (see :mod:`bot.cartrover.reads`). Raises OrderRefError for a bad reference."""
        for ref in refs:
            protocol.order_path(ref)  # every reference is checked before any request
        self._refuse_if_closed()
        try:
            return read_orders(
                self,
                refs,
                created,
                concurrently=lambda read, some: self._orders_pool.map(carried(read), some),
                tracker=self.listing_reads,
            )
        except RuntimeError:  # closed meanwhile: the pools take no more work
            raise closed_error() from None

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
        """Orders matching a listing query, fetched lazily page by page (arguments checked now)."""
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
            reply = self._read("list_orders", path, query(page), _listing_reply)
            return self._decoded(lambda: replies.decode_orders(reply.data, reply.process_id), reply)

        return OrderListing(fetch, limit, max_pages)

    def cancel_sending(
        self, ref: str, *, go_ahead: Callable[[], bool] | None = None
    ) -> CancelReply:
        """``wms_cancel`` with the cancel credentials, sent at most once: resent only after a
        failure that proves nothing was sent. Any answer becomes a CancelReply (see
        ``replies.decode_cancel``) but a rate limit, raised as RateLimited (CartRover did
        nothing; it is not resent here); no complete answer raises ConnectionFailed, whose
        ``request_sent`` says whether CartRover may have received it; without the cancel keys,
        NotConfigured and nothing is sent. ``go_ahead`` is asked just before each attempt
        leaves (after the wait for the rate limit): False raises Withheld, nothing sent."""
        path = protocol.cancel_path(ref)
        reply = self._send_cancel("cancel_sending", path, _cancel_reply, go_ahead)
        if reply.outcome is not CancelOutcome.ACCEPTED:
            log.warning("CartRover cancel of %s: %s · %s", ref, reply.outcome.value, reply.raw)
        return reply

    def probe_cancel_keys(self) -> KeyProbe:
        """Try the cancel keys without touching any order: ``wms_cancel`` of a reference no
        order can have (:data:`protocol.PROBE_REF`), read by :func:`replies.decode_key_probe`.
        Without the cancel keys, NotConfigured and nothing is sent."""
        path = protocol.cancel_path(protocol.PROBE_REF)
        return self._send_cancel("cancel_probe", path, _key_probe)

    def _send_cancel(
        self,
        kind: str,
        path: str,
        decode: Callable[[Raw], _T],
        go_ahead: Callable[[], bool] | None = None,
    ) -> _T:
        """A cancel call with the cancel keys, resent only when it surely never left."""
        cancel_auth = self._cancel_auth
        if cancel_auth is None:
            raise NotConfigured(
                "no cancel keys: set CARTROVER_CANCEL_API_USER and CARTROVER_CANCEL_API_KEY "
                "(Cart API keys); nothing was sent"
            )
        deadline_at = self._monotonic() + self._deadline
        retrying = self._retrying(
            tenacity.retry_if_exception(
                lambda e: (
                    isinstance(e, ConnectionFailed)
                    and not e.request_sent
                    and not self._exchange.closed
                )
            ),
            self._cancel_attempts,
            tenacity.wait_exponential_jitter(multiplier=0.2, max=2.0, jitter=0.2),
            deadline_at,
        )
        call = self._exchange.call
        reply: _T = retrying(call, kind, path, "", cancel_auth, deadline_at, decode, go_ahead)
        return reply

    # -- the machinery

    def _refuse_if_closed(self) -> None:
        """Before handing work to the pools, which refuse it with a RuntimeError once closed."""
        if self.closed:
            raise closed_error()

    def _read(
        self, kind: str, path: str, query: str = "", decode: Callable[[Raw], _Reply] = _reply
    ) -> _Reply:
        deadline_at = self._monotonic() + self._deadline
        retrying = self._retrying(
            tenacity.retry_if_exception(
                lambda e: (
                    isinstance(e, ConnectionFailed | Unavailable | RateLimited)
                    and not self._exchange.closed
                )
            ),
            self._read_attempts,
            ReadWait(),
            deadline_at,
        )
        reply: _Reply = retrying(
            self._exchange.call, kind, path, query, self._auth, deadline_at, decode
        )
        return reply

    def _retrying(
        self, retry: retry_base, attempts: int, wait: wait_base, deadline_at: float
    ) -> tenacity.Retrying:
        """A retry policy bounded by attempts and by the operation's deadline."""
        return tenacity.Retrying(
            retry=retry,
            stop=tenacity.stop_any(
                tenacity.stop_after_attempt(attempts),
                StopAtDeadline(self._monotonic, deadline_at),
            ),
            wait=wait,
            sleep=self._sleep,
            before_sleep=self._before_retry,
            reraise=True,
        )

    def _before_retry(self, retry_state: tenacity.RetryCallState) -> None:
        self._exchange.count("retries")
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        log.info(
            "CartRover retry in %.2f s after attempt %d: %s",
            retry_state.upcoming_sleep,
            retry_state.attempt_number,
            exc,
        )

    def _decoded(self, decode: Callable[[], _T], reply: _Reply) -> _T:
        try:
            return decode()
        except UnexpectedReply as exc:
            exc.http_status = exc.http_status or reply.status
            log.warning("CartRover unexpected reply: %s", exc)
            raise
