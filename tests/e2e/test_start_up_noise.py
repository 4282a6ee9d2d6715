"""Quiet logs: no bolt warning about an unused token at every start, no APScheduler chatter every
minute below DEBUG, and the demo's log lines stamped with its sandbox clock."""

from __future__ import annotations

import io
import logging
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from bot.dev.demo import run_demo
from bot.dev.loopback.slack import GOOD_TOKEN
from bot.log import setup_logging
from bot.times import FrozenClock
from tests.environment import process_environ
from tests.harness import Harness
from tests.processes import run_cli


def test_starting_with_slack_bot_token_set_gives_no_bolt_warning(
    tmp_path: Path,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """bolt reads SLACK_BOT_TOKEN itself; the bot's own client uses it: no warning about it."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", GOOD_TOKEN)
    with caplog.at_level(logging.INFO):
        harness = Harness(tmp_path, clock)
        harness.close()
    assert "will be unused" not in caplog.text
    assert not [r for r in caplog.records if r.name.startswith("bot.bolt")]


@pytest.mark.usefixtures("logging_state")
@pytest.mark.parametrize(("level", "chatty"), [("INFO", False), ("DEBUG", True)])
def test_the_scheduler_s_routine_lines_show_only_at_debug(
    capsys: pytest.CaptureFixture[str], level: str, chatty: bool
) -> None:
    """A job that runs logs "Running job …" and "executed successfully" at INFO: not shown
    below DEBUG; a failing job's error still is."""
    setup_logging(level)
    ran = threading.Event()
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(ran.set, "interval", hours=1, next_run_time=datetime.now(UTC), id="tick")
    scheduler.start()
    try:
        assert ran.wait(5)
    finally:
        scheduler.shutdown(wait=True)
    err = capsys.readouterr().err
    assert ("Running job" in err) is chatty and ("executed successfully" in err) is chatty


@pytest.mark.usefixtures("logging_state")
def test_demo_log_lines_carry_the_sandbox_time(capsys: pytest.CaptureFixture[str]) -> None:
    """`demo --verbose` lines are stamped with the sandbox clock: the 09:00 digest that
    `/advance 1d` crosses is logged at 09:00 of that day, not at the wall clock's time."""
    setup_logging("INFO")
    clock = FrozenClock(datetime(2026, 3, 2, 4, 0, tzinfo=UTC))
    assert run_demo(io.StringIO("/advance 1d\n"), io.StringIO(), clock=clock, colour=False) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "posted (" in line]
    assert lines and lines[0].startswith("2026-03-02T09:00:00 INFO bot.digest.schedule: digest")


def test_the_demo_shows_answers_not_warnings_unless_verbose(tmp_path: Path) -> None:
    """An unknown order is a warning in the bot's log; the demo's chat shows the bot's answer
    and, without --verbose, no log line."""
    script = "/cartrover status TS-9999\n"
    quiet = _demo(tmp_path, script)
    assert "CartRover does not know this order" in quiet.stdout and quiet.stderr == ""
    verbose = _demo(tmp_path, script, "--verbose")
    assert "WARNING bot.cartrover" in verbose.stderr


def _demo(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(["demo", *args], process_environ(NO_COLOR="1"), tmp_path, input=script)
