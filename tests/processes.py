"""Running the command line as an operator does: ``python -m bot …`` in a process of its own,
with exactly the variables a test gives it; and a free loopback port for it to listen on."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cli(
    args: list[str], env: Mapping[str, str], cwd: Path, *, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m bot *args``, to the end (at most 60 s), its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=input,
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def start_cli(
    args: list[str],
    env: Mapping[str, str],
    cwd: Path,
    output: IO[str],
    *,
    lease_seconds: float | None = None,
    look_every: float | None = None,
) -> subprocess.Popen[str]:
    """``cartrover-bot *args`` in a process of its own, its output to ``output``, with the
    hold lease and the takeover's look shortened where given (a real process, on injected
    intervals instead of minutes)."""
    tunings = ["import sys", "from datetime import timedelta"]
    if lease_seconds is not None:
        tunings += [
            "import bot.holds.flow",
            f"bot.holds.flow.LEASE = timedelta(seconds={lease_seconds})",
        ]
    if look_every is not None:
        tunings += ["import bot.holds.takeover", f"bot.holds.takeover.LOOK_EVERY = {look_every}"]
    tunings += ["from bot.cli import main", "main(prog_name='cartrover-bot')"]
    return subprocess.Popen(
        [sys.executable, "-c", "\n".join(tunings), *args],
        env=dict(env),
        cwd=cwd,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )
