"""App Home publishes are paced per person: 200 ``app_home_opened`` events for one person make a
couple of ``views.publish``, not 200, and the last one shows the latest state."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

from bot.dev.sandbox.seed import STALE_TEST_REF
from bot.home.pacing import PUBLISH_GAP
from tests.e2e.conftest import MakeHarness
from tests.harness import APPROVER, REQUESTER

EVENTS = 200


def test_a_burst_of_home_openings_is_published_a_few_times_and_ends_current(
    make_harness: MakeHarness,
) -> None:
    harness = make_harness(publish_gap=PUBLISH_GAP)  # as in production
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda _: harness.event(harness.requests.home_opened(user=APPROVER)).status_code,
                range(EVENTS),
            )
        )
        request = harness.open_hold(STALE_TEST_REF, user=REQUESTER)  # changes the Home meanwhile
    took = time.monotonic() - started
    assert answers == [200] * EVENTS
    harness.wait_until(lambda: harness.bot.deps.workers.busy == 0, timeout=30)
    harness.wait_until(lambda: harness.bot.deps.home.pacer.busy == 0, timeout=30)  # type: ignore[attr-defined]
    published = [c for c in harness.slack.of("views.publish") if c.body["user_id"] == APPROVER]
    assert 1 <= len(published) <= 2 + took / PUBLISH_GAP, (len(published), took)
    latest = harness.slack.views.home(APPROVER)
    assert latest is not None
    assert f"#{request.id}" in json.dumps(latest.view)  # the latest state won
