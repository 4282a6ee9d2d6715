"""The cancel keys (R57): the runners refuse to start without them (unless in shadow mode);
``cartrover-bot check`` fails without them, proves them with a cancel of an order that cannot
exist (no order touched), and shows the mode (live or shadow)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cartrover.protocol import PROBE_REF
from bot.dev.loopback.slack import GOOD_TOKEN
from bot.dev.loopback.world import LoopbackWorld
from bot.dev.sandbox import SANDBOX_API_KEY, SANDBOX_API_USER
from bot.runners.check import check_all
from bot.runners.check_table import Row, Status
from tests.environment import process_environ
from tests.processes import run_cli


@pytest.fixture
def world() -> Iterator[LoopbackWorld]:
    with LoopbackWorld() as started:
        yield started


def environment(world: LoopbackWorld, tmp_path: Path, **values: str) -> dict[str, str]:
    base = world.environment(
        SLACK_SIGNING_SECRET="check-cancel-signing-secret",
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        APPROVERS="U0APPROVE1",
    )
    return {k: v for k, v in {**base, **values}.items() if v}


def row(rows: list[Row], what: str) -> Row:
    (found,) = [r for r in rows if r.what == what]
    return found


def test_accepted_cancel_keys_are_proved_without_touching_any_order(
    world: LoopbackWorld, tmp_path: Path
) -> None:
    """With the Cart API pair, check sends one cancel of a made-up reference through the bot's
    client: the row is ok, says what was tried and what CartRover answered, and no order of the
    book received a cancel."""
    rows, _ = check_all(environment(world, tmp_path))
    cancel = row(rows, "CartRover cancel")
    assert cancel.status is Status.OK and "accepted" in cancel.detail
    assert PROBE_REF in cancel.detail and "no order touched" in cancel.detail
    assert "Order not found" in cancel.detail and "Process-ID SBX-" in cancel.detail
    (probe,) = world.sandbox.cancel_requests()
    assert (probe.cust_ref, probe.credential, probe.auth_ok) == (PROBE_REF, "cancel", True)
    assert all(world.book.cancel_count(ref) == 0 for ref in world.book.refs())
    assert row(rows, "mode").status is Status.OK and "live" in row(rows, "mode").detail


def test_without_cancel_keys_check_fails_and_says_where_cart_keys_come_from(
    world: LoopbackWorld, tmp_path: Path
) -> None:
    """No cancel pair: a failed row naming the variables, that the merchant keys are never used
    instead, and where CartRover issues Cart API keys; nothing is sent."""
    values = environment(world, tmp_path, CARTROVER_CANCEL_API_USER="", CARTROVER_CANCEL_API_KEY="")
    rows, _ = check_all(values)
    cancel = row(rows, "CartRover cancel")
    assert cancel.status is Status.FAIL and "CARTROVER_CANCEL_API_USER/KEY" in cancel.detail
    assert "merchant keys are never used" in cancel.detail
    assert "Carts → your API cart → API Access" in cancel.fix and "SHADOW_MODE" in cancel.fix
    assert world.sandbox.cancel_requests() == []


def test_merchant_keys_in_the_cancel_variables_are_refused(
    world: LoopbackWorld, tmp_path: Path
) -> None:
    """The merchant pair copied into the cancel variables is refused by the cart-level call: a
    failed row with CartRover's words and the fix."""
    values = environment(
        world,
        tmp_path,
        CARTROVER_CANCEL_API_USER=SANDBOX_API_USER,
        CARTROVER_CANCEL_API_KEY=SANDBOX_API_KEY,
    )
    rows, _ = check_all(values)
    cancel = row(rows, "CartRover cancel")
    assert cancel.status is Status.FAIL and "refused the cancel keys" in cancel.detail
    assert "Invalid API User or Key" in cancel.detail and "Cart API keys" in cancel.fix
    assert row(rows, "CartRover").status is Status.OK  # the merchant pair itself works


def test_shadow_mode_needs_no_cancel_keys_and_check_says_so(
    world: LoopbackWorld, tmp_path: Path
) -> None:
    """In shadow mode missing cancel keys are a warning, not a failure, and the mode row says
    that nothing is canceled."""
    values = environment(
        world,
        tmp_path,
        SHADOW_MODE="true",
        CARTROVER_CANCEL_API_USER="",
        CARTROVER_CANCEL_API_KEY="",
    )
    rows, _ = check_all(values)
    assert row(rows, "CartRover cancel").status is Status.WARN
    mode = row(rows, "mode")
    assert mode.status is Status.WARN and "shadow mode" in mode.detail
    assert "nothing is canceled" in mode.detail
    assert Status.FAIL not in {r.status for r in rows}


def test_check_from_the_command_line_prints_the_probe_and_no_secret(
    world: LoopbackWorld, tmp_path: Path
) -> None:
    """`cartrover-bot check` prints the probe's row and exits 0; the cancel key never shows."""
    (tmp_path / "bot.db").touch()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    values = environment(world, tmp_path)
    result = run_cli(["check"], process_environ(**values), cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CartRover cancel" in result.stdout and "the cancel keys are accepted" in result.stdout
    assert values["CARTROVER_CANCEL_API_KEY"] not in result.stdout + result.stderr


@pytest.mark.parametrize("command", ["serve", "socket", "clock"])
def test_a_runner_without_cancel_keys_refuses_to_start_with_one_line(
    tmp_path: Path, command: str
) -> None:
    """Exit code 2 before anything starts, and one line naming the variables, saying they are
    Cart API keys and where CartRover issues them."""
    env = process_environ(
        SLACK_BOT_TOKEN=GOOD_TOKEN,
        SLACK_SIGNING_SECRET="s",
        SLACK_APP_TOKEN="xapp-1-x",
        CARTROVER_API_USER="u",
        CARTROVER_API_KEY="k",
    )
    result = run_cli([command], env, tmp_path)
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if "CARTROVER_CANCEL_API" in line]
    assert "CARTROVER_CANCEL_API_USER and CARTROVER_CANCEL_API_KEY are required" in line
    assert "Cart API keys" in line and "Carts → your API cart → API Access" in line
    assert "Traceback" not in result.stderr
