"""Liveness and readiness (R62): ``/livez`` answers whatever the database does; ``/readyz`` (and
``/healthz``) answers within 3 s with 503 naming the database when it cannot take a write — a
locked SQLite file, a PostgreSQL that refuses connections — and the scheduler when its
heartbeat, kept in the database, is stale."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from bot.dev.loopback.world import LoopbackBot
from bot.holds.flow import MAINTENANCE_BEAT
from bot.runners.http.health import SCHEDULER_STALE
from tests.e2e.conftest import MakeHarness
from tests.harness import Harness
from tests.tcp_proxy import TcpProxy


def _get(base: str, path: str) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    answer = httpx.get(f"{base}{path}", timeout=10)
    return answer.status_code, answer.json(), time.monotonic() - started


def test_ready_when_the_database_takes_a_write(harness: Harness) -> None:
    """A bot whose database, Slack token and (not expected) scheduler are fine is ready; each
    probe is a real write, and /healthz is the same verdict."""
    status, body, _ = _get(harness.bot.url, "/readyz")
    assert (status, body["database"], body["slack"]) == (200, "ok", "ok")
    assert "failing" not in body
    assert harness.bot.store.heartbeat("readiness") == harness.clock.now()
    assert _get(harness.bot.url, "/healthz")[:2] == (200, body)
    assert _get(harness.bot.url, "/livez")[:2] == (200, {"status": "ok"})


def test_a_locked_sqlite_file_is_not_ready_within_three_seconds(harness: Harness) -> None:
    """Another connection holds the write lock: the probe's write would wait out the busy
    timeout (10 s), but /readyz answers 503 naming the database within 3 s; a second look
    while that probe still waits answers at once; /livez stays 200 throughout. Once the lock
    goes, the bot is ready again."""
    path = urlsplit(harness.settings.database_url).path.removeprefix("/")
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        status, body, took = _get(harness.bot.url, "/readyz")
        assert status == 503 and body["failing"] == ["database"], body
        assert took < 3.0
        again, body, took = _get(harness.bot.url, "/readyz")
        assert again == 503 and "no answer" in body["database"] and took < 1.0
        assert _get(harness.bot.url, "/livez")[:2] == (200, {"status": "ok"})
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    harness.wait_until(lambda: _get(harness.bot.url, "/readyz")[0] == 200, timeout=15)


@pytest.mark.postgres
def test_a_postgresql_that_refuses_connections_is_not_ready_within_three_seconds(
    make_harness: MakeHarness, postgres_schemas: Callable[[], str]
) -> None:
    """The database server goes away (every connection cut, new ones refused): /readyz answers
    503 naming the database within 3 s, where the pool alone would wait far longer; /livez is
    200."""
    url = urlsplit(postgres_schemas())
    with TcpProxy((url.hostname or "127.0.0.1", url.port or 5432)) as proxy:
        through = urlunsplit(url._replace(netloc=f"{url.username}@127.0.0.1:{proxy.port}"))
        harness = make_harness(DATABASE_URL=through)
        assert _get(harness.bot.url, "/readyz")[0] == 200
        proxy.stop()
        status, body, took = _get(harness.bot.url, "/readyz")
        assert status == 503 and body["failing"] == ["database"], body
        assert took < 3.0
        assert _get(harness.bot.url, "/livez")[:2] == (200, {"status": "ok"})


def test_a_web_process_sees_a_dead_scheduler(harness: Harness) -> None:
    """Where a scheduler is expected (every deployment: in-process, or a clock), readiness reads
    its heartbeat from the database: fresh is ready, stale (or never, once the start-up grace is
    over) is 503 naming the scheduler."""
    bot = LoopbackBot(harness.settings, harness.clock, expects_scheduler=True, resume=False)
    harness.bots.append(bot)
    status, body, _ = _get(bot.url, "/readyz")
    assert status == 200 and body["scheduler"] == "ok (waiting for its first run)"
    harness.clock.advance(SCHEDULER_STALE + timedelta(seconds=1))
    status, body, _ = _get(bot.url, "/readyz")
    assert status == 503 and body["failing"] == ["scheduler"], body
    assert body["scheduler"] == "stale: never ran"
    bot.store.beat(MAINTENANCE_BEAT, harness.clock.now())  # a clock ran its maintenance
    status, body, _ = _get(bot.url, "/readyz")
    assert status == 200 and body["scheduler"].startswith("ok (last ran"), body
    harness.clock.advance(SCHEDULER_STALE + timedelta(seconds=1))
    status, body, _ = _get(bot.url, "/readyz")
    assert status == 503 and body["scheduler"].startswith("stale: last ran"), body
    assert _get(harness.bot.url, "/readyz")[0] == 200  # a bot that expects none is still ready
