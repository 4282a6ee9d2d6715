"""``clock``: the scheduler alone, for a Procfile ``clock:`` process. Like every runner it also
takes over approved holds nobody runs, and with ``HEALTH_PORT`` it answers ``/livez`` and
``/readyz``."""

from __future__ import annotations

import logging
import signal
import time

from bot.runners.app import STOP_SECONDS, Runtime
from bot.runners.http.health_port import serve_health
from bot.runners.scheduler import build_scheduler
from bot.settings import Settings

__all__ = ["run_clock"]

log = logging.getLogger(__name__)


def run_clock(settings: Settings) -> int:
    runtime = Runtime.start(settings)
    scheduler = runtime.scheduler = build_scheduler(runtime.deps, blocking=True)
    stopping: list[float] = []

    def stop(signum: int, frame: object) -> None:
        log.info("stopping the scheduler")
        stopping.append(time.monotonic() + STOP_SECONDS)
        runtime.hand_over()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    health = serve_health(runtime, settings.health_port)
    runtime.resume_in_background()
    log.info("clock: scheduler running")
    try:
        scheduler.start()  # blocks until stop()
    finally:
        runtime.close(stopping[0] if stopping else None)
        if health is not None:
            health.stop()
    return 0
