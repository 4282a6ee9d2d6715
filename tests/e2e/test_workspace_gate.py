"""One workspace check at the entry (R65): a command, click, form, shortcut or event of another
workspace — or, when the bot's workspace is in an Enterprise Grid org, of another org — is
refused before any work: acknowledged, audited, and no call goes out to Slack or CartRover."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from urllib.parse import urlsplit

import pytest

from bot.dev.loopback.signing import SlackRequests
from bot.dev.loopback.world import LoopbackBot
from bot.dev.sandbox.seed import STALE_TEST_REF
from bot.slack import ids
from tests.harness import APPROVER, CHANNEL, REQUESTER, SIGNING_SECRET, Harness

OTHER = "T0OTHER"


def _bodies(harness: Harness, requests: SlackRequests, team: str | None) -> dict[str, str]:
    """One payload of each kind Slack sends, from ``team``."""
    pending = harness.open_hold(STALE_TEST_REF)
    assert pending.message_ts is not None
    form = {"id": "V0FORM", "callback_id": ids.HOLD_FORM, "state": {"values": {}}}
    return {
        "command": requests.command(
            f"status {STALE_TEST_REF}", user=REQUESTER, channel=CHANNEL
        ).replace(f"team_id={requests.team_id}", f"team_id={team or requests.team_id}"),
        "click": requests.click(
            ids.APPROVE_HOLD, str(pending.id), user=APPROVER, channel=CHANNEL,
            ts=pending.message_ts, team=team,
        ),
        "form": requests.view_submission(form, user=REQUESTER, team=team),
        "shortcut": requests.shortcut(ids.HOLD_SHORTCUT, user=REQUESTER, team=team),
        "event": requests.home_opened(user=APPROVER, team=team),
    }  # fmt: skip


def _refused_everywhere(harness: Harness, bot: LoopbackBot, bodies: dict[str, str]) -> None:
    slack_calls, cartrover_calls = len(harness.slack.calls), len(harness.sandbox.requests)
    for kind, body in bodies.items():
        content_type = "application/json" if kind == "event" else None
        options = {"content_type": content_type} if content_type else {}
        answer = harness.post(body, bot=bot, **options)  # type: ignore[arg-type]
        assert answer.status_code == 200, kind
        if kind == "command":
            assert "another Slack workspace" in answer.text
        else:
            assert answer.text == "", kind
    bot.deps.workers.drain(5)
    assert len(harness.slack.calls) == slack_calls  # no post, no form, no Home, no response_url
    assert len(harness.sandbox.requests) == cartrover_calls
    path = urlsplit(harness.settings.database_url).path.removeprefix("/")
    with closing(sqlite3.connect(path)) as db:
        refused = [row[0] for row in db.execute("SELECT detail FROM audit_log WHERE event = ?",
                                                ("refused",))]  # fmt: skip
    kinds = ("command", "click", "form", "shortcut", "event")
    assert [detail.split(" of ")[0] for detail in refused[-5:]] == [f"a {k}" for k in kinds]
    assert all("another workspace" in detail for detail in refused[-5:])


def test_every_entry_of_another_workspace_is_refused_before_any_work(harness: Harness) -> None:
    bodies = _bodies(harness, harness.requests, OTHER)
    _refused_everywhere(harness, harness.bot, bodies)
    assert harness.request(1).decided_by is None


@pytest.mark.parametrize("org", ["E0OTHER", None])
def test_another_enterprise_grid_org_is_refused_too(harness: Harness, org: str | None) -> None:
    """The bot's workspace is in org E0ORG: the same team id under another org (or none) is not
    this workspace; under E0ORG it is served."""
    bot = LoopbackBot(harness.settings, harness.clock, enterprise_id="E0ORG", resume=False)
    harness.bots.append(bot)
    elsewhere = SlackRequests(SIGNING_SECRET, response_url=harness.response_url, enterprise_id=org)
    _refused_everywhere(harness, bot, _bodies(harness, elsewhere, None))
    ours = SlackRequests(SIGNING_SECRET, response_url=harness.response_url, enterprise_id="E0ORG")
    body = ours.command(f"status {STALE_TEST_REF}", user=REQUESTER, channel=CHANNEL)
    assert harness.post(body, bot=bot).status_code == 200
    assert STALE_TEST_REF in json.dumps(harness.wait_reply(len(harness.replies()) + 1).body)
