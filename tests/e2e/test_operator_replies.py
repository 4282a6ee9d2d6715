"""What an operator reads in Slack, end to end: signed commands into the real app, the CartRover
sandbox, the local Slack and a real SQLite file."""

from __future__ import annotations

import json

import pytest

from bot.dev.sandbox import PII_REMOVED_REF, STALE_TEST_REF
from bot.slack import ids
from tests.harness import STRANGER, Harness

TEST_ENV = {"TEST_ORDER_SOURCES": "Test Store", "TEST_ORDER_PATTERN": "^TEST-"}


@pytest.fixture
def harness_env() -> dict[str, str]:
    return TEST_ENV


def answer(harness: Harness, text: str, **kw: str) -> str:
    """The reply the command's issuer gets, as sent (mrkdwn, text and blocks)."""
    told = len(harness.replies())
    assert harness.command(text, **kw).status_code == 200
    return json.dumps(harness.wait_reply(told + 1).body, ensure_ascii=False)


def test_subscribing_in_another_zone_names_that_zone(harness: Harness) -> None:
    """`digest subscribe 09:30 Europe/Berlin` tells the next digest in Berlin time, not "UTC"."""
    reply = answer(harness, "digest subscribe 09:30 Europe/Berlin")
    assert "09:30 Europe/Berlin>" in reply and "09:30 UTC" not in reply
    reply = answer(harness, "digest subscribe 07:00 EST")
    assert "07:00 EST>" in reply and "07:00 UTC" not in reply


def test_status_of_an_order_in_an_open_request_points_at_it(harness: Harness) -> None:
    """While a hold request for X is open, `status X` names it instead of suggesting a hold."""
    before = answer(harness, f"status {STALE_TEST_REF}")
    assert f"/cartrover hold {STALE_TEST_REF}" in before
    request = harness.open_hold(STALE_TEST_REF)
    during = answer(harness, f"status {STALE_TEST_REF}")
    assert f"/cartrover hold {STALE_TEST_REF}" not in during
    assert f"|#{request.id}> for it is waiting for an approver" in during


def test_status_shows_cartrover_data_as_written(harness: Harness) -> None:
    """`**PII Removed**` arrives in a code span, so Slack does not turn it bold; counts agree."""
    reply = answer(harness, f"status {PII_REMOVED_REF}")
    assert "Ship to: `**PII Removed** **PII Removed**, Seattle`" in reply
    assert "Items: 3 units on 1 line" in reply and "(s)" not in reply


def test_a_refused_click_reads_as_a_refused_click_in_the_history(harness: Harness) -> None:
    """Someone who may not approve clicks: the history says whose click was refused."""
    request = harness.open_hold(STALE_TEST_REF)
    told = len(harness.replies())
    harness.click(ids.APPROVE_HOLD, request, STRANGER)
    harness.wait_reply(told + 1)
    history = answer(harness, f"history {STALE_TEST_REF}")
    assert f"a click by <@{STRANGER}> refused (hold #{request.id}): not an approver" in history
    assert "requested by" in history and "1 order: " in history and "(s)" not in history


def test_the_stale_reply_counts_once_and_its_button_names_the_list(harness: Harness) -> None:
    """`stale` is headed by its count alone; a request made from it does not say "digest"."""
    reply = answer(harness, "stale")
    assert '"text": "7 stale test orders"' in reply
    assert "Stale test orders: " not in reply
