"""Shared fixtures: a clean environment for every test, a frozen clock."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from bot.times import FrozenClock
from tests.environment import is_bot_variable

# Hypothesis keeps failing examples (and a Unicode table it caches) under one home directory. Under
# pytest-xdist every worker is a process of its own writing there at the same time, so each worker
# gets its own: .hypothesis/ at the top of the repository, and .hypothesis/gw0/, gw1/, … beside it.
_HYPOTHESIS_HOME = Path(__file__).resolve().parents[1] / ".hypothesis"
set_hypothesis_home_dir(_HYPOTHESIS_HOME / os.environ.get("PYTEST_XDIST_WORKER", ""))


@pytest.fixture(autouse=True)
def _clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every test starts without the bot's variables and outside any directory with a .env."""
    for name in list(os.environ):
        if is_bot_variable(name):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SKIP_SLACK_SDK_WARNING", "1")
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(autouse=True)
def _close_made_deps() -> Iterator[None]:
    """Close what tests.fakes.make_deps opened during the test."""
    yield
    from tests.fakes import close_made_deps

    close_made_deps()


@pytest.fixture
def logging_state() -> Iterator[None]:
    """Put the root logger's handlers and level, and every logger's level, back after a test
    that configured logging (loggers made meanwhile go back to NOTSET)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            logger.setLevel(levels.get(name, logging.NOTSET))


# Read at import, before the per-test scrubber removes CARTROVER_* variables. .ci/run sets it, so
# that a PostgreSQL test can fail there but never silently skip.
POSTGRES_URL = os.environ.get(
    "STORE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("CARTROVER_BOT_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test database's URL, or a skip (a failure under .ci/run) when PostgreSQL is absent."""
    import socket

    import psycopg

    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except (OSError, psycopg.Error) as exc:
        reason = f"PostgreSQL is not reachable on 127.0.0.1:5432 ({type(exc).__name__})"
        if REQUIRE_POSTGRES:
            pytest.fail(reason + " and CARTROVER_BOT_REQUIRE_POSTGRES=1 forbids skipping")
        pytest.skip(reason)
    return POSTGRES_URL


@pytest.fixture
def postgres_schemas(postgres_url: str) -> Iterator[Callable[[], str]]:
    """Make fresh schemas in the test database: each call returns the URL of a new one (its
    search_path set), and every one is dropped after the test."""
    import psycopg
    from psycopg import sql

    schemas: list[str] = []

    def create() -> str:
        schemas.append(f"t_{uuid.uuid4().hex[:16]}")
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schemas[-1])))
        separator = "&" if "?" in postgres_url else "?"
        return f"{postgres_url}{separator}options=-csearch_path%3D{schemas[-1]}"

    yield create
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for name in schemas:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
