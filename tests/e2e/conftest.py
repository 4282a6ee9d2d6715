"""The end-to-end kit: the bot on loopback (:class:`tests.harness.Harness`) as a fixture.

- ``harness``: one bot, started with the settings of ``harness_env`` and closed after the test.
  A module that needs other settings overrides ``harness_env`` (a parametrized override runs
  each test once per value, as the surfaces' tests do for SQLite and PostgreSQL).
- ``make_harness``: a factory for a test that needs its own settings or server limits:
  ``make_harness(APPROVERS="")``; every bot it made is closed after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.times import FrozenClock
from tests.harness import Harness

MakeHarness = Callable[..., Harness]


@pytest.fixture
def harness_env() -> dict[str, str]:
    """The bot's variables for ``harness``, beyond the harness's own (none by default)."""
    return {}


@pytest.fixture
def make_harness(tmp_path: Path, clock: FrozenClock) -> Iterator[MakeHarness]:
    made: list[Harness] = []

    def make(**options: Any) -> Harness:
        home = tmp_path
        if made:  # a second bot in one test gets its own files
            home = tmp_path / f"bot{len(made)}"
            home.mkdir()
        made.append(Harness(home, clock, **options))
        return made[-1]

    yield make
    for harness in reversed(made):
        harness.close()


@pytest.fixture
def harness(make_harness: MakeHarness, harness_env: dict[str, str]) -> Harness:
    return make_harness(**harness_env)
