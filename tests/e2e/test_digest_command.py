"""`cartrover-bot digest [--channel C] [--dry-run]` against the sandbox and the fake Slack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.dev.loopback.slack import GOOD_TOKEN, LocalSlack
from bot.dev.sandbox import (
    SANDBOX_API_KEY,
    SANDBOX_API_USER,
    OrderBook,
    SandboxServer,
    generate_orders,
)
from bot.store import open_store
from bot.store.records import DigestSubscription
from bot.times import SystemClock


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(OrderBook.seeded(SystemClock())) as server:
        yield server


@pytest.fixture
def cartrover_env(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> None:
    monkeypatch.setenv("CARTROVER_API_URL", sandbox.url)
    monkeypatch.setenv("CARTROVER_API_USER", SANDBOX_API_USER)
    monkeypatch.setenv("CARTROVER_API_KEY", SANDBOX_API_KEY)
    monkeypatch.setenv("TEST_ORDER_SOURCES", "Test Store")
    monkeypatch.setenv("TEST_ORDER_PATTERN", "^TEST-")


# The commands configure logging for the process: it is put back after each test.
pytestmark = pytest.mark.usefixtures("logging_state")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["digest", *args])
    return result.exit_code, result.output


@pytest.mark.usefixtures("cartrover_env")
def test_a_dry_run_prints_every_stale_order_in_plain_text(sandbox: SandboxServer) -> None:
    """300 more stale test orders than Slack's message can list: the terminal gets the message
    as Slack would show it, then every order; no mrkdwn markers or emoji codes."""
    extra = generate_orders(300, now=SystemClock().now(), prefix="BULK-")
    sandbox.book.add_many(extra)
    code, output = run("--dry-run")
    assert code == 0, output
    assert "…and " in output and "more, newer than those listed" in output
    listing = output.split("Every stale test order (307), oldest first:\n", 1)[1]
    for record in extra:
        assert f"`{record['cust_ref']}` · " in listing
    assert ":warning:" not in output and ":white_check_mark:" not in output
    assert "*" not in output.replace("`", "")


@pytest.mark.usefixtures("cartrover_env")
def test_a_dry_run_without_a_test_order_rule_says_how_to_set_one(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No "✅ No stale New test orders" beside stale orders it could not classify."""
    monkeypatch.delenv("TEST_ORDER_SOURCES")
    monkeypatch.delenv("TEST_ORDER_PATTERN")
    code, output = run("--dry-run")
    assert code == 0, output
    assert "Digest: no test-order rule is set" in output
    assert "No stale New test orders" not in output
    assert "TEST_ORDER_SOURCES" in output and "TEST_ORDER_PATTERN" in output
    assert "9 stale New orders are waiting to be sent" in output


@pytest.mark.usefixtures("cartrover_env")
def test_dry_run_prints_the_digest_and_needs_only_cartrover(sandbox: SandboxServer) -> None:
    """--dry-run prints readable text, posts nothing and touches no database."""
    code, output = run("--dry-run")
    assert code == 0, output
    assert "Digest: 7 stale test orders" in output
    assert "`TEST-0007` · 3d 8h old · Shopify · (cust_ref matches ^TEST-)" in output
    assert "2 stale New orders are not test orders" in output
    assert "dry run: nothing posted; 1 CartRover listing call" in output
    assert not Path("cartrover-bot.db").exists()
    assert [r.route for r in sandbox.requests] == ["M1"]


@pytest.mark.usefixtures("cartrover_env")
def test_posting_without_a_slack_token_names_the_variable() -> None:
    """Without --dry-run the command stops at once, naming SLACK_BOT_TOKEN."""
    code, output = run("--channel", "C0DIGEST1")
    assert code == 2 and "SLACK_BOT_TOKEN" in output


def test_dry_run_without_cartrover_settings_names_them() -> None:
    """Even a dry run needs the CartRover credentials, and says which."""
    code, output = run("--dry-run")
    assert code == 2 and "CARTROVER_API_USER" in output


@pytest.mark.usefixtures("cartrover_env")
def test_posts_once_built_to_every_subscribed_channel(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sandbox: SandboxServer
) -> None:
    """One listing feeds a post to each subscription and DIGEST_CHANNEL, each with its snapshot."""
    database = f"sqlite:///{tmp_path / 'bot.db'}"
    store = open_store(database)
    for channel in ("C0DIGEST1", "C0DIGEST2"):
        store.subscribe(DigestSubscription(channel, "09:00", "UTC"))
    with LocalSlack() as slack:
        for name, value in {
            "SLACK_BOT_TOKEN": GOOD_TOKEN,
            "SLACK_API_URL": slack.url,
            "DATABASE_URL": database,
            "DIGEST_CHANNEL": "C0DIGEST3",
        }.items():
            monkeypatch.setenv(name, value)
        code, output = run()
        posts = slack.of("chat.postMessage")
    assert code == 0, output
    assert [p.body["channel"] for p in posts] == ["C0DIGEST1", "C0DIGEST2", "C0DIGEST3"]
    assert [r.route for r in sandbox.requests] == ["M1"]
    values = {
        e["value"]
        for p in posts
        for b in p.body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }
    assert len(values) == 3
    assert all(store.snapshot(int(v)) for v in values)
    store.close()


def test_a_channel_that_is_not_an_id_is_refused() -> None:
    """--channel takes a channel id, not a name."""
    code, output = run("--channel", "#ops", "--dry-run")
    assert code == 2 and "not a channel id" in output
