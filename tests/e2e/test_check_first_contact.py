"""``cartrover-bot check`` on first contact: each user group in APPROVERS expanded for real, a row
per reply saying whether it had the keys the bot relies on, and ``--record DIR`` writing every
reply, secrets and personal data removed — against the CartRover sandbox and the local Slack."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.dev.loopback.slack import GOOD_TOKEN, Failure
from bot.dev.loopback.webapi import MISSING_USERGROUP_ERRORS
from bot.dev.loopback.world import LoopbackWorld
from bot.dev.sandbox import SANDBOX_API_USER, SANDBOX_CANCEL_API_KEY, SANDBOX_CANCEL_API_USER
from bot.dev.sandbox.shapes import LIST_KEYS
from bot.runners.check import check_all
from bot.runners.check_table import Row, Status
from tests.environment import process_environ
from tests.processes import free_port, run_cli

API_KEY = "sandbox-first-contact-key-7c2e"
SIGNING_SECRET = "first-contact-signing-secret-41aa"
GROUP, EMPTY_GROUP = "S0APPROVERS", "S0NOBODY"
MEMBERS = ["U0GROUPIE1", "U0GROUPIE2", "U0GROUPIE3"]


@pytest.fixture
def world() -> Iterator[LoopbackWorld]:
    with LoopbackWorld(api_key=API_KEY) as world:
        world.slack.groups[GROUP] = list(MEMBERS)
        world.slack.groups[EMPTY_GROUP] = []
        yield world


def _values(tmp_path: Path, world: LoopbackWorld, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": GOOD_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": world.slack.url,
        "CARTROVER_API_URL": world.sandbox.url,
        "CARTROVER_API_USER": SANDBOX_API_USER,
        "CARTROVER_API_KEY": API_KEY,
        "CARTROVER_CANCEL_API_USER": SANDBOX_CANCEL_API_USER,
        "CARTROVER_CANCEL_API_KEY": SANDBOX_CANCEL_API_KEY,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "APPROVERS": f"U0APPROVE1,{GROUP}",
        **extra,
    }


def _rows(rows: list[Row], prefix: str) -> list[Row]:
    return [row for row in rows if row.what.startswith(prefix)]


# ------------------------------------------------------------------ user groups of APPROVERS


@pytest.mark.parametrize("missing_usergroup_error", MISSING_USERGROUP_ERRORS)
def test_each_approver_group_is_expanded_and_its_members_counted(
    tmp_path: Path, world: LoopbackWorld, missing_usergroup_error: str
) -> None:
    """check asks usergroups.users.list the way a click does, with the group as a form argument:
    a local Slack that ignores JSON bodies for read methods answers with the members, whichever
    error it would give a call without the group."""
    world.slack.missing_usergroup_error = missing_usergroup_error
    rows, _ = check_all(_values(tmp_path, world))
    (group,) = _rows(rows, "approver group")
    assert group == Row(f"approver group {GROUP}", Status.OK, "3 members may approve")
    (call,) = world.slack.of("usergroups.users.list")
    assert call.encoding == "form" and call.args == {"usergroup": GROUP}


def test_an_empty_or_unknown_group_is_a_failed_row_with_the_fix(
    tmp_path: Path, world: LoopbackWorld
) -> None:
    approvers = f"U0APPROVE1,{GROUP},{EMPTY_GROUP},S0NOSUCH"
    rows, _ = check_all(_values(tmp_path, world, APPROVERS=approvers))
    ok, empty, unknown = _rows(rows, "approver group")
    assert ok.status is Status.OK
    assert empty.what == f"approver group {EMPTY_GROUP}" and empty.status is Status.FAIL
    assert "no members" in empty.detail and "list their user ids (U…) in APPROVERS" in empty.fix
    assert unknown.status is Status.FAIL and "no_such_subteam" in unknown.detail
    assert "group's id (S…" in unknown.fix


@pytest.mark.parametrize(
    ("error", "says", "fix"),
    [
        ("missing_scope", "missing_scope", "usergroups:read"),
        ("plan_upgrade_required", "plan has no user groups", "user ids (U…)"),
        ("invalid_arguments", "invalid_arguments", "by its id (S…)"),
    ],
)
def test_slack_refusing_the_group_is_a_failed_row_naming_slacks_error(
    tmp_path: Path, world: LoopbackWorld, error: str, says: str, fix: str
) -> None:
    world.slack.fail_next("usergroups.users.list", Failure(error=error))
    rows, _ = check_all(_values(tmp_path, world))
    (group,) = _rows(rows, "approver group")
    assert group.status is Status.FAIL and says in group.detail and fix in group.fix


def test_no_group_row_without_groups_in_approvers(tmp_path: Path, world: LoopbackWorld) -> None:
    rows, _ = check_all(_values(tmp_path, world, APPROVERS="U0APPROVE1"))
    assert _rows(rows, "approver group") == []
    assert world.slack.of("usergroups.users.list") == []


# ------------------------------------------------------------------ replies and the record


def test_each_reply_gets_a_row_saying_it_had_the_keys_the_bot_relies_on(
    tmp_path: Path, world: LoopbackWorld
) -> None:
    rows, _ = check_all(_values(tmp_path, world))
    replies = _rows(rows, "reply ")
    assert [row.what for row in replies] == [
        "reply 1: auth.test",
        "reply 2: usergroups.users.list",
        "reply 3: GET /v1/merchant/orders/list/new",
        "reply 4: GET /v1/cart/orders/wms_cancel/_cartrover-bot_key-probe_no-such-order_",
    ]
    assert all(row.status is Status.OK for row in replies)
    assert replies[0].detail == "has team_id, user_id"
    assert "cust_ref, order_status, sending_canceled, created_date_time" in replies[2].detail
    assert _rows(rows, "record") == []  # nothing written without --record


def test_check_record_writes_every_reply_without_secrets_or_personal_data(
    tmp_path: Path, world: LoopbackWorld
) -> None:
    """``check --record DIR`` from the command line: one file per call check made (every call,
    whichever row made it), each with the call, status, headers that matter and the body;
    no secret and no ship-to detail anywhere in DIR."""
    folder = tmp_path / "first-contact"
    env = process_environ(**_values(tmp_path, world, DIGEST_CHANNEL="C0DIGEST1"))
    (tmp_path / "cwd").mkdir()
    result = run_cli(["check", "--record", str(folder)], env, tmp_path / "cwd")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"5 replies written to {folder}" in result.stdout

    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "01-slack-auth.test.json",
        "02-slack-usergroups.users.list.json",
        "03-slack-chat.postEphemeral.json",
        "04-cartrover-v1_merchant_orders_list_new.json",
        "05-cartrover-v1_cart_orders_wms_cancel__cartrover-bot_key-probe_no-such-order.json",
        "README.txt",
    ]
    calls = len(world.slack.calls) + len(world.sandbox.requests)
    assert calls == len(names) - 1  # every call made, recorded

    auth = json.loads((folder / names[0]).read_text())
    assert auth["request"] == {"call": "auth.test", "arguments": {}}
    assert auth["reply"]["body"]["team_id"] == "T0TEST"
    assert auth["reply"]["body"]["team"] == "[removed]"
    assert "x-oauth-scopes" in auth["reply"]["headers"]
    group = json.loads((folder / names[1]).read_text())
    assert group["request"]["arguments"] == {"usergroup": GROUP}
    assert group["reply"]["body"] == {"ok": True, "users": MEMBERS}

    listing = json.loads((folder / names[3]).read_text())
    assert listing["request"]["call"] == "GET /v1/merchant/orders/list/new"
    assert listing["reply"]["status"] == 200
    headers = {k.lower() for k in listing["reply"]["headers"]}
    assert {"x-cartrover-process-id", "x-cartrover-api-minute-hits-remaining"} <= headers
    (record,) = listing["reply"]["body"]["response"]
    order = world.book.get(record["cust_ref"])
    assert order is not None and set(record) == set(LIST_KEYS)  # every field name kept
    assert record["order_status"] == order["order_status"]

    everything = "\n".join(p.read_text() for p in folder.iterdir())
    basic = base64.b64encode(f"{SANDBOX_API_USER}:{API_KEY}".encode()).decode()
    cart = base64.b64encode(f"{SANDBOX_CANCEL_API_USER}:{SANDBOX_CANCEL_API_KEY}".encode()).decode()
    for secret in (GOOD_TOKEN, API_KEY, SIGNING_SECRET, basic, SANDBOX_CANCEL_API_KEY, cart):
        assert secret not in everything
    personal = ("ship_first_name", "ship_last_name", "ship_address_1", "ship_city", "ship_zip")
    assert all(order.get(key) for key in personal)  # the sandbox's order has them all
    for key in personal:
        assert record[key] == "[removed]"
        assert f'"{order[key]}"' not in everything
    assert not any("Authorization" in p.read_text() for p in folder.glob("*.json"))


def test_a_call_with_no_answer_is_recorded_as_such(tmp_path: Path, world: LoopbackWorld) -> None:
    folder = tmp_path / "record"
    folder.mkdir()
    url = f"http://127.0.0.1:{free_port()}"
    rows, _ = check_all(_values(tmp_path, world, CARTROVER_API_URL=url), record=folder)
    lost = [row for row in _rows(rows, "reply ") if "cartrover" in row.what or "GET" in row.what]
    assert len(lost) == 2  # the list call, and the cancel keys' probe
    assert all(row.status is Status.SKIP and "no answer" in row.detail for row in lost)
    written = sorted(folder.glob("*-cartrover-*.json"))
    assert len(written) == 2
    for path in written:
        record = json.loads(path.read_text())
        assert record["reply"] is None and record["no_reply"].startswith("no answer: ")


def test_record_refuses_a_folder_that_is_not_empty(tmp_path: Path, world: LoopbackWorld) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "01-slack-auth.test.json").write_text("{}")
    env = process_environ(**_values(tmp_path, world))
    (tmp_path / "cwd").mkdir()
    result = run_cli(["check", "--record", str(folder)], env, tmp_path / "cwd")
    assert result.returncode == 2
    assert "is not empty" in result.stdout and "new or empty folder" in result.stdout
    assert world.slack.calls == [] and world.sandbox.requests == []
    assert (folder / "01-slack-auth.test.json").read_text() == "{}"
