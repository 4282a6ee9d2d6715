"""``serve``: HTTP mode. The hardened waitress server (:mod:`bot.runners.http.server`) with the
Slack WSGI application (:mod:`bot.runners.http.wsgi`), the in-process scheduler unless
``--no-scheduler``, and a clean drain on SIGTERM."""

from __future__ import annotations

import errno
import logging
import time

from bot.runners.http.server import make_server
from bot.runners.http.wsgi import SlackWsgi
from bot.settings import Settings

__all__ = ["PortUnavailable", "port_problem", "serve"]

log = logging.getLogger(__name__)


def port_problem(port: int, error: OSError, change: str) -> str:
    """Why ``port`` cannot be listened on, and what to do, in one line; ``change`` says how to
    pick another port (``--port N or PORT=N``)."""
    if error.errno == errno.EADDRINUSE:
        why = "is already in use: another program (perhaps another cartrover-bot) listens on it"
    elif error.errno == errno.EACCES:
        why = "needs privileges this user does not have (ports below 1024 usually do)"
    elif error.errno == errno.EADDRNOTAVAIL:
        why = "is on an address this machine does not have"
    else:
        why = f"cannot be opened ({error.strerror or type(error).__name__})"
    return f"port {port} {why}; stop that program, or choose a free port with {change}"


class PortUnavailable(Exception):
    """The server could not listen on its port; the message says why and what to do."""

    def __init__(self, port: int, error: OSError, change: str = "--port N or PORT=N") -> None:
        super().__init__(port_problem(port, error, change))
        self.port = port


def serve(settings: Settings, *, port: int, with_scheduler: bool, host: str = "0.0.0.0") -> int:  # noqa: S104
    """Run the HTTP server until SIGTERM/SIGINT; then drain work and close everything."""
    import signal

    from bot.runners.app import STOP_SECONDS, Runtime
    from bot.runners.http.health import readiness_of
    from bot.runners.scheduler import build_scheduler

    secret = settings.slack_signing_secret
    assert secret is not None  # settings.require("serve") checked it
    runtime = Runtime.start(settings)
    runtime.scheduler = build_scheduler(runtime.deps) if with_scheduler else None
    health = readiness_of(runtime)
    wsgi = SlackWsgi(runtime.app, health.check, signing_secret=secret.get_secret_value())
    try:
        server = make_server(wsgi, host=host, port=port, threads=16, ident="cartrover-bot")
    except OSError as exc:
        runtime.close(time.monotonic() + 1.0)
        raise PortUnavailable(port, exc) from None

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runtime.resume_in_background()
    if runtime.scheduler is not None:
        runtime.scheduler.start()
    log.info("serving Slack on http://%s:%s/slack/events", host, port)
    try:
        server.run()
    finally:
        deadline = time.monotonic() + STOP_SECONDS
        log.info("shutting down: no new work; handing holds over; finishing what is in flight")
        runtime.hand_over()
        server.close()
        runtime.close(deadline)
    return 0
