"""`cartrover-bot serve` as a real process: start-up checks, /healthz, a full hold at DEBUG with no
secret in any output, and a graceful SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from bot.dev.loopback.slack import GOOD_TOKEN, TEAM_ID, LocalSlack
from bot.dev.loopback.world import LoopbackWorld
from bot.dev.sandbox import SANDBOX_CANCEL_API_KEY, SandboxServer
from bot.dev.sandbox.seed import STALE_TEST_REF
from bot.store import open_store
from tests.environment import loopback_environ, process_environ
from tests.processes import free_port, run_cli

pytestmark = pytest.mark.slow

SECRET = "0123456789abcdef0123456789abcdef"
API_KEY = "cr-key-9f8e7d6c5b4a"


def _env(tmp_path: Path, slack: LocalSlack, sandbox: SandboxServer) -> dict[str, str]:
    return loopback_environ(
        slack.url,
        sandbox.url,
        f"sqlite:///{tmp_path / 'bot.db'}",
        api_key=API_KEY,
        SLACK_SIGNING_SECRET=SECRET,
        APPROVERS="UAPPROVE1",
        LOG_LEVEL="DEBUG",
    )


@pytest.fixture
def world() -> Iterator[tuple[LocalSlack, SandboxServer]]:
    with LoopbackWorld(api_key=API_KEY) as world:
        yield world.slack, world.sandbox


def test_serve_refuses_to_start_without_a_signing_secret(tmp_path: Path) -> None:
    """A missing required value stops `serve` at start-up with a message naming it (R35)."""
    env = process_environ(SLACK_BOT_TOKEN=GOOD_TOKEN, CARTROVER_API_USER="u", CARTROVER_API_KEY="k")
    result = run_cli(["serve"], env, tmp_path)
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_malformed_value_naming_it(tmp_path: Path) -> None:
    """A malformed APPROVERS stops start-up naming the variable, without echoing secrets."""
    env = process_environ(SLACK_BOT_TOKEN=GOOD_TOKEN, SLACK_SIGNING_SECRET=SECRET, APPROVERS="bob")
    result = run_cli(["serve"], env, tmp_path)
    assert result.returncode == 2
    assert "APPROVERS" in result.stderr
    assert SECRET not in result.stderr and GOOD_TOKEN not in result.stderr


def test_whole_hold_at_debug_leaks_no_secret_and_sigterm_is_graceful(
    tmp_path: Path, world: tuple[LocalSlack, SandboxServer]
) -> None:
    """A hold approved through the real server at LOG_LEVEL=DEBUG prints no secret (R15, R30)."""
    slack, sandbox = world
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port), "--no-scheduler"],
        env=_env(tmp_path, slack, sandbox),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    verifier = SignatureVerifier(SECRET)
    try:
        with httpx.Client(timeout=5) as http:
            _wait_healthy(http, base)
            health = http.get(f"{base}/healthz").json()
            assert health["status"] == "ok" and health["database"] == "ok"
            ready = http.get(f"{base}/readyz").json()
            assert ready["database"] == "ok" and ready["scheduler"].startswith("ok (waiting")
            assert http.get(f"{base}/livez").json() == {"status": "ok"}

            def post(body: str) -> httpx.Response:
                ts = str(int(time.time()))
                headers = {
                    "X-Slack-Request-Timestamp": ts,
                    "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body),
                    "Content-Type": "application/x-www-form-urlencoded",
                }
                return http.post(f"{base}/slack/events", content=body, headers=headers)

            command = urlencode(
                {
                    "command": "/cartrover",
                    "text": f"hold {STALE_TEST_REF} debug run",
                    "user_id": "UREQUEST1",
                    "channel_id": "C0HOLDS01",
                    "team_id": TEAM_ID,
                    "response_url": slack.webhook("cmd"),
                    "trigger_id": "t",
                }
            )
            assert post(command).status_code == 200
            slack.wait_for("chat.postMessage")  # the fake's first ts is 1700000000.000001
            store = open_store(f"sqlite:///{tmp_path / 'bot.db'}")
            deadline = time.monotonic() + 10
            while (request := store.get_request(1)) is None or request.message_ts is None:
                assert time.monotonic() < deadline, "the request message was never recorded"
                time.sleep(0.02)  # the ts is stored once chat.postMessage has answered
            store.close()
            payload = {
                "type": "block_actions",
                "user": {"id": "UAPPROVE1"},
                "team": {"id": TEAM_ID},
                "container": {
                    "type": "message",
                    "channel_id": "C0HOLDS01",
                    "message_ts": "1700000000.000001",
                },
                "response_url": slack.webhook("click"),
                "trigger_id": "t",
                "actions": [{"action_id": "approve_hold", "value": "1", "type": "button"}],
            }
            assert post(urlencode({"payload": json.dumps(payload)})).status_code == 200
            deadline = time.monotonic() + 15
            while sandbox.book.get(STALE_TEST_REF)["sending_canceled"] != "Y":
                assert time.monotonic() < deadline, "the cancel never arrived"
                time.sleep(0.05)
            slack.wait_for("chat.update")
    finally:
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert time.monotonic() - started < 25
    assert len(sandbox.cancel_requests(STALE_TEST_REF)) == 1
    for secret in (SECRET, GOOD_TOKEN, API_KEY, SANDBOX_CANCEL_API_KEY, "Basic "):
        assert secret not in output, f"{secret[:6]}… leaked into the output"
    assert "DEBUG" in output  # the run really logged at DEBUG


def _wait_healthy(http: httpx.Client, base: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if http.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("serve never became healthy")


def test_socket_mode_refuses_to_start_without_an_app_token(tmp_path: Path) -> None:
    """`socket` names SLACK_APP_TOKEN when it is missing, and `clock` names what it needs."""
    env = process_environ(SLACK_BOT_TOKEN=GOOD_TOKEN, CARTROVER_API_USER="u", CARTROVER_API_KEY="k")
    result = run_cli(["socket"], env, tmp_path)
    assert result.returncode == 2
    assert "SLACK_APP_TOKEN" in result.stderr
    del env["SLACK_BOT_TOKEN"]
    result = run_cli(["clock"], env, tmp_path)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr
