"""Start-up benchmark: how long `cartrover-bot --help` and `cartrover-bot check` spend importing.

Each command runs as its own process under ``python -X importtime``, in an empty directory with
no configuration (so ``check`` stops at its failed rows without any network call); the figure is
the sum of the top-level imports' cumulative times, interpreter start-up (``site``) included.
The machine is shared, so the minimum of several runs is the figure to compare; the median shows
the noise. ``--source DIR`` measures another checkout (its ``bot`` package goes first on the path).

    python bench/startup.py [--runs 9] [--source DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$")  # top level: one space only
COMMANDS = {"--help": ["--help"], "check": ["check"]}


def import_seconds(args: list[str], source: str | None) -> float:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/")}
    if source:
        env["PYTHONPATH"] = source
    with tempfile.TemporaryDirectory() as cwd:
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "bot", *args],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
    total = sum(
        int(match.group(1)) for line in done.stderr.splitlines() if (match := _LINE.match(line))
    )
    return total / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--source", default=None, help="a checkout to measure instead")
    args = parser.parse_args()
    print(f"{'command':<10} {'min':>8} {'median':>8}  (seconds of imports, {args.runs} runs)")
    for name, argv in COMMANDS.items():
        times = [import_seconds(argv, args.source) for _ in range(args.runs)]
        print(f"{name:<10} {min(times):>8.3f} {statistics.median(times):>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
