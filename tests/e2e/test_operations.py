"""What an operator runs and watches, as real processes: `cartrover-bot migrate` (once, twice,
several at once, on SQLite and PostgreSQL), and a fresh `serve` process's /metrics and JSON log
lines."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import __version__
from bot.cartrover.errors import __all__ as cartrover_errors
from bot.cartrover.exchange import ENDPOINTS
from bot.dev.loopback.signing import SlackRequests
from bot.dev.loopback.slack import LocalSlack
from bot.dev.loopback.world import LoopbackWorld
from bot.dev.sandbox import SandboxServer
from bot.dev.sandbox.seed import STALE_TEST_REF
from bot.holds.flow import MAINTENANCE_BEAT
from bot.holds.rules import RefusalReason
from bot.store import open_store
from bot.store.migrations import MIGRATIONS
from bot.store.postgres import MIGRATION_LOCK
from bot.store.records import ItemState, RequestState
from handlers import SUBCOMMANDS
from tests.environment import loopback_environ, process_environ
from tests.processes import free_port, run_cli
from tests.sqlite_files import sqlite_file

pytestmark = pytest.mark.slow

LATEST = MIGRATIONS[-1].version
APPLIED = re.compile(r"^applied migration (\d+) \((\w+)\)$", re.M)


# -- migrate ---------------------------------------------------------------------------------------


def test_migrate_twice_on_a_fresh_database_applies_everything_then_nothing(tmp_path: Path) -> None:
    """The first run (on DATABASE_URL's default, a file in the working directory) applies and
    names every migration; the second finds the schema up to date and changes nothing."""
    first = run_cli(["migrate"], process_environ(), tmp_path)
    assert first.returncode == 0, first.stderr
    assert [(int(v), n) for v, n in APPLIED.findall(first.stdout)] == [
        (m.version, m.name) for m in MIGRATIONS
    ]
    assert first.stdout.rstrip().endswith(f"the schema is now at version {LATEST}")
    second = run_cli(["migrate"], process_environ(), tmp_path)
    assert second.returncode == 0, second.stderr
    assert not APPLIED.findall(second.stdout)
    assert second.stdout.strip() == (
        f"SqliteStore('cartrover-bot.db'): the schema is already at version {LATEST}"
    )
    with sqlite_file(tmp_path / "cartrover-bot.db") as db:
        rows = db.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert [version for (version,) in rows] == [m.version for m in MIGRATIONS]


def test_migrate_on_an_unusable_database_fails_with_one_clear_line(tmp_path: Path) -> None:
    """A database that cannot be opened exits 1 with one line naming it, no traceback, and never
    the password; a malformed DATABASE_URL exits 2 naming the variable."""
    missing = tmp_path / "no-such-folder" / "bot.db"
    result = run_cli(["migrate"], process_environ(DATABASE_URL=f"sqlite:///{missing}"), tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"cartrover-bot migrate: SQLite database {missing}: ")
    assert "Traceback" not in result.stderr
    closed = f"postgresql://bot:pw-{uuid.uuid4().hex}@127.0.0.1:{free_port()}/bot"
    result = run_cli(["migrate"], process_environ(DATABASE_URL=closed), tmp_path)
    assert result.returncode == 1
    assert "cannot connect to PostgreSQL bot@127.0.0.1" in result.stderr
    assert "pw-" not in result.stderr and "Traceback" not in result.stderr
    result = run_cli(["migrate"], process_environ(DATABASE_URL="mysql://x"), tmp_path)
    assert result.returncode == 2 and "DATABASE_URL" in result.stderr


def _start_migrates(url: str, cwd: Path, count: int) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "migrate"],
            env=process_environ(DATABASE_URL=url),
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]


def _finish(processes: list[subprocess.Popen[str]]) -> list[int]:
    """Every process's exit, each having succeeded; the versions each says it applied, all."""
    applied = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert out.rstrip().endswith(f"version {LATEST}"), out
        applied += [int(version) for version, _ in APPLIED.findall(out)]
    return applied


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_several_migrates_at_once_on_sqlite_apply_each_migration_once(tmp_path: Path) -> None:
    """Four processes start on a fresh file while the test holds its write lock, so that all of
    them reach the migration together when it lets go: each migration is applied exactly once,
    by one of them, and every one of them succeeds."""
    path = tmp_path / "bot.db"
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("PRAGMA journal_mode = WAL")
        holder.execute("BEGIN IMMEDIATE")
        processes = _start_migrates(f"sqlite:///{path}", tmp_path, 4)

        def all_opened_it() -> bool:  # each has the file open: it is waiting for the lock
            return all(_has_open(process.pid, path) for process in processes)

        _wait(all_opened_it, "the migrate processes never opened the database", timeout=8.0)
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    assert sorted(_finish(processes)) == [m.version for m in MIGRATIONS]
    with sqlite_file(path) as db:
        (count,) = db.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert count == len(MIGRATIONS)


def _has_open(pid: int, path: Path) -> bool:
    try:
        return any(
            os.readlink(f"/proc/{pid}/fd/{fd}") == str(path) for fd in os.listdir(f"/proc/{pid}/fd")
        )
    except OSError:  # not started yet, or already gone
        return False


@pytest.mark.postgres
def test_several_migrates_at_once_on_postgres_apply_each_migration_once(
    tmp_path: Path, postgres_url: str, postgres_schemas: Callable[[], str]
) -> None:
    """Four processes on a fresh schema wait on the migration lock the test holds, all of them
    (PostgreSQL shows each waiting), then race for it: each migration is applied exactly once."""
    import psycopg

    name = f"migrate-{uuid.uuid4().hex[:12]}"  # these processes, in pg_stat_activity
    url = f"{postgres_schemas()}&application_name={name}"
    waiting = """SELECT count(*) FROM pg_stat_activity
                 WHERE application_name = %s AND wait_event_type = 'Lock'"""
    with psycopg.connect(postgres_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            processes = _start_migrates(url, tmp_path, 4)

            def all_wait() -> bool:
                row = holder.execute(waiting, (name,)).fetchone()
                return row is not None and row[0] == 4

            _wait(all_wait, "the migrate processes never all waited for the lock")
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    assert sorted(_finish(processes)) == [m.version for m in MIGRATIONS]
    store = open_store(url, migrate=False)
    try:
        assert store.migrate() == []
    finally:
        store.close()


# -- a fresh serve process: /metrics and JSON logs -----------------------------------------------

SECRET = "0123456789abcdef0123456789abcdef"
API_KEY = "cr-key-9f8e7d6c5b4a"


@pytest.fixture
def world() -> Iterator[tuple[LocalSlack, SandboxServer]]:
    with LoopbackWorld(api_key=API_KEY) as world:
        yield world.slack, world.sandbox


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _scrape(http: httpx.Client, base: str) -> Samples:
    reply = http.get(f"{base}/metrics")
    assert reply.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def _at_zero(samples: Samples, name: str, **labels: str) -> bool:
    return samples.get((name, tuple(sorted(labels.items())))) == 0.0


def test_a_fresh_serve_process_exports_every_series_and_logs_json_with_context(
    tmp_path: Path, world: tuple[LocalSlack, SandboxServer]
) -> None:
    """Before anything happened, /metrics has every known label value at 0, the build, the
    database's figures and no remaining-hits figure; the scheduler's heartbeat written by another
    process shows once it exists. A command then logs JSON lines with its context as keys and the
    level under LOG_LEVEL_KEY."""
    slack, sandbox = world
    port, db = free_port(), tmp_path / "bot.db"
    env = loopback_environ(
        slack.url,
        sandbox.url,
        f"sqlite:///{db}",
        api_key=API_KEY,
        SLACK_SIGNING_SECRET=SECRET,
        LOG_FORMAT="json",
        LOG_LEVEL_KEY="severity",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port), "--no-scheduler"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=5) as http:
            _wait(lambda: _answers(http, f"{base}/healthz"), "serve never became healthy")
            fresh = _scrape(http, base)
            _check_fresh(fresh)
            beat = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
            other = open_store(f"sqlite:///{db}")  # as the clock process would
            try:
                other.beat(MAINTENANCE_BEAT, beat)
            finally:
                other.close()
            later = _scrape(http, base)
            name = "cartrover_bot_scheduler_last_run_timestamp_seconds"
            assert later[(name, ())] == beat.timestamp()
            requests = SlackRequests(SECRET, response_url=lambda: slack.webhook("cmd"))
            body = requests.command(f"status {STALE_TEST_REF}", user="UREQUEST1", channel="C0OPS")
            answer = http.post(f"{base}/slack/events", content=body, headers=requests.headers(body))
            assert answer.status_code == 200
            _wait(lambda: _has_hits(http, base), "the status command never reached CartRover")
            after = _scrape(http, base)
            assert after[("cartrover_bot_commands_total", (("subcommand", "status"),))] == 1
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=30)
    assert process.returncode == 0, log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert lines and all("severity" in line and "level" not in line for line in lines)
    calls = [line for line in lines if line["message"].startswith("CartRover GET /v1/merchant")]
    assert calls  # the order's status and details, each logged with the command's context
    for call in calls:
        assert call["severity"] == "INFO" and call["logger"] == "bot.cartrover"
        assert call["slack_user"] == "UREQUEST1" and call["slack_channel"] == "C0OPS"
        assert call["event"] == "command" and call["orders"] == [STALE_TEST_REF]
        assert call["process_id"] and call["process_id"] in call["message"]


def _answers(http: httpx.Client, url: str) -> bool:
    try:
        return http.get(url).status_code == 200
    except httpx.TransportError:
        return False


def _has_hits(http: httpx.Client, base: str) -> bool:
    return ("cartrover_bot_cartrover_remaining_hits", ()) in _scrape(http, base)


def _check_fresh(samples: Samples) -> None:
    for sub in SUBCOMMANDS:
        assert _at_zero(samples, "cartrover_bot_commands_total", subcommand=sub.syntax.name)
    assert _at_zero(samples, "cartrover_bot_commands_total", subcommand="invalid")
    refusals = [reason.name.lower() for reason in RefusalReason]
    for action in ("approve", "reject"):
        for outcome in ("decided", *refusals):
            assert _at_zero(samples, "cartrover_bot_clicks_total", action=action, outcome=outcome)
    for outcome in ("opened", "nothing_open", *refusals):
        assert _at_zero(samples, "cartrover_bot_clicks_total", action="hold_all", outcome=outcome)
    for state in (s for s in RequestState if s.is_final):
        assert _at_zero(samples, "cartrover_bot_hold_requests_total", state=state.value)
    for item in (s for s in ItemState if s.is_final):
        assert _at_zero(samples, "cartrover_bot_cancels_total", outcome=item.value)
    for endpoint in ENDPOINTS:
        assert _at_zero(samples, "cartrover_bot_cartrover_call_seconds_count", endpoint=endpoint)
        for result in ("ok", "no_answer", *cartrover_errors):
            calls = {"endpoint": endpoint, "result": result}
            assert _at_zero(samples, "cartrover_bot_cartrover_calls_total", **calls)
    for kind in ("scheduled", "now"):
        assert _at_zero(samples, "cartrover_bot_digests_posted_total", kind=kind)
    assert ("cartrover_bot_cartrover_remaining_hits", ()) not in samples
    python = ".".join(map(str, sys.version_info[:3]))
    build = (("python", python), ("version", __version__))
    assert samples[("cartrover_bot_build_info", build)] == 1
    assert samples[("cartrover_bot_database_up", ())] == 1
    for process in ("this", "others"):
        assert _at_zero(samples, "cartrover_bot_leases_held", process=process)
    assert _at_zero(samples, "cartrover_bot_hold_requests_unleased")
    assert ("cartrover_bot_scheduler_last_run_timestamp_seconds", ()) not in samples


# -- start-up --------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["migrate", "--help"]])
def test_help_answers_without_loading_the_settings_or_the_clients(
    tmp_path: Path, args: list[str]
) -> None:
    """--help (and --version) import the command line alone: not pydantic, the Slack SDK,
    httpx or a database driver (bench/startup.py measures what that saves)."""
    probe = (
        "import sys; from bot.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as stop:\n    code = stop.code\n"
        "heavy = sorted(m for m in ('pydantic', 'pydantic_settings', 'slack_sdk', 'slack_bolt',"
        " 'httpx', 'psycopg', 'sqlite_utils', 'prometheus_client') if m in sys.modules)\n"
        "print('LOADED', heavy, code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *args],
        env=process_environ(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.splitlines()[-1] == "LOADED [] 0", done.stdout + done.stderr
