"""The server never waits on CartRover (R64): with CartRover taking longer than Slack waits, 24
hold forms submitted at once are all answered within Slack's 3 s, only a few of them hold a
server thread to wait for their check, and a command sent meanwhile is answered at once."""

from __future__ import annotations

import threading
import time

from bot.dev.sandbox.seed import STALE_TEST_REF
from bot.holds.submit import FORM_WAITERS
from bot.slack import ids
from tests.e2e.conftest import MakeHarness
from tests.harness import CHANNEL, REQUESTER

FORMS = 24  # more than serve's 16 server threads


def test_slow_cartrover_neither_fills_the_server_nor_delays_a_command(
    make_harness: MakeHarness,
) -> None:
    harness = make_harness(server_threads=16)  # as serve runs
    for _ in range(FORMS):
        harness.post(harness.requests.shortcut(ids.HOLD_SHORTCUT, user=REQUESTER))
    harness.wait_modal(FORMS)
    views = [modal.id for modal in harness.slack.views.modals()]
    harness.sandbox.faults.latency = 5.0  # every CartRover answer now takes 5 s
    took: dict[str, float] = {}

    def submit(view_id: str) -> None:
        started = time.monotonic()
        values = {ids.ORDERS_FIELD: STALE_TEST_REF, ids.CHANNEL_FIELD: CHANNEL}
        assert harness.submit_view(view_id, REQUESTER, values).status_code == 200
        took[view_id] = time.monotonic() - started

    submitting = [threading.Thread(target=submit, args=(view_id,)) for view_id in views]
    for thread in submitting:
        thread.start()
    time.sleep(0.3)  # the submissions are in
    started = time.monotonic()
    help_answer = harness.command("help")
    help_took = time.monotonic() - started
    for thread in submitting:
        thread.join(10)
    harness.sandbox.faults.latency = 0.0
    assert help_answer.status_code == 200 and "status" in help_answer.text
    assert help_took < 1.0, help_took  # not queued behind the forms
    assert len(took) == FORMS and max(took.values()) < 3.0, sorted(took.values())
    waited = [seconds for seconds in took.values() if seconds >= 1.0]
    assert len(waited) <= FORM_WAITERS, sorted(took.values())
