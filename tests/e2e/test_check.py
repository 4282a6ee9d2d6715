"""``cartrover-bot check`` against the CartRover sandbox and the local Slack: a table of what works,
the fix for what does not, exit code 0 only if all pass, and never a secret in the output."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.dev.loopback.slack import BOT_USER, GOOD_TOKEN, Failure, LocalSlack
from bot.dev.loopback.world import LoopbackWorld
from bot.dev.sandbox import (
    SANDBOX_API_USER,
    SANDBOX_CANCEL_API_KEY,
    SANDBOX_CANCEL_API_USER,
    SandboxServer,
)
from bot.runners.check import check_all
from bot.runners.check_table import Status
from bot.store import DigestSubscription, open_store
from tests.environment import process_environ
from tests.processes import free_port, run_cli

API_KEY = "sandbox-check-key-4f1e9a"
SIGNING_SECRET = "check-signing-secret-77b1c0d2e3"
CANCEL_KEY = "cart-level-cancel-key-5d2f"
WRONG_KEY = "cartrover-wrong-key-9c1d"
WRONG_TOKEN = "xoxb-wrong-token-3e8a"


@pytest.fixture
def world() -> Iterator[tuple[LocalSlack, SandboxServer]]:
    with LoopbackWorld(api_key=API_KEY) as world:
        world.slack.groups["S0APPROVERS"] = ["U0GROUPIE1", "U0GROUPIE2"]  # APPROVERS below
        yield world.slack, world.sandbox


def _values(
    tmp_path: Path, slack: LocalSlack, sandbox: SandboxServer, **extra: str
) -> dict[str, str]:
    values = {
        "SLACK_BOT_TOKEN": GOOD_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url,
        "CARTROVER_API_URL": sandbox.url,
        "CARTROVER_API_USER": SANDBOX_API_USER,
        "CARTROVER_API_KEY": API_KEY,
        "CARTROVER_CANCEL_API_USER": SANDBOX_CANCEL_API_USER,
        "CARTROVER_CANCEL_API_KEY": SANDBOX_CANCEL_API_KEY,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "APPROVERS": "U0APPROVE1,S0APPROVERS",
    }
    values.update(extra)
    return values


def _run(tmp_path: Path, values: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m bot check`` with exactly these variables (none of the developer's)."""
    env = process_environ(**values)
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    return run_cli(["check", *args], env, cwd)


def _row(output: str, what: str) -> str:
    """The table line for ``what`` plus its fix line, if any."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line[8:].startswith(what):
            following = lines[i + 1] if i + 1 < len(lines) else ""
            fix = following if following.lstrip().startswith(("fix:", "note:")) else ""
            return line + "\n" + fix
    raise AssertionError(f"no row {what!r} in:\n{output}")


def _no_secrets(result: subprocess.CompletedProcess[str]) -> None:
    everything = result.stdout + result.stderr
    for secret in (GOOD_TOKEN, API_KEY, SIGNING_SECRET, CANCEL_KEY, WRONG_TOKEN, WRONG_KEY):
        assert secret not in everything
    assert "Traceback" not in everything


def test_a_working_setup_passes_every_check_and_exits_0(
    tmp_path: Path, world: tuple[LocalSlack, SandboxServer]
) -> None:
    """With good credentials every row is ok, the exit code is 0 and no secret is printed."""
    slack, sandbox = world
    (tmp_path / "bot.db").touch()
    result = _run(tmp_path, _values(tmp_path, slack, sandbox))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All checks passed." in result.stdout
    assert _row(result.stdout, "Slack ").startswith("  ok")
    assert "commands, chat:write, im:write, usergroups:read" in _row(result.stdout, "Slack scopes")
    assert "listed New orders" in _row(result.stdout, "CartRover")
    assert _row(result.stdout, "database").startswith("  ok")
    socket_row = _row(result.stdout, "socket")
    assert socket_row.startswith("  skip") and "this setup runs `serve`" in socket_row
    _no_secrets(result)
    assert [r.route for r in sandbox.requests] == ["M1", "C4"]  # the list call, the key probe
    assert len(slack.of("auth.test")) == 1


def test_a_wrong_slack_token_fails_with_invalid_auth_and_the_fix(
    tmp_path: Path, world: tuple[LocalSlack, SandboxServer]
) -> None:
    """A token Slack refuses gives a failed Slack row naming invalid_auth and where to copy it."""
    slack, sandbox = world
    result = _run(tmp_path, _values(tmp_path, slack, sandbox, SLACK_BOT_TOKEN=WRONG_TOKEN))
    assert result.returncode == 1
    row = _row(result.stdout, "Slack ")
    assert row.startswith("  FAIL") and "invalid_auth" in row
    assert "fix:" in row and "Bot User OAuth Token" in row and "SLACK_BOT_TOKEN" in row
    assert _row(result.stdout, "CartRover").startswith("  ok")
    _no_secrets(result)


def test_a_wrong_cartrover_key_fails_and_names_merchant_api_keys(
    tmp_path: Path, world: tuple[LocalSlack, SandboxServer]
) -> None:
    """A refused CartRover key gives a failed row that says which keys to use and where."""
    slack, sandbox = world
    result = _run(tmp_path, _values(tmp_path, slack, sandbox, CARTROVER_API_KEY=WRONG_KEY))
    assert result.returncode == 1
    row = _row(result.stdout, "CartRover")
    assert row.startswith("  FAIL") and "CartRover refused the API key" in row
    assert "Merchant API Keys (Merchants → your merchant → Merchant API Keys" in row
    _no_secrets(result)


def test_an_unreachable_cartrover_url_fails_and_points_at_the_url_variable(
    tmp_path: Path, world: tuple[LocalSlack, SandboxServer]
) -> None:
    """Nothing listening at CARTROVER_API_URL gives a failed row that names the variable."""
    slack, sandbox = world
    url = f"http://127.0.0.1:{free_port()}"
    result = _run(tmp_path, _values(tmp_path, slack, sandbox, CARTROVER_API_URL=url))
    assert result.returncode == 1
    row = _row(result.stdout, "CartRover")
    assert row.startswith("  FAIL") and f"could not reach CartRover at {url}" in row
    assert "CARTROVER_API_URL" in row
    _no_secrets(result)


def test_a_malformed_variable_is_a_failed_row_naming_it_not_a_traceback(
    tmp_path: Path, world: tuple[LocalSlack, SandboxServer]
) -> None:
    """A malformed value is reported as the configuration row, naming the variable, exit 1; the
    rest is still checked, with that variable at its default, and the table says so."""
    slack, sandbox = world
    values = _values(tmp_path, slack, sandbox, HOLD_REQUEST_TTL_HOURS="soon", TIMEZONE="Mars/Base")
    result = _run(tmp_path, values)
    assert result.returncode == 1
    row = _row(result.stdout, "configuration")
    assert row.startswith("  FAIL") and "HOLD_REQUEST_TTL_HOURS" in row and "TIMEZONE" in row
    rest = _row(result.stdout, "the rest")
    assert "checked with HOLD_REQUEST_TTL_HOURS, TIMEZONE at their defaults" in rest
    assert _row(result.stdout, "Slack").startswith("  ok")
    assert _row(result.stdout, "CartRover").startswith("  ok")
    assert result.stderr == ""
    assert slack.of("auth.test") and sandbox.requests
    _no_secrets(result)


def test_missing_scopes_fail_and_usergroups_read_is_needed_only_for_groups(
    tmp_path: Path, world: tuple[LocalSlack, SandboxServer]
) -> None:
    """The scopes row lists what auth.test's header lacks; usergroups:read only with S… groups."""
    slack, sandbox = world
    slack.scopes = "commands"
    rows, _ = check_all(_values(tmp_path, slack, sandbox))
    (scopes,) = [r for r in rows if r.what == "Slack scopes"]
    missing = "missing: chat:write, im:write, usergroups:read"
    assert scopes.status is Status.FAIL and scopes.detail == missing
    assert "reinstall" in scopes.fix
    slack.scopes = "commands,chat:write,im:write"
    rows, _ = check_all(_values(tmp_path, slack, sandbox, APPROVERS="U0APPROVE1"))
    (scopes,) = [r for r in rows if r.what == "Slack scopes"]
    assert scopes.status is Status.OK


def test_the_mode_is_inferred_from_the_secret_set_and_neither_is_one_failure(
    tmp_path: Path, world: tuple[LocalSlack, SandboxServer]
) -> None:
    """Only SLACK_APP_TOKEN set: this is a `socket` setup, and the missing signing secret is no
    problem. Neither set: one failure, not two."""
    slack, sandbox = world
    values = _values(tmp_path, slack, sandbox)
    values.pop("SLACK_SIGNING_SECRET")
    rows, _ = check_all({**values, "SLACK_APP_TOKEN": "xapp-1-abc"})
    statuses = {r.what: r.status for r in rows}
    assert statuses["serve (HTTP)"] is Status.SKIP
    assert statuses["socket (Socket Mode)"] is Status.OK
    assert Status.FAIL not in statuses.values()
    rows, _ = check_all(values)
    failed = [r for r in rows if r.status is Status.FAIL]
    assert [r.what for r in failed] == ["Slack mode"]
    assert "SLACK_SIGNING_SECRET" in failed[0].detail and "SLACK_APP_TOKEN" in failed[0].detail
    assert "--mode clock" in failed[0].fix


@pytest.mark.parametrize(
    ("mode", "present", "fails"),
    [
        ("serve", {}, "serve (HTTP)"),
        ("socket", {"SLACK_SIGNING_SECRET": SIGNING_SECRET}, "socket (Socket Mode)"),
        ("clock", {}, None),
    ],
)
def test_check_mode_asks_for_that_mode_s_secret_only(
    tmp_path: Path,
    world: tuple[LocalSlack, SandboxServer],
    mode: str,
    present: dict[str, str],
    fails: str | None,
) -> None:
    """`check --mode socket` fails without SLACK_APP_TOKEN whatever else is set; `--mode clock`
    needs neither."""
    slack, sandbox = world
    values = _values(tmp_path, slack, sandbox)
    values.pop("SLACK_SIGNING_SECRET")
    rows, _ = check_all({**values, **present}, mode=mode)
    assert [r.what for r in rows if r.status is Status.FAIL] == ([fails] if fails else [])
    modes = {"serve (HTTP)", "socket (Socket Mode)", "clock", "Slack mode"}
    assert len([r for r in rows if r.what in modes]) == 1


def test_check_mode_runs_from_the_command_line(
    tmp_path: Path, world: tuple[LocalSlack, SandboxServer]
) -> None:
    slack, sandbox = world
    values = _values(tmp_path, slack, sandbox)
    values.pop("SLACK_SIGNING_SECRET")
    result = _run(tmp_path, values, "--mode", "clock")
    assert result.returncode == 0, result.stdout
    assert _row(result.stdout, "clock").startswith("  ok")


def test_an_unreachable_slack_says_why(
    tmp_path: Path, world: tuple[LocalSlack, SandboxServer]
) -> None:
    """Not "URLError": the connection was refused, at which address; and no slack_sdk error
    lines after the table."""
    slack, sandbox = world
    url = f"http://127.0.0.1:{free_port()}/api/"
    result = _run(tmp_path, _values(tmp_path, slack, sandbox, SLACK_API_URL=url))
    row = _row(result.stdout, "Slack ")
    assert row.startswith("  FAIL")
    assert f"could not reach Slack at {url.removesuffix('/api/')}: connection refused" in row
    assert "URLError" not in row and result.stderr == ""


@pytest.mark.parametrize("variable", ["DIGEST_CHANNEL", "APPROVAL_CHANNEL"])
def test_a_channel_the_bot_is_not_in_fails_with_the_invite(
    tmp_path: Path, world: tuple[LocalSlack, SandboxServer], variable: str
) -> None:
    """Slack refuses an ephemeral to the bot in a channel it is not in: the row says to invite
    it. A channel it is in passes; either way nobody but the bot sees the message."""
    slack, sandbox = world
    values = _values(tmp_path, slack, sandbox, **{variable: "C0NOTIN01"})
    slack.fail_next("chat.postEphemeral", Failure(error="not_in_channel"))
    rows, _ = check_all(values)
    (row,) = [r for r in rows if r.what == f"{variable} C0NOTIN01"]
    assert row.status is Status.FAIL and "/invite @cartrover in C0NOTIN01" in row.fix
    rows, _ = check_all(values)
    (row,) = [r for r in rows if r.what == f"{variable} C0NOTIN01"]
    assert row.status is Status.OK
    asked = slack.of("chat.postEphemeral")
    assert {c.body["user"] for c in asked} == {BOT_USER}
    assert {c.body["channel"] for c in asked} == {"C0NOTIN01"}


def test_the_digest_row_says_which_subscription_applies(
    tmp_path: Path, world: tuple[LocalSlack, SandboxServer]
) -> None:
    """A subscription changed in Slack is kept, and check says so; a fresh database will be
    subscribed from DIGEST_TIME and TIMEZONE at the first start."""
    slack, sandbox = world
    values = _values(tmp_path, slack, sandbox, DIGEST_CHANNEL="C0DIGEST1")
    rows, _ = check_all(values)
    (row,) = [r for r in rows if r.what == "digest"]
    assert "will be subscribed at the next start to the daily digest at 09:00 UTC" in row.detail
    store = open_store(values["DATABASE_URL"])
    try:
        store.subscribe(DigestSubscription("C0DIGEST1", "10:00", "UTC", "U0PERSON1"))
    finally:
        store.close()
    rows, _ = check_all(values)
    (row,) = [r for r in rows if r.what == "digest"]
    assert "at 10:00 UTC, as user U0PERSON1 set it in Slack" in row.detail
