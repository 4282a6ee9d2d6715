"""Shared fixtures: a clean environment for every test, a frozen clock."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from bot.times import FrozenClock

_SCRUBBED_PREFIXES = ("SLACK_", "CARTROVER_")
_SCRUBBED = {
    "DATABASE_URL",
    "APPROVERS",
    "ALLOW_SELF_APPROVAL",
    "APPROVAL_CHANNEL",
    "HOLD_REQUEST_TTL_HOURS",
    "DIGEST_CHANNEL",
    "DIGEST_TIME",
    "TIMEZONE",
    "STALE_AFTER_HOURS",
    "TEST_ORDER_SOURCES",
    "TEST_ORDER_PATTERN",
    "PORT",
    "LOG_LEVEL",
}


@pytest.fixture(autouse=True)
def _clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every test starts without the bot's variables and outside any directory with a .env."""
    for name in list(os.environ):
        if name.startswith(_SCRUBBED_PREFIXES) or name in _SCRUBBED:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SKIP_SLACK_SDK_WARNING", "1")
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
