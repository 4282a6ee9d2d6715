"""The production HTTP server for ``serve``: waitress, hardened so that no client can hold it.

waitress refuses bodies over the limit from the ``Content-Length`` header alone, before reading
(or spooling) any of it. On top of waitress's idle timeout, :class:`GuardedServer` closes a
connection whose request has not fully arrived within a deadline, however slowly its bytes keep
coming, and when connections near the limit it closes the slowest of them first, so a crowd of
slow clients never locks Slack out.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from bot.runners.http.wsgi import MAX_BODY

__all__ = ["GuardedServer", "ServerLimits", "ServerThread", "make_server"]

log = logging.getLogger("bot.runners.serve")


@dataclass(frozen=True)
class ServerLimits:
    """What one client may take of the server. Slack sends each request whole at once, from many
    addresses, and expects its answer within 3 seconds; nothing here comes near that."""

    max_body: int = MAX_BODY
    max_header: int = 32 * 1024  # Slack's headers plus a proxy's fit in a few kilobytes
    request_deadline: float = 5.0  # seconds for a whole request (headers and body) to arrive
    idle_timeout: int = 10  # seconds a kept-alive connection may wait for its next request
    connection_limit: int = 500  # open connections; polled, so well past select()'s 1024 fds
    shed_margin: int = 20  # near the limit, the slowest connections are closed first


class _DeadlineChannel(HTTPChannel):  # type: ignore[misc]
    """A waitress channel that remembers when the request it is reading began to arrive."""

    request_started: float | None = None
    _timed: object = None

    def received(self, data: bytes) -> bool:
        done: bool = super().received(data)
        if self.request is None:
            self.request_started, self._timed = None, None
        elif self.request is not self._timed:  # a new request began in this read
            self.request_started, self._timed = time.monotonic(), self.request
        return done


class GuardedServer(TcpWSGIServer):  # type: ignore[misc]
    """waitress's TCP server, with a deadline per request and slow connections shed first.

    waitress's ``channel_timeout`` counts any received byte as activity, so a client sending one
    header byte a second is never idle; here a request that has not fully arrived within
    ``request_deadline`` seconds has its connection closed, however busy it looks.
    """

    channel_class = _DeadlineChannel

    def __init__(self, *args: Any, limits: ServerLimits, **kw: Any) -> None:
        self.limits = limits
        self._closed_slow = 0
        self._reported = time.monotonic()
        super().__init__(*args, **kw)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # idle connections, after ``idle_timeout``
        cutoff = time.monotonic() - self.limits.request_deadline
        for channel in list(self.active_channels.values()):
            started = getattr(channel, "request_started", None)
            if not channel.requests and started is not None and started < cutoff:
                self._close(channel)
        self._report()

    def readable(self) -> bool:
        over = len(self._map) - (self.adj.connection_limit - self.limits.shed_margin)
        if self.accepting and over > 0:
            self._shed(over)
        readable: bool = super().readable()
        return readable

    def _shed(self, count: int) -> None:
        """Close the ``count`` connections that have waited longest without a complete request."""
        wall, mono = time.time(), time.monotonic()

        def waited(channel: Any) -> float:
            started: float | None = getattr(channel, "request_started", None)
            idle_since: float = channel.last_activity
            return mono - started if started is not None else wall - idle_since

        idle = [c for c in self.active_channels.values() if not c.requests and not c.will_close]
        for channel in sorted(idle, key=waited, reverse=True)[:count]:
            self._close(channel)

    def _close(self, channel: Any) -> None:
        if not channel.will_close:
            channel.will_close = True  # its own next write turn closes it, as waitress does
            self._closed_slow += 1

    def _report(self) -> None:
        now = time.monotonic()
        if self._closed_slow and now - self._reported >= 60:
            log.warning(
                "closed %d connections that were slow to send a request (last %.0f s)",
                self._closed_slow,
                now - self._reported,
            )
            self._closed_slow, self._reported = 0, now


def make_server(
    wsgi: Any,
    *,
    host: str,
    port: int,
    threads: int = 16,
    limits: ServerLimits | None = None,
    **adjustments: Any,
) -> GuardedServer:
    """A :class:`GuardedServer` listening on ``host``:``port`` (one address), not yet running."""
    limits = limits or ServerLimits()
    adj = Adjustments(
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=limits.max_body,
        max_request_header_size=limits.max_header,
        channel_timeout=limits.idle_timeout,
        cleanup_interval=1,
        connection_limit=limits.connection_limit,
        asyncore_use_poll=True,
        **adjustments,
    )
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    return GuardedServer(
        wsgi, {}, dispatcher=dispatcher, adj=adj, sockinfo=adj.listen[0], limits=limits
    )


class ServerThread:
    """The server running in a background thread (the health port of ``socket`` and ``clock``;
    tests, benchmarks and the demo), stopped cleanly.

    Stopping closes the server's sockets from inside its own event loop: closing them from
    another thread while the loop sits in ``poll()`` fails there with a bad file descriptor.
    """

    def __init__(
        self,
        wsgi: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 16,
        limits: ServerLimits | None = None,
    ) -> None:
        self.server = make_server(wsgi, host=host, port=port, threads=threads, limits=limits)
        self.url = f"http://{host}:{self.server.effective_port}"
        self._thread = threading.Thread(target=self.server.run, name="waitress", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        server: Any = self.server
        trigger = server.trigger

        def close_sockets() -> None:
            # Everything but the trigger's pipe. A worker thread's own earlier pull can run this
            # before our wake-up byte is written; closing the pipe here made that write fail
            # (or, with the number reused meanwhile, land in somebody else's file).
            for dispatcher in list(server._map.values()):
                if dispatcher is trigger:
                    dispatcher.del_channel()  # out of the loop's map, so the loop ends
                elif dispatcher is server:
                    wasyncore.dispatcher.close(dispatcher)  # the server's close() shuts the pipe
                else:
                    dispatcher.close()

        trigger.pull_trigger(close_sockets)
        self._thread.join(timeout)
        trigger.close()
        server.task_dispatcher.shutdown()
