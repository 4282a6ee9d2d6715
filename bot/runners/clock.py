"""``clock``: the scheduler alone, for a Procfile ``clock:`` process."""

from __future__ import annotations

import logging
import signal

from bot.runners.app import Runtime
from bot.runners.scheduler import build_scheduler
from bot.settings import Settings

__all__ = ["run_clock"]

log = logging.getLogger(__name__)


def run_clock(settings: Settings) -> int:
    runtime = Runtime.start(settings)
    scheduler = build_scheduler(runtime.deps, blocking=True)

    def stop(signum: int, frame: object) -> None:
        log.info("stopping the scheduler")
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runtime.resume_in_background()
    log.info("clock: scheduler running")
    try:
        scheduler.start()  # blocks until stop()
    finally:
        runtime.close(timeout=20.0)
    return 0
