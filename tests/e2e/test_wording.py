"""The words a new user meets, end to end through signed requests (and the command line):
counted nouns without "(s)", one way to say an age, the configured time zone, the requester
addressed once, "hold request" and "stop sending" beside CartRover's own "on hold", the audit
trail in words, a reference's case and backticks, help that shows every surface, whole command
descriptions, a quiet dry run, a ``check`` that goes on and knows Heroku, and a demo that honours
(or names) the operator's settings."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.dev.demo import run_demo
from bot.dev.sandbox import CANCELED_REF, STALE_TEST_REF, TEST_PO_ONLY_REF
from bot.slack import ids
from bot.store.records import RequestState
from bot.times import FrozenClock
from tests.e2e.conftest import MakeHarness
from tests.e2e.test_digest_in_slack import TEST_ENV
from tests.environment import process_environ
from tests.harness import APPROVER, CHANNEL, REQUESTER, Harness
from tests.processes import run_cli


@pytest.fixture
def harness_env() -> dict[str, str]:
    return TEST_ENV


# The commands configure logging for the process: it is put back after each test.
pytestmark = pytest.mark.usefixtures("logging_state")


def reply(harness: Harness, count: int) -> str:
    return json.dumps(harness.wait_reply(count).body, ensure_ascii=False)


def test_counted_nouns_agree_with_their_number(harness: Harness) -> None:
    """ "1 order reference", "1 order can be held": never "(s)"."""
    body = harness.requests.message_shortcut(
        ids.HOLD_MESSAGE_SHORTCUT, user=REQUESTER, channel=CHANNEL, text=f"hold {STALE_TEST_REF}"
    )
    assert harness.post(body).status_code == 200
    form = harness.wait_modal(1)
    assert "Filled in from the message: 1 order reference." in json.dumps(form.view)
    values = {ids.ORDERS_FIELD: STALE_TEST_REF, ids.CHANNEL_FIELD: CHANNEL}
    answer = json.dumps(harness.submit_view(form.id, REQUESTER, values).json())
    assert "1 order can be held" in answer and "(s)" not in answer


def test_ages_are_said_one_way(harness: Harness) -> None:
    """Days from 24 hours on, in every list (no "45h" beside "2d 2h"); "just now", never "0 s"."""
    assert harness.command("stale").status_code == 200
    stale = reply(harness, 1)
    assert f"`{TEST_PO_ONLY_REF}` · PO `TEST-48190` · 1d 21h old" in stale
    assert "2d 2h old" in stale and "45h" not in stale
    assert harness.command(f"status {STALE_TEST_REF}").status_code == 200
    assert "(3d ago)" in reply(harness, 2)
    home = json.dumps(harness.open_home(APPROVER).view, ensure_ascii=False)
    assert "answered just now" in home and " s ago" not in home


def test_times_are_written_in_the_configured_zone(
    make_harness: MakeHarness, tmp_path: Path
) -> None:
    """With TIMEZONE=Europe/Berlin every time a reader may see as text says Europe/Berlin."""
    harness = make_harness(TIMEZONE="Europe/Berlin", **TEST_ENV)
    request = harness.open_hold(STALE_TEST_REF)
    card = json.dumps(harness.slack.of("chat.postMessage")[0].body["blocks"])
    assert "Europe/Berlin" in card and " UTC" not in card
    assert harness.command(f"history {STALE_TEST_REF}").status_code == 200
    history = reply(harness, 2)
    assert "Europe/Berlin" in history and " UTC" not in history
    assert request.id == 1
    assert harness.command("digest subscribe 08:30").status_code == 200
    harness.wait_reply(3)
    assert harness.command("digest now").status_code == 200
    harness.wait_until(lambda: bool(harness.bot.store.last_digests()))
    home = json.dumps(harness.open_home(APPROVER).view, ensure_ascii=False)
    line = next(part for part in home.split("\\n") if "at 08:30 Europe/Berlin" in part)
    assert "Europe/Berlin>" in line and "UTC" not in line


def test_a_canceled_order_is_not_called_too_late(harness: Harness) -> None:
    """Holding an order canceled in CartRover says it will not be sent, not "too late"."""
    assert harness.command(f"hold {CANCELED_REF}").status_code == 200
    told = reply(harness, 1)
    assert f"`{CANCELED_REF}` was canceled in CartRover — nothing will be sent" in told
    assert "too late" not in told


def test_history_tells_the_cancel_s_answer_in_words(harness: Harness) -> None:
    """The audit trail keeps CartRover's answer as received; `history` says it in words."""
    request = harness.open_hold(STALE_TEST_REF)
    harness.click(ids.APPROVE_HOLD, request, APPROVER)
    harness.wait_state(request.id, RequestState.DONE)
    assert harness.command(f"history {STALE_TEST_REF}").status_code == 200
    history = reply(harness, 2)
    assert "CartRover's answer to the cancel" in history
    assert "CartRover accepted it (HTTP 200)" in history and "success_code" not in history
    kept = [
        e for e in harness.bot.store.audit_for_order(STALE_TEST_REF) if e.event == "cancel_answer"
    ]
    assert "success_code" in kept[0].detail


def test_references_errors_and_zones_read_as_typed(harness: Harness) -> None:
    """A pasted `TS-1001` in backticks is read; an error's example is the demo's own TS-1001;
    a zone typed in lower case is found."""
    assert harness.command(f"status `{STALE_TEST_REF}`").status_code == 200
    assert "New — will be sent" in reply(harness, 1)
    usage = harness.command("history")  # a usage error is the ack itself
    assert "for example: history TS-1001" in json.dumps(usage.json())
    assert harness.command("digest subscribe 08:30 europe/berlin").status_code == 200
    assert "*08:30* Europe/Berlin" in reply(harness, 2)


def test_help_shows_the_app_home_the_shortcuts_and_the_form(harness: Harness) -> None:
    """`/cartrover help` names every way into the bot, and how `hold` reads its orders."""
    response = harness.command("help")
    text = json.dumps(response.json(), ensure_ascii=False)
    for words in ("App Home", "Hold test orders", "Hold orders in message", "hold form"):
        assert words in text
    assert "the reason starts at the first word without a digit" in text


def test_the_command_line_help_gives_whole_descriptions() -> None:
    """`cartrover-bot --help` lists every command with a description that is not cut short."""
    output = CliRunner().invoke(main, ["--help"]).output
    commands = output.split("Commands:", 1)[1].strip().splitlines()
    assert len(commands) >= 7 and not any(line.rstrip().endswith("...") for line in commands)


def test_a_dry_run_prints_the_digest_first_in_the_configured_zone(
    tmp_path: Path, harness: Harness
) -> None:
    """`cartrover-bot digest --dry-run` starts with the digest (no log line first) and writes its
    times in TIMEZONE."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = process_environ(**harness.world.environment(), **TEST_ENV, TIMEZONE="Europe/Berlin")
    result = run_cli(["digest", "--dry-run"], env, cwd)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Digest: ") and result.stderr == ""
    assert "Europe/Berlin" in result.stdout and " UTC" not in result.stdout


def test_check_names_every_malformed_approver_and_refuses_sqlite_on_heroku(
    tmp_path: Path, harness: Harness
) -> None:
    """`check` says "alice and bob are not Slack user ids", and on a Heroku dyno (DYNO set)
    that SQLite will not do."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {
        **harness.world.environment(),
        "PATH": "/usr/bin:/bin",
        "APPROVERS": "alice,bob",
        "DYNO": "web.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'heroku.db'}",
    }
    result = run_cli(["check"], env, cwd)
    assert result.returncode == 1
    assert "APPROVERS: alice and bob are not Slack user ids" in result.stdout
    assert "PostgreSQL is required there" in result.stdout
    assert "heroku addons:create heroku-postgresql" in result.stdout


def test_the_demo_honours_behaviour_settings_and_names_the_rest(
    monkeypatch: pytest.MonkeyPatch, clock: FrozenClock
) -> None:
    """HOLD_REQUEST_TTL_HOURS set by the operator is used (the card expires in 2 hours) and
    said; SLACK_BOT_TOKEN and DATABASE_URL, which the demo replaces, are named as not used."""
    monkeypatch.setenv("HOLD_REQUEST_TTL_HOURS", "2")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-not-used")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///nowhere.db")
    out = io.StringIO()
    script = io.StringIO(f"/cartrover hold {STALE_TEST_REF} test order\n/advance 3h\n")
    assert run_demo(script, out, clock=clock, colour=False) == 0
    text = out.getvalue()
    assert "Your settings used here: HOLD_REQUEST_TTL_HOURS=2." in text
    assert "Set but not used" in text and "DATABASE_URL, SLACK_BOT_TOKEN" in text
    assert "(in 2h)" in text and "expired — nobody approved it within 2 hours" in text
