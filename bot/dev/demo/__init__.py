"""``cartrover-bot demo``: the whole bot in a terminal, with no credentials.

:class:`~bot.dev.demo.world.World` starts the CartRover sandbox, the local Slack
(:mod:`bot.dev.loopback.slack`), a throw-away SQLite database and the bot as production composes it;
:class:`~bot.dev.demo.workspace.Workspace` plays Slack's part (signed requests in, recorded Web API
calls out, rendered as text); :class:`~bot.dev.demo.chat.Chat` is the terminal around them.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from datetime import UTC, datetime
from types import FrameType
from typing import Any, TextIO

from bot.times import FrozenClock

__all__ = ["run_demo", "wants_colour"]


def wants_colour(out: TextIO, environ: dict[str, str] | None = None) -> bool:
    """Colour only on a terminal, never with ``NO_COLOR`` set or ``TERM=dumb``."""
    env = os.environ if environ is None else environ
    if "NO_COLOR" in env or env.get("TERM") == "dumb":
        return False
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())


def run_demo(
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    *,
    clock: FrozenClock | None = None,
    colour: bool | None = None,
) -> int:
    """Start everything, chat until the end of input or ``/quit``, remove every trace."""
    from bot.dev.demo.chat import Chat
    from bot.dev.demo.choices import read_choices
    from bot.dev.demo.world import World
    from bot.log import stamp_with

    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    if os.environ.get("SLACK_CLIENT_ID") is not None and os.environ.get("SLACK_CLIENT_SECRET"):
        # bolt reads these itself and would authorise through OAuth installs, not the demo's token
        sys.stderr.write(
            "cartrover-bot demo: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set, which switches "
            "bolt to OAuth installs; run it without them, e.g. "
            "env -u SLACK_CLIENT_ID -u SLACK_CLIENT_SECRET cartrover-bot demo\n"
        )
        return 2
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():

        def _terminate(signum: int, frame: FrameType | None) -> None:
            raise SystemExit(128 + signum)  # unwinds through World.close: nothing is left behind

        for name in ("SIGTERM", "SIGHUP"):  # SIGHUP: the terminal was closed
            if hasattr(signal, name):
                number = getattr(signal, name)
                previous[number] = signal.signal(number, _terminate)
    clock = clock or FrozenClock(datetime.now(UTC).replace(second=0, microsecond=0))
    stamp_with(clock)  # log lines (with --verbose) carry the sandbox's time, as everything else
    try:
        with World.start(clock=clock, choices=read_choices()) as world:
            chat = Chat(world, stdout, colour=wants_colour(stdout) if colour is None else colour)
            return chat.run(stdin)
    except KeyboardInterrupt:  # Ctrl-C while starting or working (the prompt handles its own)
        stdout.write("\n")
        return 130
    finally:
        stamp_with(None)
        for number, handler in previous.items():
            signal.signal(number, handler)
