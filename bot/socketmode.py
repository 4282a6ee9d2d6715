"""``socket``: Socket Mode (no public URL), the same handlers and optional scheduler."""

from __future__ import annotations

import logging
import signal
import threading

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.app import Runtime
from bot.scheduler import build_scheduler
from bot.settings import Settings

__all__ = ["run_socket_mode"]

log = logging.getLogger(__name__)


def run_socket_mode(settings: Settings, *, with_scheduler: bool) -> int:
    app_token = settings.slack_app_token
    assert app_token is not None  # settings.require("socket") checked it
    runtime = Runtime.start(settings)
    scheduler = build_scheduler(runtime.deps) if with_scheduler else None
    handler = SocketModeHandler(runtime.app, app_token.get_secret_value())
    stopped = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runtime.resume_in_background()
    if scheduler is not None:
        scheduler.start()
    handler.connect()  # type: ignore[no-untyped-call]
    log.info("connected to Slack in Socket Mode")
    stopped.wait()
    log.info("shutting down: no new work; finishing what is in flight")
    handler.close()  # type: ignore[no-untyped-call]
    if scheduler is not None:
        scheduler.shutdown(wait=False)
    runtime.close(timeout=20.0)
    return 0
