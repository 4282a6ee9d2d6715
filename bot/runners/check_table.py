"""The table ``cartrover-bot check`` prints: one row per check, its status, and the fix for each
problem; shared by the checks of :mod:`bot.runners.check` and :mod:`bot.runners.check_slack`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TextIO
from urllib.parse import urlsplit

from bot.log import redact
from bot.words import plural

__all__ = ["CHECK_TIMEOUT", "Row", "Status", "origin", "print_table"]

CHECK_TIMEOUT = 10.0  # seconds for each remote check


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    SKIP = "skip"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Row:
    what: str
    status: Status
    detail: str
    fix: str = ""


def check_url(variable: str, url: str, usual: object) -> str:
    """The fix for a URL that did not answer: check it, naming the usual value only when it is
    another one."""
    normally = f"; normally {usual}" if isinstance(usual, str) and usual != url else ""
    return f"check {variable} ({url}{normally}) and the network"


def print_table(rows: list[Row], out: TextIO, secrets: Sequence[str] = ()) -> None:
    width = max(len(row.what) for row in rows) + 2
    lines = ["cartrover-bot check", ""]
    for row in rows:
        lines.append(f"  {row.status.value:<5} {row.what:<{width}}{row.detail}")
        if row.fix:
            label = "fix" if row.status in (Status.FAIL, Status.WARN) else "note"
            lines.append(f"  {'':<5} {'':<{width}}{label}: {row.fix}")
    failed = sum(row.status is Status.FAIL for row in rows)
    lines.append("")
    if failed:
        lines.append(
            f"{plural(failed, 'problem')}: fix as shown above, then run cartrover-bot check again."
        )
    else:
        lines.append("All checks passed.")
    out.write(redact("\n".join(lines), secrets) + "\n")
    out.flush()


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: no path, query or credentials."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
