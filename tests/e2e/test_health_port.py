"""``HEALTH_PORT``: ``socket`` and ``clock`` answer ``/livez`` and ``/readyz`` (and ``/healthz``)
on it, as real processes, and stop cleanly on SIGTERM."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.dev.loopback.slack import GOOD_TOKEN, LocalSlack
from bot.dev.loopback.world import LoopbackWorld
from bot.dev.sandbox import SandboxServer
from tests.environment import loopback_environ, process_environ
from tests.processes import free_port, run_cli, start_cli

pytestmark = pytest.mark.slow


@pytest.fixture
def world() -> Iterator[tuple[LocalSlack, SandboxServer]]:
    with LoopbackWorld() as world:
        yield world.slack, world.sandbox


@pytest.mark.parametrize(
    ("command", "scheduler"),
    [(["clock"], "ok (last ran"), (["socket", "--no-scheduler"], "ok (waiting")],
)
def test_socket_and_clock_answer_liveness_and_readiness_on_the_health_port(
    tmp_path: Path,
    world: tuple[LocalSlack, SandboxServer],
    command: list[str],
    scheduler: str,
) -> None:
    slack, sandbox = world
    port = free_port()
    env = loopback_environ(
        slack.url,
        sandbox.url,
        f"sqlite:///{tmp_path / 'bot.db'}",
        SLACK_APP_TOKEN="xapp-1-A0LOOPBACK-1-fakefakefake",
        HEALTH_PORT=str(port),
    )
    log = tmp_path / "bot.log"
    with log.open("w") as output, httpx.Client(timeout=5) as http:
        process = start_cli(command, env, tmp_path, output)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    ready = http.get(f"{base}/readyz")
                    if ready.json()["scheduler"].startswith(scheduler):
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            assert ready.status_code == 200, ready.json()
            assert ready.json()["database"] == "ok"
            assert http.get(f"{base}/healthz").json()["database"] == "ok"
            assert http.get(f"{base}/livez").json() == {"status": "ok"}
            assert http.get(f"{base}/slack/events").status_code == 404  # health only
        finally:
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            code = process.wait(15)
    assert code == 0, log.read_text()
    assert time.monotonic() - signalled < 10
    assert "Traceback" not in log.read_text()


def test_a_malformed_health_port_stops_start_up_naming_it(tmp_path: Path) -> None:
    env = process_environ(
        SLACK_BOT_TOKEN=GOOD_TOKEN,
        CARTROVER_API_USER="u",
        CARTROVER_API_KEY="k",
        HEALTH_PORT="80000",
    )
    result = run_cli(["clock"], env, tmp_path)
    assert result.returncode == 2
    assert "HEALTH_PORT" in result.stderr and "port number" in result.stderr
