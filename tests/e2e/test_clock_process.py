"""`cartrover-bot clock` as real processes: two of them on one database post one digest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.dev.loopback.slack import GOOD_TOKEN, LocalSlack
from bot.dev.loopback.world import LoopbackWorld
from bot.dev.sandbox import (
    SANDBOX_API_KEY,
    SANDBOX_API_USER,
    SANDBOX_CANCEL_API_KEY,
    SANDBOX_CANCEL_API_USER,
    SandboxServer,
)
from bot.store import open_store
from bot.store.records import DigestSubscription

pytestmark = pytest.mark.slow
CLI = str(Path(sys.executable).with_name("cartrover-bot"))


@pytest.fixture
def world() -> Iterator[tuple[LocalSlack, SandboxServer]]:
    with LoopbackWorld() as world:
        yield world.slack, world.sandbox


def test_two_clock_processes_catch_up_one_missed_digest_once(
    tmp_path: Path, world: tuple[LocalSlack, SandboxServer]
) -> None:
    """Both clocks start after today's digest time: between them they post it exactly once."""
    slack, sandbox = world
    database = f"sqlite:///{tmp_path / 'bot.db'}"
    now = datetime.now(UTC)
    due = (now - timedelta(minutes=5)).strftime("%H:%M")
    if due > now.strftime("%H:%M"):
        pytest.skip("too close to midnight UTC for a same-day catch-up")
    store = open_store(database)
    store.subscribe(DigestSubscription("C0CLOCK01", due, "UTC", created_at=now - timedelta(days=1)))
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": GOOD_TOKEN,
        "SLACK_API_URL": slack.url,
        "CARTROVER_API_URL": sandbox.url,
        "CARTROVER_API_USER": SANDBOX_API_USER,
        "CARTROVER_API_KEY": SANDBOX_API_KEY,
        "CARTROVER_CANCEL_API_USER": SANDBOX_CANCEL_API_USER,
        "CARTROVER_CANCEL_API_KEY": SANDBOX_CANCEL_API_KEY,
        "DATABASE_URL": database,
        "TEST_ORDER_SOURCES": "Test Store",
        "LOG_LEVEL": "DEBUG",  # APScheduler's "Job … executed" lines show only at DEBUG
    }
    logs = [tmp_path / f"clock{n}.log" for n in (1, 2)]
    files = [log.open("w") for log in logs]
    clocks = [
        subprocess.Popen([CLI, "clock"], env=env, stdout=out, stderr=subprocess.STDOUT)
        for out in files
    ]
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            synced = [log.read_text().count('Job "digest-sync') for log in logs]
            if all(synced):
                break
            time.sleep(0.1)
    finally:
        for process in clocks:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(30) for process in clocks]
        for out in files:
            out.close()
    output = "\n".join(log.read_text() for log in logs)
    assert codes == [0, 0], output
    assert output.count('Job "digest-sync') >= 2, output
    assert [call.body["channel"] for call in slack.of("chat.postMessage")] == ["C0CLOCK01"]
    claim = store.digest_claim("C0CLOCK01", now.date())
    assert claim is not None and claim.state == "posted"
    store.close()
