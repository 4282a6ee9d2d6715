"""Running the command line as an operator does: ``python -m bot …`` in a process of its own,
with exactly the variables a test gives it; and a free loopback port for it to listen on."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


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
