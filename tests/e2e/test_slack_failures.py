"""How the app behaves when Slack, the response_url or the bot itself fails."""

from __future__ import annotations

import json
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from slack_bolt.request import BoltRequest

from bot.dev.loopback.slack import TEAM_ID
from bot.dev.sandbox.seed import STALE_PATTERN_TEST_REF, STALE_TEST_REF
from bot.slack import ids
from bot.store.records import RequestState
from tests.harness import APPROVER, APPROVER_2, CHANNEL, GROUP_MEMBER, REQUESTER, Harness


def test_expired_response_url_falls_back_to_an_ephemeral_message(harness: Harness) -> None:
    """When the response_url answers 404 the reply goes through chat.postEphemeral (R43)."""
    harness.slack.webhook_status = 404
    harness.command(f"status {STALE_TEST_REF}")
    (ephemeral,) = harness.slack.wait_for("chat.postEphemeral")
    assert ephemeral.body["user"] == REQUESTER
    assert ephemeral.body["channel"] == CHANNEL
    assert "will be sent" in json.dumps(ephemeral.body)


def test_revoked_token_turns_health_to_503_and_logs_one_alert(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """invalid_auth from Slack stops further calls and makes /healthz answer 503 (R24)."""
    harness.slack.token = "xoxb-rotated-elsewhere"
    with caplog.at_level(logging.WARNING):
        harness.command(f"hold {STALE_TEST_REF}")
        harness.slack.wait_for("chat.postMessage")
        harness.wait_until(lambda: httpx.get(f"{harness.bot.url}/healthz").status_code == 503)
        harness.command(f"hold {STALE_PATTERN_TEST_REF}")
        harness.wait_until(lambda: len(harness.replies()) >= 1)
    body = httpx.get(f"{harness.bot.url}/healthz").json()
    assert body["status"] == "unhealthy" and "invalid_auth" in body["slack"]
    assert len(harness.slack.of("chat.postMessage")) == 1  # no retries after the fatal answer
    alerts = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(alerts) == 1


def test_unexpected_failure_is_logged_with_a_correlation_id_and_reported(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """A crash inside a command reaches the user as a short message with the logged id (R25)."""
    with sqlite3.connect(harness.tmp_path / "bot.db") as db:  # the schema vanishes under the bot
        views = db.execute("SELECT name FROM sqlite_master WHERE type = 'view'").fetchall()
        for (name,) in views:
            db.execute(f'DROP VIEW "{name}"')
        tables = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'hold%'"
        ).fetchall()
        for (name,) in tables:
            db.execute(f'ALTER TABLE "{name}" RENAME TO "{name}_gone"')
    with caplog.at_level(logging.ERROR):
        harness.command("pending")
        reply = json.dumps(harness.wait_reply().body)
    assert "something went wrong" in reply
    correlation = reply.split("logged as `")[1].split("`")[0]
    assert any(correlation in r.getMessage() for r in caplog.records)
    assert "Traceback" not in reply


def test_fifty_concurrent_clicks_cause_no_pool_timeout_and_no_duplicate(harness: Harness) -> None:
    """50 signed clicks at once on 5 requests: 5 decisions, 5 cancels, no errors (R37, R1)."""
    refs = [STALE_TEST_REF, STALE_PATTERN_TEST_REF, "TS-1002", "TS-1003", "TS-1006"]
    requests = [harness.open_hold(ref) for ref in refs]
    clicks = [(r, u) for r in requests for u in (APPROVER, APPROVER_2, GROUP_MEMBER) * 3]
    clicks += [(r, APPROVER) for r in requests]
    with ThreadPoolExecutor(50) as pool:
        statuses = list(
            pool.map(lambda c: harness.click(ids.APPROVE_HOLD, c[0], c[1]).status_code, clicks)
        )
    assert statuses == [200] * 50
    for request in requests:
        harness.wait_state(request.id, RequestState.DONE, RequestState.FAILED, timeout=20)
    assert len(harness.sandbox.cancel_requests()) == len(refs)
    for ref in refs:
        assert len(harness.sandbox.cancel_requests(ref)) == 1


def test_socket_mode_requests_reach_the_same_handlers(harness: Harness) -> None:
    """A command delivered as a Socket Mode envelope is handled like the HTTP one."""
    body = {
        "command": "/cartrover",
        "text": f"status {STALE_TEST_REF}",
        "user_id": REQUESTER,
        "channel_id": CHANNEL,
        "team_id": TEAM_ID,
        "response_url": harness.response_url(),
    }
    response = harness.bot.app.dispatch(BoltRequest(body=body, mode="socket_mode"))
    assert response.status == 200
    assert "will be sent" in json.dumps(harness.wait_reply().body)
