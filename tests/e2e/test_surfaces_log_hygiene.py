"""The Slack surfaces keep the log rules (R44, R47): with every logger at DEBUG, an event, a
message shortcut on a hostile message, a hold form and a reject form with hostile text, and a
forged event leave no ``response_url``, no forged record line and nothing of the forged body in
the log, and the forged event causes no Slack call."""

from __future__ import annotations

import logging

import pytest

from bot.dev.sandbox import STALE_TEST_REF
from bot.log import configure_logging
from bot.slack import ids
from bot.store.records import RequestState
from tests.e2e.conftest import MakeHarness
from tests.harness import APPROVER, CHANNEL, REQUESTER

FORGED = "2026-03-02T12:00:00 CRITICAL bot.holds.announce: approved by the boss"
LIBRARIES = ("httpx", "httpcore", "urllib3", "slack_sdk", "slack_bolt", "waitress", "bot")


@pytest.mark.usefixtures("logging_state")
def test_the_surfaces_log_nothing_raw_and_no_response_url(
    capsys: pytest.CaptureFixture[str], make_harness: MakeHarness
) -> None:
    h = make_harness(LOG_LEVEL="DEBUG")
    configure_logging(h.settings)
    for name in {*logging.root.manager.loggerDict, *LIBRARIES}:
        logging.getLogger(name).setLevel(logging.DEBUG)
    h.open_home(APPROVER)
    hostile = f"hold {STALE_TEST_REF}\n{FORGED.split(' ', 1)[1]}\r"
    body = h.requests.message_shortcut(
        ids.HOLD_MESSAGE_SHORTCUT, user=REQUESTER, channel=CHANNEL, text=hostile
    )
    assert h.post(body).status_code == 200
    form = h.wait_modal()
    values = {ids.REASON_FIELD: f"why\n{FORGED}\x1b[2K", ids.CHANNEL_FIELD: CHANNEL}
    h.submit_view(form.id, REQUESTER, values)
    request = h.newest_request(1)
    h.reject(request, APPROVER, reason=f"no\n{FORGED}")
    h.wait_state(request.id, RequestState.REJECTED)
    forged = h.requests.home_opened(user=APPROVER, event_id="Ev0MARKERFORGED")
    h.wait_until(lambda: h.bot.deps.workers.busy == 0 and h.slack.in_flight == 0)
    calls = len(h.slack.calls)  # the rejection's card, notice and Homes are all sent
    refused = h.post(forged, content_type="application/json", signature="v0=" + "1" * 64)
    assert refused.status_code == 401
    h.wait_until(lambda: h.bot.deps.workers.busy == 0 and h.slack.in_flight == 0)
    assert len(h.slack.calls) == calls
    posted = [call.path for call in h.replies()]
    h.close()  # what shutting down logs is checked too
    output = capsys.readouterr().err
    records = [line for line in output.splitlines() if line and not line[0].isspace()]
    assert records and not any("CRITICAL bot.holds.announce" in line[:60] for line in records)
    assert "MARKERFORGED" not in output
    for path in posted:
        assert path not in output
    for written in ("/webhook/", "%2Fwebhook%2F", "\\/webhook\\/"):
        assert written not in output
