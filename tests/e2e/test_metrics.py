"""GET /metrics: Prometheus text, counting what the bot did (commands, clicks, hold requests,
cancels, CartRover calls with their latency, the remaining hits, the work lanes)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from bot.dev.sandbox import STALE_TEST_REF
from bot.slack import ids
from bot.store.records import RequestState
from tests.harness import APPROVER, STRANGER, Harness

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(harness: Harness) -> Samples:
    reply = harness.http.get(f"{harness.bot.url}/metrics")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_hold_lifecycle_is_counted(harness: Harness) -> None:
    """One hold asked, a stranger's refused click, an approval, one cancel: each shows up as the
    change it made to its counter, and the gauges are there."""
    before = scrape(harness)
    request = harness.open_hold(STALE_TEST_REF)
    harness.click(ids.APPROVE_HOLD, request, STRANGER)
    harness.wait_reply(2)
    harness.click(ids.APPROVE_HOLD, request, APPROVER)
    harness.wait_state(request.id, RequestState.DONE)
    harness.wait_until(lambda: harness.bot.deps.workers.busy == 0)
    after = scrape(harness)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("cartrover_bot_commands_total", subcommand="hold") == 1
    assert grew("cartrover_bot_clicks_total", action="approve", outcome="not_approver") == 1
    assert grew("cartrover_bot_clicks_total", action="approve", outcome="decided") == 1
    assert grew("cartrover_bot_hold_requests_total", state="done") == 1
    assert grew("cartrover_bot_cancels_total", outcome="canceled") == 1
    calls = grew("cartrover_bot_cartrover_calls_total", endpoint="cancel_sending", result="ok")
    assert calls == 1
    assert grew("cartrover_bot_cartrover_call_seconds_count", endpoint="cancel_sending") == 1
    assert value(after, "cartrover_bot_cartrover_remaining_hits") > 0
    assert value(after, "cartrover_bot_work_queue_depth", lane="decisions") == 0
    assert ("cartrover_bot_work_running", (("lane", "reads"),)) in after


def test_a_failed_cartrover_call_is_counted_by_its_kind(harness: Harness) -> None:
    """A 503 from CartRover counts as an Unavailable result of that endpoint."""
    before = scrape(harness)
    harness.sandbox.faults.fail_5xx = 1
    harness.command(f"status {STALE_TEST_REF}")
    harness.wait_reply()
    after = scrape(harness)
    failed = [
        key
        for key, count in after.items()
        if key[0] == "cartrover_bot_cartrover_calls_total"
        and ("result", "Unavailable") in key[1]
        and count > before.get(key, 0.0)
    ]
    assert len(failed) == 1


def test_metrics_carry_no_secret_and_no_user_text(harness: Harness) -> None:
    """The exposition holds counts and names, never a token, key or typed text."""
    assert harness.command("status <!channel>").status_code == 200  # refused in the ack
    text = harness.http.get(f"{harness.bot.url}/metrics").text
    for secret in ("xoxb-", "sandbox-key", "<!channel>", harness.settings.database_url):
        assert secret not in text
