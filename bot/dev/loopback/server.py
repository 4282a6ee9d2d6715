"""The ``serve`` server running in a background thread, for tests, benchmarks and the demo."""

from __future__ import annotations

import threading
from typing import Any

from waitress import wasyncore

from bot.runners.server import ServerLimits, make_server

__all__ = ["ServerThread"]


class ServerThread:
    """The ``serve`` server running in a background thread (tests, benchmarks), stopped cleanly.

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
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        self._thread.join(timeout)
        server.task_dispatcher.shutdown()
