"""DIGEST_CHANNEL's digest after a restart: configuration wins, unless someone changed that
channel's subscription in Slack since configuration last changed; the start-up log says which
applies. Real SQLite files, the real scheduler's start-up, restarts as new processes would do."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.deps import Deps
from bot.digest import schedule
from bot.runners.scheduler import build_scheduler
from bot.times import FrozenClock
from tests.fakes import make_deps

CHANNEL = "C0DIGEST1"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 5, 0, tzinfo=UTC))


def start(db: Path, clock: FrozenClock, **env: str) -> Deps:
    """A process starting with this configuration: its scheduler subscribes DIGEST_CHANNEL."""
    deps = make_deps(db, clock, DIGEST_CHANNEL=CHANNEL, **env)
    build_scheduler(deps)
    return deps


def digest_at(deps: Deps) -> tuple[str, str]:
    found = deps.digests.subscription(CHANNEL)
    assert found is not None
    return found.local_time, found.timezone


def test_a_changed_digest_time_applies_after_a_restart(
    tmp_path: Path, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """DIGEST_TIME 09:00, then 07:30 Europe/Berlin and a restart: the digest moves, and the log
    says from what to what."""
    db = tmp_path / "bot.db"
    assert digest_at(start(db, clock)) == ("09:00", "UTC")
    clock.advance(timedelta(days=1))
    with caplog.at_level(logging.INFO, logger="bot.digest.schedule"):
        deps = start(db, clock, DIGEST_TIME="07:30", TIMEZONE="Europe/Berlin")
    assert digest_at(deps) == ("07:30", "Europe/Berlin")
    assert (
        f"DIGEST_CHANNEL {CHANNEL}: daily digest moved from 09:00 UTC to 07:30 Europe/Berlin: "
        "DIGEST_TIME or TIMEZONE changed since"
    ) in caplog.text


def test_a_change_made_in_slack_since_is_kept_and_the_log_says_so(
    tmp_path: Path, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Someone runs `digest subscribe 10:00` in the channel; restarts with the same
    configuration keep their choice and say whose it is."""
    db = tmp_path / "bot.db"
    deps = start(db, clock)
    schedule.subscribe(deps, CHANNEL, user="U0PERSON1", local_time="10:00", timezone="UTC")
    with caplog.at_level(logging.INFO, logger="bot.digest.schedule"):
        again = start(db, clock)
    assert digest_at(again) == ("10:00", "UTC")
    assert (
        f"DIGEST_CHANNEL {CHANNEL}: daily digest at 10:00 UTC, as user U0PERSON1 set it in "
        "Slack; DIGEST_TIME and TIMEZONE (09:00 UTC) apply again once either changes"
    ) in caplog.text


def test_configuration_changed_after_a_slack_change_wins(
    tmp_path: Path, clock: FrozenClock
) -> None:
    """The later change applies: Slack's 10:00, then DIGEST_TIME=08:15 → 08:15."""
    db = tmp_path / "bot.db"
    deps = start(db, clock)
    schedule.subscribe(deps, CHANNEL, user="U0PERSON1", local_time="10:00", timezone="UTC")
    assert digest_at(start(db, clock)) == ("10:00", "UTC")
    moved = start(db, clock, DIGEST_TIME="08:15")
    assert digest_at(moved) == ("08:15", "UTC")
    found = moved.digests.subscription(CHANNEL)
    assert found is not None and found.from_config


def test_a_subscription_made_in_slack_before_the_channel_was_configured_is_kept(
    tmp_path: Path, clock: FrozenClock
) -> None:
    """With no configuration seen before, nothing says the configuration is the newer change."""
    db = tmp_path / "bot.db"
    deps = make_deps(db, clock)
    schedule.subscribe(deps, CHANNEL, user="U0PERSON1", local_time="11:00", timezone="UTC")
    assert digest_at(start(db, clock, DIGEST_TIME="06:00")) == ("11:00", "UTC")
    assert digest_at(start(db, clock, DIGEST_TIME="06:30")) == ("06:30", "UTC")


def test_a_moved_digest_is_not_posted_twice_on_the_day_it_moves(
    tmp_path: Path, clock: FrozenClock
) -> None:
    """Posted at 09:00, then moved to 10:00 the same day: the day's claim still stands."""
    db = tmp_path / "bot.db"
    deps = start(db, clock)
    clock.set(datetime(2026, 3, 2, 9, 1, tzinfo=UTC))
    assert schedule.digest_catch_up(deps) == {CHANNEL: schedule.Outcome.POSTED}
    clock.set(datetime(2026, 3, 2, 10, 1, tzinfo=UTC))
    moved = start(db, clock, DIGEST_TIME="10:00")
    assert schedule.digest_catch_up(moved) == {CHANNEL: schedule.Outcome.ALREADY_POSTED}
