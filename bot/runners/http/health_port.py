"""``HEALTH_PORT``: ``/livez`` and ``/readyz`` (and ``/healthz``) for ``socket`` and ``clock``,
which serve no HTTP of their own, on a small server in a thread of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.runners.http.health import HealthWsgi, readiness_of
from bot.runners.http.server import ServerThread
from bot.runners.serve import PortUnavailable

if TYPE_CHECKING:
    from bot.runners.app import Runtime

__all__ = ["serve_health"]


def serve_health(
    runtime: Runtime,
    port: int | None,
    host: str = "0.0.0.0",  # noqa: S104
) -> ServerThread | None:
    """``/livez`` and ``/readyz`` on ``port`` (``HEALTH_PORT``) in a thread; None without one."""
    if port is None:
        return None
    try:
        return ServerThread(
            HealthWsgi(readiness_of(runtime).check), host=host, port=port, threads=2
        )
    except OSError as exc:
        runtime.close()
        raise PortUnavailable(port, exc, "HEALTH_PORT=N") from None
