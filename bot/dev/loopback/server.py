"""The ``serve`` server running in a background thread, for tests, benchmarks and the demo."""

from __future__ import annotations

import threading
from typing import Any

from waitress import wasyncore

from bot.runners.http.server import ServerLimits, make_server

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
