"""``socket``: Socket Mode (no public URL), the same handlers and optional scheduler.

Socket Mode requests carry no signature: the app-level token that opened the connection is the
credential, and what arrives on it is this app's. Slack's greeting on a new connection names the
app, which is how the bot learns its app id here when ``SLACK_APP_ID`` is not set.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.runners.app import STOP_SECONDS, AppIdentity, Runtime
from bot.runners.http.health_port import serve_health
from bot.runners.scheduler import build_scheduler
from bot.settings import Settings

__all__ = ["learn_app_id_from_greeting", "run_socket_mode"]

log = logging.getLogger(__name__)


def run_socket_mode(settings: Settings, *, with_scheduler: bool) -> int:
    app_token = settings.slack_app_token
    assert app_token is not None  # settings.require("socket") checked it
    runtime = Runtime.start(settings)
    runtime.scheduler = build_scheduler(runtime.deps) if with_scheduler else None
    handler = SocketModeHandler(runtime.app, app_token.get_secret_value())
    handler.client.message_listeners.append(learn_app_id_from_greeting(runtime.identity))
    stopped = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    health = serve_health(runtime, settings.health_port)
    runtime.resume_in_background()
    if runtime.scheduler is not None:
        runtime.scheduler.start()
    handler.connect()  # type: ignore[no-untyped-call]
    log.info("connected to Slack in Socket Mode")
    stopped.wait()
    deadline = time.monotonic() + STOP_SECONDS
    log.info("shutting down: no new work; handing holds over; finishing what is in flight")
    runtime.hand_over()
    handler.close()  # type: ignore[no-untyped-call]
    runtime.close(deadline)
    if health is not None:
        health.stop()
    return 0


def learn_app_id_from_greeting(identity: AppIdentity) -> Callable[[Any, dict[str, Any], Any], None]:
    """A Socket Mode message listener taking the app id from Slack's ``hello`` message
    (``connection_info.app_id``)."""

    def listen(client: Any, message: dict[str, Any], raw: Any) -> None:
        if message.get("type") != "hello":
            return
        info = message.get("connection_info")
        app_id = info.get("app_id") if isinstance(info, dict) else None
        if isinstance(app_id, str) and app_id:
            identity.learn(app_id, "the Socket Mode greeting")

    return listen
