"""A full disk under SQLite (R62, R63): the database file lives on a small filesystem of its own
that a test fills up, so every write that needs room fails as it would on a full disk
(``database or disk is full``). ``/readyz`` names the database within 3 s, a command and an
Approve click are told plainly that nothing was done, and once room is made again the bot is
ready and nothing had changed.

Mounting a filesystem needs root (``CAP_SYS_ADMIN``): elsewhere these tests skip, saying so."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.dev.sandbox.seed import STALE_PATTERN_TEST_REF, STALE_TEST_REF
from bot.slack import ids
from bot.store.records import RequestState
from tests.e2e.conftest import MakeHarness
from tests.harness import APPROVER, Harness

NOT_SAVED = "I could not save that — nothing was done; try again in a minute."
NOT_RECORDED = (
    "I could not save that — your approval was not recorded, so nothing was done; try again "
    "in a minute."
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs mounted at a fresh directory, unmounted after the test."""
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount)],
            capture_output=True,
            text=True,
            check=False,
        )
        why = done.stderr.strip()[:120] if done.returncode else ""
    except OSError as exc:  # no mount(8) here
        why = str(exc)
    if why:
        pytest.skip(f"needs root and mount(8) to mount a small filesystem: {why}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte; the filler file, to remove to make room again."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 1):  # big pieces, then the last bytes
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)
    with pytest.raises(OSError, match="No space left") as full:
        (disk / "probe").write_bytes(b"x" * 4096)
    assert full.value.errno == errno.ENOSPC
    return filler


def _no_room_left_in_the_wal(db: Path) -> None:
    """Checkpoint the write-ahead log and cut it to nothing, as SQLite does from time to time:
    until then, a write may reuse room the log already has even on a full disk."""
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as connection:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0 and (db.parent / f"{db.name}-wal").stat().st_size == 0


def _get(base: str, path: str) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    answer = httpx.get(f"{base}{path}", timeout=10)
    return answer.status_code, answer.json(), time.monotonic() - started


def test_a_full_disk_is_not_ready_and_each_write_is_told_plainly(
    make_harness: MakeHarness, small_disk: Path
) -> None:
    """Filled while a request waits: readiness fails naming the database, the requester and the
    approver hear that nothing was done, nothing changed, and room made again makes it ready."""
    harness: Harness = make_harness(DATABASE_URL=f"sqlite:///{small_disk / 'bot.db'}")
    pending = harness.open_hold(STALE_TEST_REF)
    assert _get(harness.bot.url, "/readyz")[0] == 200
    told = len(harness.replies())
    _no_room_left_in_the_wal(small_disk / "bot.db")
    filler = _fill(small_disk)
    harness.clock.advance(timedelta(seconds=1))  # each probe writes the time it ran
    try:
        status, body, took = _get(harness.bot.url, "/readyz")
        assert status == 503 and body["failing"] == ["database"], body
        assert took < 3.0
        assert _get(harness.bot.url, "/livez")[:2] == (200, {"status": "ok"})
        assert harness.command(f"hold {STALE_PATTERN_TEST_REF} test").status_code == 200
        assert harness.click(ids.APPROVE_HOLD, pending, APPROVER).status_code == 200
        harness.wait_until(lambda: len(harness.replies()) >= told + 2, timeout=30)
    finally:
        os.remove(filler)
    texts = [str(call.body.get("text")) for call in harness.replies()][told:]
    assert sorted(texts) == sorted([NOT_SAVED, NOT_RECORDED]), texts
    assert "Sorry" not in json.dumps([c.body for c in harness.replies()])
    harness.wait_until(lambda: _get(harness.bot.url, "/readyz")[0] == 200, timeout=15)
    assert harness.request(pending.id).state is RequestState.PENDING
    assert harness.sandbox.cancel_requests() == []
