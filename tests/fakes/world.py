"""What the process-level tests share: the CartRover sandbox and the local Slack on loopback, and
an environment for a bot subprocess that holds none of the developer's bot variables."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.dev.loopback.slack import LocalSlack
from bot.dev.sandbox import OrderBook, SandboxServer
from bot.times import SystemClock

BOT_PREFIXES = ("SLACK_", "CARTROVER_")
BOT_VARIABLES = frozenset({
    "DATABASE_URL", "APPROVERS", "ALLOW_SELF_APPROVAL", "APPROVAL_CHANNEL",
    "HOLD_REQUEST_TTL_HOURS", "DIGEST_CHANNEL", "DIGEST_TIME", "TIMEZONE", "STALE_AFTER_HOURS",
    "TEST_ORDER_SOURCES", "TEST_ORDER_PATTERN", "PORT", "LOG_LEVEL",
})  # fmt: skip


def is_bot_variable(name: str) -> bool:
    return name.startswith(BOT_PREFIXES) or name in BOT_VARIABLES


def process_environ(**values: str) -> dict[str, str]:
    """This process's environment without any bot variable, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not is_bot_variable(k)}
    env.update(values)
    return env


@contextmanager
def loopback_world(**sandbox_options: Any) -> Iterator[tuple[LocalSlack, SandboxServer]]:
    """A started local Slack and a seeded sandbox on the wall clock, stopped afterwards."""
    book = OrderBook.seeded(SystemClock())
    with LocalSlack() as slack, SandboxServer(book, **sandbox_options) as sandbox:
        yield slack, sandbox
