"""What `serve` and `sandbox` say when they cannot start: a busy port, an unreachable Slack — one
line naming what and how to fix it, a non-zero exit, never a traceback. Real processes against
the loopback world."""

from __future__ import annotations

import shlex
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.dev.loopback.slack import LocalSlack
from bot.dev.loopback.world import LoopbackWorld
from bot.dev.sandbox import TEST_PATTERN, TEST_SOURCE, SandboxServer
from bot.dev.sandbox.server import banner
from tests.environment import loopback_environ, process_environ
from tests.processes import free_port, run_cli

pytestmark = pytest.mark.slow

API_KEY = "start-up-key-5e6f"


@pytest.fixture
def world() -> Iterator[tuple[LocalSlack, SandboxServer]]:
    with LoopbackWorld(api_key=API_KEY) as world:
        yield world.slack, world.sandbox


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


def _serve_env(tmp_path: Path, slack_url: str, sandbox: SandboxServer) -> dict[str, str]:
    return loopback_environ(
        slack_url,
        sandbox.url,
        f"sqlite:///{tmp_path / 'bot.db'}",
        api_key=API_KEY,
        SLACK_SIGNING_SECRET="0123456789abcdef0123456789abcdef",
    )


def test_serve_on_a_busy_port_says_which_port_and_what_to_do(
    tmp_path: Path, world: tuple[LocalSlack, SandboxServer], busy_port: int
) -> None:
    slack, sandbox = world
    env = _serve_env(tmp_path, slack.url, sandbox)
    result = run_cli(["serve", "--no-scheduler", "--port", str(busy_port)], env, tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "OSError" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "cartrover-bot serve:" in line]
    assert f"port {busy_port} is already in use" in line
    assert "--port N or PORT=N" in line


def test_sandbox_on_a_busy_port_says_which_port_and_what_to_do(
    tmp_path: Path, busy_port: int
) -> None:
    result = run_cli(["sandbox", "--port", str(busy_port)], process_environ(), tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"cartrover-bot sandbox: port {busy_port} is already in use: another program (perhaps "
        "another sandbox) listens on it; stop that program, or choose a free port with --port N"
    )
    assert result.stdout == ""


def test_serve_with_slack_unreachable_names_the_url_and_the_fix(
    tmp_path: Path, world: tuple[LocalSlack, SandboxServer]
) -> None:
    """Not just "auth.test failed: connection_failed"."""
    _, sandbox = world
    url = f"http://127.0.0.1:{free_port()}/api/"
    result = run_cli(["serve", "--no-scheduler"], _serve_env(tmp_path, url, sandbox), tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "cartrover-bot serve:" in line]
    assert f"could not reach Slack at {url}" in line
    assert "SLACK_API_URL" in line and "cartrover-bot check" in line


def test_the_sandbox_banner_lists_every_variable_the_bot_needs() -> None:
    """Including the test-order rule, quoted for a shell or .env, so the digest finds the
    sandbox's test orders."""
    text = banner("http://127.0.0.1:8765")
    for line in (
        "CARTROVER_API_URL=http://127.0.0.1:8765",
        "CARTROVER_API_USER=sandbox",
        "CARTROVER_API_KEY=sandbox-key",
        "CARTROVER_CANCEL_API_USER=sandbox-cart",
        "CARTROVER_CANCEL_API_KEY=sandbox-cart-key",
        f"TEST_ORDER_SOURCES={shlex.quote(TEST_SOURCE)}",
        f"TEST_ORDER_PATTERN={shlex.quote(TEST_PATTERN)}",
    ):
        assert f"  {line}\n" in text
    assert "TEST_ORDER_SOURCES='Test Store'" in text
