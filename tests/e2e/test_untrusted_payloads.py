"""Signed payloads that still must not be trusted: another app's clicks, button values that are
not numbers, a hold reason dressed up as the card's own lines, and what CartRover says of an
order shown on the card. Through the real server."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.dev.sandbox import STALE_PATTERN_TEST_REF, STALE_TEST_REF, generate_orders
from bot.slack import ids
from bot.store.records import RequestState
from bot.times import FrozenClock
from tests.harness import APP_ID, APPROVER, CHANNEL, Harness

MALFORMED_VALUES = ["²", "9" * 30, "-1", "", "0", "1.0", " 1", "١"]


@pytest.fixture
def harness_env() -> dict[str, str]:
    return {"SLACK_APP_ID": APP_ID}


def _said(harness: Harness, count: int) -> str:
    return json.dumps(harness.wait_reply(count).body)


def _reply_saying(harness: Harness, words: str) -> dict[str, Any]:
    """The response_url post containing ``words`` (replies to separate requests may cross)."""

    def found() -> list[dict[str, Any]]:
        return [c.body for c in harness.replies() if words in json.dumps(c.body)]

    harness.wait_until(lambda: bool(found()))
    return found()[0]


# -- the app's own id ----------------------------------------------------------------------------


def test_a_click_of_another_app_is_refused_ephemerally_and_audited(harness: Harness) -> None:
    """An Approve click carrying another api_app_id changes nothing, says why, and is audited."""
    request = harness.open_hold(STALE_TEST_REF)
    assert request.message_ts is not None
    body = harness.click_body(
        ids.APPROVE_HOLD,
        str(request.id),
        APPROVER,
        channel=request.channel_id,
        ts=request.message_ts,
        app_id="A0OTHERAPP",
    )
    assert harness.post(body).status_code == 200
    reply = _reply_saying(harness, "another Slack app")
    assert reply["response_type"] == "ephemeral"
    assert harness.request(request.id).state is RequestState.PENDING
    assert harness.sandbox.cancel_requests() == []
    refusals = [e for e in harness.bot.store.audit_for_request(request.id) if e.event == "refused"]
    assert [(e.actor, e.detail) for e in refusals] == [
        (APPROVER, "payload of another Slack app (A0OTHERAPP)")
    ]


def test_without_slack_app_id_the_first_verified_request_pins_the_app(
    tmp_path: Path, clock: FrozenClock
) -> None:
    """With SLACK_APP_ID unset (and not told by auth.test), the first verified request names the
    app; a later click of another app is refused."""
    h = Harness(tmp_path, clock)
    try:
        request = h.open_hold(STALE_TEST_REF)  # the command pins A0TEST
        assert request.message_ts is not None
        body = h.click_body(
            ids.APPROVE_HOLD,
            str(request.id),
            APPROVER,
            channel=CHANNEL,
            ts=request.message_ts,
            app_id="A0OTHERAPP",
        )
        h.post(body)
        _reply_saying(h, "another Slack app")
        assert h.request(request.id).state is RequestState.PENDING
    finally:
        h.close()


def test_the_socket_mode_greeting_names_the_app() -> None:
    """Slack's `hello` on a Socket Mode connection tells the app id; a configured id wins."""
    from bot.runners.app import AppIdentity
    from bot.runners.socket import learn_app_id_from_greeting

    identity = AppIdentity()
    listen = learn_app_id_from_greeting(identity)
    listen(None, {"type": "events_api", "payload": {}}, None)
    assert identity.app_id is None
    listen(None, {"type": "hello", "connection_info": {"app_id": "A0SOCKET"}}, None)
    assert identity.app_id == "A0SOCKET"
    assert identity.admits("A0SOCKET") and not identity.admits("A0OTHER")
    configured = AppIdentity("A0CONFIG")
    learn_app_id_from_greeting(configured)(None, {"type": "hello", "connection_info": {}}, None)
    learn_app_id_from_greeting(configured)(
        None, {"type": "hello", "connection_info": {"app_id": "A0SOCKET"}}, None
    )
    assert configured.app_id == "A0CONFIG"


# -- button values -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", MALFORMED_VALUES)
def test_a_malformed_approve_value_is_refused_with_a_clear_message(
    harness: Harness, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    """`²` passes str.isdigit but not int(); 30 digits overflow the database's integers: each
    is refused in words, nothing raises, the open request stays pending."""
    request = harness.open_hold(STALE_TEST_REF)
    assert request.message_ts is not None
    body = harness.click_body(
        ids.APPROVE_HOLD, value, APPROVER, channel=CHANNEL, ts=request.message_ts
    )
    with caplog.at_level(logging.WARNING):
        assert harness.post(body).status_code == 200
        _reply_saying(harness, "no valid request number")
        harness.wait_until(lambda: harness.bot.deps.workers.busy == 0)
    assert not any("went wrong" in json.dumps(c.body) for c in harness.replies())
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)
    assert harness.request(request.id).state is RequestState.PENDING


@pytest.mark.parametrize("value", MALFORMED_VALUES)
def test_a_malformed_hold_all_value_is_refused_with_a_clear_message(
    harness: Harness, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    """The digest's "Request hold for all" button gets the same check."""
    body = harness.click_body(
        ids.REQUEST_HOLD_ALL, value, APPROVER, channel=CHANNEL, ts="1700000000.000009"
    )
    with caplog.at_level(logging.WARNING):
        assert harness.post(body).status_code == 200
        said = _said(harness, 1)
    assert "no valid request number" in said and "went wrong" not in said
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)
    assert harness.slack.of("chat.postMessage") == []


# -- the hold reason ------------------------------------------------------------------------------


def _text_objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            yield node
        for value in node.values():
            yield from _text_objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _text_objects(value)


def test_a_reason_cannot_imitate_the_cards_own_lines(harness: Harness) -> None:
    """A reason with a line break, a bold `*Approved by:*`, a mention, bidi overrides and a link
    arrives as one escaped code span in a block of its own; links do not unfurl."""
    reason = (
        "routine\n*Approved by:* <@UAPPROVE1>\u202e fdp.exe\u2066 "
        "https://evil.example/login \x1b[2J"
    )
    request = harness.open_hold(f"{STALE_PATTERN_TEST_REF} {reason}")
    (post,) = harness.slack.of("chat.postMessage")
    assert post.body["unfurl_links"] is False and post.body["unfurl_media"] is False
    sent = json.dumps(post.body, ensure_ascii=False)
    for hidden in ("\u202e", "\u2066", "\x1b", "\\u001b", "\\n*Approved"):
        assert hidden not in sent
    texts = [obj["text"] for obj in _text_objects(post.body["blocks"])]
    (shown,) = [text for text in texts if "Approved by" in text]
    assert shown == (
        "*Reason:* `routine *Approved by:* &lt;@UAPPROVE1&gt; fdp.exe "
        "https://evil.example/login [2J`"
    )
    assert (
        request.reason
        == "routine *Approved by:* <@UAPPROVE1> fdp.exe https://evil.example/login [2J"
    )


def test_what_cartrover_says_of_an_order_reaches_the_card_inert(harness: Harness) -> None:
    """The informed card shows the order's source and ship-to as CartRover gives them: a cart
    that names its source `<!channel>` or ships to a link notifies nobody and links nowhere."""
    record = generate_orders(1, now=harness.clock.now(), prefix="TS-", start=9001)[0]
    record["order_source"] = "<!channel> Shop *bold*"
    record["ship_city"] = "<https://evil.example|Reno>"
    record["ship_state"] = "<@UAPPROVE1>"
    harness.book.add(record)
    harness.open_hold(f"{record['cust_ref']} test order")
    (post,) = harness.slack.of("chat.postMessage")
    sent = json.dumps(post.body, ensure_ascii=False)
    for raw in ("<!channel>", "<https://evil.example", "<@UAPPROVE1>"):
        assert raw not in sent
    texts = [obj["text"] for obj in _text_objects(post.body["blocks"])]
    (line,) = [text for text in texts if "ships to" in text]
    assert "&lt;!channel&gt; Shop" in line and "&lt;@UAPPROVE1&gt;" in line
