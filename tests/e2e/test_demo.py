"""``cartrover-bot demo``: the real bot, the sandbox and the local Slack in a terminal chat,
scripted end to end in-process and as a real process."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest

from bot.dev.demo import run_demo, wants_colour
from bot.dev.demo.chat import Chat, parse_duration
from bot.dev.demo.people import People
from bot.dev.demo.world import World
from bot.dev.sandbox import STALE_TEST_REF
from bot.times import FrozenClock
from tests.environment import process_environ
from tests.processes import run_cli

SCRIPT = f"""\
/cartrover status {STALE_TEST_REF}
/cartrover hold {STALE_TEST_REF} test order
/as approver
1
/cartrover status {STALE_TEST_REF}
/digest
"""
# The README's second walk-through: an informed card, its approvers mentioned, an order that
# goes to the WMS while the request waits, and the ending.
FOLLOW_SCRIPT = """\
/cartrover hold TS-1002 TS-1006 SHOP-48201 test orders
/advance 5h
/as approver
3
"""


class Transcript:
    """A chat driven line by line, returning what each line printed."""

    def __init__(self, world: World, *, colour: bool = False) -> None:
        self.out = io.StringIO()
        self.chat = Chat(world, self.out, colour=colour)

    def say(self, line: str) -> str:
        start = len(self.out.getvalue())
        assert self.chat.handle(line)
        return self.out.getvalue()[start:]


@pytest.fixture
def world(clock: FrozenClock) -> Iterator[World]:
    with World.start(clock=clock) as started:
        yield started


def _button(output: str, label: str) -> str:
    found = re.findall(rf"\[(\d+)\] {label}", output)
    assert found, f"no {label} button in:\n{output}"
    return str(found[-1])


def test_a_second_person_approves_a_hold_and_the_sandbox_gets_exactly_one_cancel(
    world: World,
) -> None:
    """Status, hold, a refused self-approval, approval by an approver's button and the digest."""
    chat = Transcript(world)
    status = chat.say(f"/cartrover status {STALE_TEST_REF}")
    assert "cartrover → only you" in status and "New — will be sent" in status
    hold = chat.say(f"/cartrover hold {STALE_TEST_REF} test order")
    assert "cartrover → #demo · message #1" in hold
    assert "[1] Approve  [2] Reject" in hold and "Requested by: @alex" in hold
    assert "posted in #demo" in hold
    approve = _button(hold, "Approve")
    refused = chat.say(approve)
    assert "not an approver" in refused and "(updated)" not in refused
    assert "You are now sam" in chat.say("/as approver")
    approved = chat.say(approve)
    assert f'Slack asks "Stop sending {STALE_TEST_REF} to the WMS?' in approved
    assert "cartrover → #demo · (updated) message #1" in approved
    assert "Approved by @sam" in approved and "sending stopped ✅" in approved
    assert "[1] Approve" not in approved
    told = approved.split("cartrover → #demo · in the thread of message #1\n", 1)[1]
    assert told.startswith("  @alex: hold request #1 is done: sending to the WMS is stopped")
    assert "New — sending canceled" in chat.say(f"/cartrover status {STALE_TEST_REF}")
    digest = chat.say("/digest")
    assert "cartrover → #demo · message #2" in digest and "stale test order" in digest
    assert "TEST-0007" in digest and "TS-1002" in digest and STALE_TEST_REF not in digest
    assert "Request hold for all" in digest
    assert world.book.cancel_count(STALE_TEST_REF) == 1
    assert len(world.sandbox.cancel_requests(STALE_TEST_REF)) == 1
    assert world.sandbox.cancel_requests() == world.sandbox.cancel_requests(STALE_TEST_REF)


def test_the_scripted_demo_runs_as_a_process_ignores_the_environment_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    """``python -m bot demo`` plays piped input, on its own Slack, CartRover and database
    whatever the bot's variables say, ignoring any proxy, and says that the configuration it
    found (malformed here) is not used."""
    temp, cwd = tmp_path / "tmp", tmp_path / "cwd"
    temp.mkdir()
    cwd.mkdir()
    (cwd / ".env").write_text("SLACK_API_URL=http://127.0.0.1:9/\nDATABASE_URL=nonsense\n")
    env = process_environ(
        TMPDIR=str(temp),
        SLACK_BOT_TOKEN="xoxb-not-used",
        CARTROVER_API_URL="http://127.0.0.1:9",
        APPROVERS="UNOBODY1",
        NO_COLOR="1",
        HTTPS_PROXY="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
    )
    result = run_cli(["demo"], env, cwd, input=SCRIPT)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert "alex › /cartrover status TS-1001" in out and "New — will be sent" in out
    assert "[1] Approve  [2] Reject" in out and "sam › 1" in out
    assert "(updated) message #1" in out and "sending stopped" in out
    assert "in the thread of message #1\n  @alex: hold request #1 is done" in out
    assert "Your configuration is not used: invalid configuration: DATABASE_URL" in out
    assert "Digest:" in out and "TEST-0007" in out
    assert "\033[" not in out
    assert list(temp.iterdir()) == [] and sorted(p.name for p in cwd.iterdir()) == [".env"]


def test_the_readme_walks_a_newcomer_through_the_scripted_demo() -> None:
    """The README's demo walk-through is the script the tests play, buttons numbered alike."""
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    for line in SCRIPT.splitlines():
        assert f"`{line}`" in readme, line
    assert "type `1`, the Approve button's number" in readme


def test_end_of_input_and_quit_end_the_chat_with_exit_code_0(world: World) -> None:
    """The chat ends at /quit (ignoring what follows) and at the end of input, returning 0."""
    out = io.StringIO()
    chat = Chat(world, out)
    assert chat.run(io.StringIO("/whoami\n/quit\n/cartrover help\n")) == 0
    assert "alex › /quit" in out.getvalue() and "How to use" not in out.getvalue()
    assert chat.run(io.StringIO("")) == 0


def test_the_demo_refuses_to_start_when_bolt_would_switch_to_oauth(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With SLACK_CLIENT_ID and SLACK_CLIENT_SECRET set the demo says to unset them and exits 2."""
    monkeypatch.setenv("SLACK_CLIENT_ID", "1.2")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret-x")
    assert run_demo(io.StringIO("/cartrover help\n"), io.StringIO()) == 2
    error = capsys.readouterr().err
    assert "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET" in error and "client-secret-x" not in error


def test_closing_the_world_removes_its_temporary_directory(clock: FrozenClock) -> None:
    """The throw-away database lives in a temporary directory that close() removes."""
    world = World.start(clock=clock)
    directory = world.directory
    assert (directory / "demo.db").exists()
    world.close()
    assert not directory.exists()
    world.close()


def test_requests_are_signed_with_a_secret_made_up_for_the_run(world: World) -> None:
    """The bot verifies signatures as in production: a request signed otherwise gets 401."""
    body = urlencode({"command": "/cartrover", "text": "help", "user_id": "U0ALEX001"})
    assert world.dispatch(body).status == 200
    headers: dict[str, str | list[str]] = {
        "x-slack-request-timestamp": "1700000000",
        "x-slack-signature": "v0=" + "0" * 64,
    }
    from bot.runners.http.wsgi import bolt_request

    assert world.app.dispatch(bolt_request(body, dict(headers))).status == 401
    secret = world.deps.settings.slack_signing_secret
    assert secret is not None and len(secret.get_secret_value()) == 32


def test_advancing_the_clock_sends_orders_to_the_wms_and_expires_requests(world: World) -> None:
    """/advance moves the shared clock: unheld New orders go to the WMS, and a request whose
    orders all moved on ends itself, telling its requester."""
    chat = Transcript(world)
    chat.say("/cartrover hold TS-1004")
    advanced = chat.say("/advance 1d 1h")
    assert "moved on 1d 1h" in advanced and "TS-1004" in advanced
    assert "CartRover sent 13 orders to the WMS" in advanced and "(s)" not in advanced
    assert "(updated) message #1" in advanced and "every order had moved on" in advanced
    assert "@alex: hold request #1 ended with nothing stopped" in advanced
    assert "At WMS" in chat.say("/cartrover status TS-1004")
    assert world.book.total_cancels() == 0


def test_the_daily_digest_posts_itself_once_the_clock_passes_its_time(world: World) -> None:
    """Past DIGEST_TIME on the next day the scheduled digest appears in #demo, once."""
    chat = Transcript(world)
    first = chat.say("/advance 1d")
    assert "Daily digest" in first and "message #1" in first
    assert "Daily digest" not in chat.say("/advance 1h")


def test_advancing_a_day_from_before_the_digest_time_posts_that_day_s_digest() -> None:
    """From 04:00, `/advance 1d` crosses 09:00: the scheduler would have posted the digest then,
    so the demo does; two days cross it twice."""
    with World.start(clock=FrozenClock(datetime(2026, 3, 2, 4, 0, tzinfo=UTC))) as world:
        chat = Transcript(world)
        first = chat.say("/advance 1d")
        assert first.count("Daily digest:") == 1 and "message #1" in first
        assert chat.say("/advance 2d").count("Daily digest:") == 2
        assert "Sandbox clock: Thu 5 Mar 2026 04:00 UTC" in chat.say("/time")


def test_an_ephemeral_button_works_for_its_recipient_only(world: World) -> None:
    """The ephemeral "Request hold for all" opens a request for its recipient, no one else."""
    chat = Transcript(world)
    stale = chat.say("/cartrover stale")
    assert "cartrover → only you" in stale
    button = _button(stale, r"Request hold for all \d+")
    chat.say("/as lee")
    assert "only its recipient" in chat.say(f"/press {button}")
    chat.say("/as alex")
    request = chat.say(button)
    assert (
        "Hold request" in request
        and "message #1" in request
        and "with “Request hold for all”" in request
    )


def test_a_replaced_message_s_buttons_no_longer_work(world: World) -> None:
    """After the request is rejected its old buttons are gone; unknown numbers are refused."""
    chat = Transcript(world)
    hold = chat.say(f"/cartrover hold {STALE_TEST_REF}")
    form = chat.say(_button(hold, "Reject"))
    assert "[Withdraw hold request]" in form and "Reason (optional)" in form
    withdrawn = chat.say("")  # no reason
    assert "(updated) message #1" in withdrawn and "Withdrawn" in withdrawn
    assert "is gone: message #1" in chat.say(_button(hold, "Approve"))
    assert "There is no button [99]" in chat.say("/press 99")
    assert world.book.total_cancels() == 0


def test_the_demo_s_own_commands_answer_and_anything_else_gets_a_hint(world: World) -> None:
    """/help, /whoami, /time and /as answer; unknown commands and plain text get a hint."""
    chat = Transcript(world)
    assert "/advance <time>" in chat.say("/help")
    assert "You are alex" in chat.say("/whoami")
    assert "Mon 2 Mar 2026 12:00 UTC" in chat.say("/time")
    assert "dana (U0DANA" in chat.say("/as dana") and "not an approver" in chat.say("/whoami")
    assert "Unknown command /nope" in chat.say("/nope")
    assert "listens to /cartrover only" in chat.say("hello")
    assert "Usage: /advance" in chat.say("/advance soon")


def test_colour_is_used_only_when_asked_and_never_with_no_color() -> None:
    """Colour needs a terminal and no NO_COLOR; the chat writes no escape codes without it."""

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert wants_colour(Tty(), {}) is True
    assert wants_colour(Tty(), {"NO_COLOR": ""}) is False
    assert wants_colour(Tty(), {"TERM": "dumb"}) is False
    assert wants_colour(io.StringIO(), {}) is False


def test_colour_output_marks_buttons_and_plain_output_has_no_escape_codes(world: World) -> None:
    """With colour the Approve button is green; without colour no escape code is written."""
    coloured = Transcript(world, colour=True).say(f"/cartrover hold {STALE_TEST_REF}")
    assert "\033[1;32m[1] Approve\033[0m" in coloured
    plain = Transcript(world).say("/cartrover help")
    assert "\033[" not in plain


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(minutes=90)),
        ("2 h", timedelta(hours=2)),
        ("", None),
        ("0m", None),
        ("90", None),
        ("2x", None),
        ("-1h", None),
        ("400d", None),
    ],
)
def test_durations_for_advance(text: str, expected: timedelta | None) -> None:
    """/advance takes m, h and d amounts, combined, up to a year; anything else is refused."""
    assert parse_duration(text) == expected


def test_people_are_found_by_name_role_or_id_and_new_names_are_not_approvers() -> None:
    """Roles and ids find the predefined people; a new name joins as a non-approver."""
    people = People()
    assert people.find("approver") == people.find("SAM") == people.find("@U0SAM0001")
    assert people.find("requester") == people.first
    assert people.approver_ids() == "U0SAM0001,U0KIM0001"
    newcomer = people.find_or_add("Dana")
    assert newcomer is not None and not newcomer.approver and people.find("dana") == newcomer
    assert people.find_or_add("not a name!") is None
    assert people.named("by @U0SAM0001 in #C0DEMO001") == "by @sam in #demo"


def test_home_shows_the_app_home_and_an_approver_decides_there(world: World) -> None:
    """/home prints the App Home as text with numbered buttons; an approver's Approve there
    replaces the card and refreshes the Home."""
    chat = Transcript(world)
    chat.say(f"/cartrover hold {STALE_TEST_REF} test order")
    mine = chat.say("/home")
    assert "cartrover → your App Home" in mine and "Your recent requests" in mine
    assert "waiting for an approver" in mine and "Approve" not in mine
    chat.say("/as approver")
    home = chat.say("/home")
    assert "1 you may decide" in home and "Health:" in home
    assert "no run recorded" not in home  # the demo's scheduler ran its maintenance at start
    approved = chat.say(_button(home, "Approve"))
    assert "(updated) message #1" in approved and "Approved by @sam" in approved
    assert "Open hold requests (0)" in approved  # the Home, re-published
    assert world.book.cancel_count(STALE_TEST_REF) == 1


def test_the_message_shortcut_s_form_is_filled_in_field_by_field(world: World) -> None:
    """/shortcut message finds the orders; each field is asked in turn, an order that is not New
    comes back on its field, and the corrected form opens the request."""
    chat = Transcript(world)
    form = chat.say(f"/shortcut message please hold {STALE_TEST_REF} and TS-9999 today")
    assert "a form" in form and f"Orders: {STALE_TEST_REF} TS-9999" in form
    assert chat.chat.prompt().startswith(f"  Orders [{STALE_TEST_REF} TS-9999] ›")
    assert chat.say("") == ""  # keep the orders
    assert chat.say("test orders") == ""
    refused = chat.say("#demo")
    assert "⚠ Not requested, because TS-9999" in refused and "Fix the fields" in refused
    assert "/cancel" in chat.say("/as approver")  # a form is open: lines answer it
    done = chat.say(STALE_TEST_REF)
    assert "cartrover → #demo · message #1" in done and "is posted in #demo" in done
    assert "Reason: `test orders`" in done


def test_the_hold_command_alone_and_the_global_shortcut_open_the_form(world: World) -> None:
    """/cartrover hold with no order and /shortcut hold both open the hold form; /cancel
    closes it without a request."""
    chat = Transcript(world)
    assert "[Hold test orders]" in chat.say("/cartrover hold")
    assert "closed" in chat.say("/cancel")
    form = chat.say("/shortcut hold")
    assert "▸ Channel to post the request in: —" in form
    chat.say(STALE_TEST_REF)
    chat.say("")
    assert "Choose a channel" in chat.say("")
    assert "is posted in #demo" in chat.say("#demo")


def test_a_request_follows_its_orders_in_the_demo(world: World) -> None:
    """The README's second walk-through: the card informs (a real order marked "⚠ not a test
    order") and mentions the approvers; `/advance 5h` sends two of its orders to the WMS and
    the card says so; approved, it stops the third and tells alex which got through."""
    chat = Transcript(world)
    lines = FOLLOW_SCRIPT.splitlines()
    card = chat.say(lines[0])
    assert "#1 · Hold request: stop sending to the WMS?" in card
    assert "⚠ 1 of 3 orders is not a test order — check before approving." in card
    assert "`SHOP-48201` — ⚠ not a test order · Shopify · created" in card
    assert "ships to San Antonio, TX · 3 units" in card and "Approvers: @sam and @kim" in card
    moved = chat.say(lines[1])
    assert "(updated) message #1" in moved
    assert "`SHOP-48201` went to the WMS — cancel it there" in moved
    assert "`TS-1002` went to the WMS — cancel it there" in moved
    assert "[3] Approve  [4] Reject" in moved
    chat.say(lines[2])
    ended = chat.say(lines[3])
    assert 'Slack asks "Stop sending TS-1006 to the WMS?' in ended
    assert "#1 · Hold request done: sending stopped" in ended
    told = ended.split("in the thread of message #1\n", 1)[1]
    assert told.startswith("  @alex: hold request #1 is done: sending to the WMS is stopped for")
    assert "`TS-1002` went to the WMS — cancel it there" in told
    assert world.book.cancel_count("TS-1006") == 1 and world.book.total_cancels() == 1


def test_the_readme_walks_through_a_request_that_follows_its_orders() -> None:
    """The README shows the second script as it is played."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    script = FOLLOW_SCRIPT.replace("\n", "\\n")
    assert f"printf '{script}' | .venv/bin/cartrover-bot demo" in readme
