"""An httpx transport whose every connect, read and write is bounded by the time left before the
current CartRover operation's deadline (R31).

httpx timeouts are per socket operation, so a server dripping one byte a second never times out.
The client sets the deadline in a context variable (:data:`DEADLINE`) around each call; the network
backend below reads it. httpx offers no public way to choose httpcore's network backend, so the
connection pool is rebuilt here (pinned to httpx 0.28; the drip test against the sandbox guards it).
"""

from __future__ import annotations

import contextlib
import functools
import socket
import ssl
import time
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

__all__ = ["DEADLINE", "DeadlineTransport"]

DEADLINE: ContextVar[float | None] = ContextVar("cartrover_deadline", default=None)


def _bounded(timeout: float | None, timeout_error: type[Exception]) -> float | None:
    """``timeout`` capped by the time left before the current operation's deadline."""
    deadline = DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise timeout_error("the CartRover operation deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        # Shut down first: a plain close() from another thread (client.close() at shutdown)
        # does not wake a thread blocked in recv(); shutdown() does, so in-flight calls end now.
        sock = self._inner.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        inner = self._inner.connect_tcp(host, port, bounded, local_address, socket_options)
        return _DeadlineStream(inner)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verified TLS context per process (building one loads the CA bundle, ~70 ms)."""
    return httpx.create_ssl_context()


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool whose sockets honour the deadline. Proxies from
    the environment are not used."""

    def __init__(self) -> None:
        super().__init__(verify=_ssl_context())
        # httpx's default limits: 100 connections, 20 kept alive for 5 s.
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_DeadlineBackend(),
        )
