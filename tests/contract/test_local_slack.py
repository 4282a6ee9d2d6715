"""The local Slack reads calls as Slack documents it (a JSON body only for methods that accept JSON;
read methods take query or form arguments) and refuses what Slack documents refusing; the bot's
poster calls every method the documented way."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.dev.loopback.slack import BOT_USER, GOOD_TOKEN, TEAM_ID, LocalSlack
from bot.dev.loopback.webapi import MISSING_USERGROUP_ERRORS
from bot.slack.webapi import SlackFailed, SlackPoster, make_web_client

GROUP = "S0APPROVERS"
MEMBERS = ["UGROUPIE1", "WGROUPIE2"]
CHANNEL = "C0HOLDS01"
HOME = {"type": "home", "blocks": []}
MODAL = {"type": "modal", "title": {"type": "plain_text", "text": "Hold"}, "blocks": []}


@pytest.fixture
def slack() -> Iterator[LocalSlack]:
    with LocalSlack() as slack:
        slack.groups[GROUP] = list(MEMBERS)
        yield slack


def _client(slack: LocalSlack) -> WebClient:
    return WebClient(token=GOOD_TOKEN, base_url=slack.url, timeout=5)


def _error(call: object) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()  # type: ignore[operator]
    return str(caught.value.response["error"])


def test_the_poster_sends_each_method_the_way_slack_documents_it(slack: LocalSlack) -> None:
    """JSON for the write methods that accept it, form arguments for usergroups.users.list: every
    argument reaches the method, and no JSON body goes to a method that does not read JSON."""
    poster = SlackPoster(make_web_client(GOOD_TOKEN, slack.url))
    assert poster.whoami()["user_id"] == BOT_USER
    assert poster.group_members(GROUP) == set(MEMBERS)
    ts = poster.post(CHANNEL, "hello", [])
    poster.update(CHANNEL, ts, "hello again", [])
    poster.ephemeral(CHANNEL, "UREQUEST1", "only you")
    modal = poster.open_view("trigger-1", MODAL)
    poster.update_view(modal.view_id, MODAL, modal.view_hash)
    home = poster.publish_view("UREQUEST1", HOME)
    poster.publish_view("UREQUEST1", HOME, home.view_hash)

    encodings = {call.method: call.encoding for call in slack.calls}
    assert encodings == {
        "auth.test": "none",
        "usergroups.users.list": "form",
        "chat.postMessage": "json",
        "chat.update": "json",
        "chat.postEphemeral": "json",
        "views.open": "json",
        "views.update": "json",
        "views.publish": "json",
    }
    assert not any(call.json_ignored for call in slack.calls)
    assert slack.of("usergroups.users.list")[0].args == {"usergroup": GROUP}
    post = slack.of("chat.postMessage")[0].args
    assert post["unfurl_links"] is False and post["unfurl_media"] is False
    assert "thread_ts" not in post
    assert all(call.reply and call.reply["ok"] for call in slack.calls)


@pytest.mark.parametrize("missing_error", MISSING_USERGROUP_ERRORS)
def test_a_json_body_reaches_a_read_method_as_no_arguments(
    slack: LocalSlack, missing_error: str
) -> None:
    """usergroups.users.list does not read JSON: the group sent in a JSON body is not seen, and
    Slack answers as for a call without ``usergroup`` (either answer Slack may give)."""
    slack.missing_usergroup_error = missing_error
    client = _client(slack)
    error = _error(lambda: client.api_call("usergroups.users.list", json={"usergroup": GROUP}))
    assert error == missing_error
    call = slack.of("usergroups.users.list")[-1]
    assert call.json_ignored and call.body == {"usergroup": GROUP} and call.args == {}
    # The same group as form arguments, or as a query string, is read.
    assert client.usergroups_users_list(usergroup=GROUP)["users"] == MEMBERS
    query = httpx.get(
        f"{slack.url}usergroups.users.list?usergroup={GROUP}",
        headers={"Authorization": f"Bearer {GOOD_TOKEN}"},
    )
    assert query.json() == {"ok": True, "users": MEMBERS}
    # The poster says what Slack said.
    with pytest.raises(SlackFailed) as caught:
        SlackPoster(client).group_members("")
    assert caught.value.error == missing_error


def test_an_unknown_user_group_is_no_such_subteam(slack: LocalSlack) -> None:
    with pytest.raises(SlackFailed) as caught:
        SlackPoster(_client(slack)).group_members("S0NOSUCH")
    assert caught.value.error == "no_such_subteam"


def test_an_empty_user_group_lists_no_users(slack: LocalSlack) -> None:
    slack.groups["S0EMPTY"] = []
    assert SlackPoster(_client(slack)).group_members("S0EMPTY") == set()


def test_a_missing_scope_is_refused_with_the_scope_needed(slack: LocalSlack) -> None:
    slack.scopes = "commands,chat:write"
    client = _client(slack)
    with pytest.raises(SlackApiError) as caught:
        client.usergroups_users_list(usergroup=GROUP)
    assert caught.value.response["error"] == "missing_scope"
    assert caught.value.response["needed"] == "usergroups:read"


def test_write_methods_refuse_missing_arguments_with_slacks_documented_errors(
    slack: LocalSlack,
) -> None:
    client = _client(slack)
    assert _error(lambda: client.api_call("chat.postMessage", json={"text": "x"})) == (
        "channel_not_found"
    )
    assert _error(lambda: client.api_call("chat.postMessage", json={"channel": CHANNEL})) == (
        "no_text"
    )
    posted = client.chat_postMessage(channel=CHANNEL, text="x")
    assert _error(lambda: client.chat_update(channel=CHANNEL, ts="1.000001", text="y")) == (
        "message_not_found"
    )
    assert _error(lambda: client.chat_update(channel="C0OTHER", ts=posted["ts"], text="y")) == (
        "message_not_found"
    )
    assert client.chat_update(channel=CHANNEL, ts=posted["ts"], text="y")["ok"]
    assert _error(lambda: client.api_call("chat.update", json={"channel": CHANNEL})) == (
        "message_not_found"
    )
    assert _error(lambda: client.api_call("chat.postEphemeral", json={"channel": CHANNEL})) == (
        "user_not_in_channel"
    )


def test_the_token_comes_from_the_header_or_a_form_argument_never_a_json_body(
    slack: LocalSlack,
) -> None:
    """Slack: with a JSON body the token must be in the Authorization header."""
    url = f"{slack.url}auth.test"
    in_json = httpx.post(url, json={"token": GOOD_TOKEN}).json()
    assert in_json == {"ok": False, "error": "not_authed"}
    in_form = httpx.post(url, data={"token": GOOD_TOKEN}).json()
    assert in_form["ok"] and in_form["team_id"] == TEAM_ID
    wrong = httpx.post(url, headers={"Authorization": "Bearer xoxb-wrong"}).json()
    assert wrong == {"ok": False, "error": "invalid_auth"}


def test_form_encoded_structures_are_read_as_json_text(slack: LocalSlack) -> None:
    """A write method called with form arguments: ``blocks`` is JSON text, as Slack reads it."""
    client = _client(slack)
    client.api_call(
        "chat.postMessage",
        data={"channel": CHANNEL, "text": "x", "blocks": '[{"type": "divider"}]'},
    )
    last = slack.of("chat.postMessage")[-1]
    assert last.encoding == "form" and last.args["blocks"] == [{"type": "divider"}]


def test_the_missing_usergroup_switch_takes_only_known_answers() -> None:
    with pytest.raises(ValueError, match="missing_usergroup_error"):
        LocalSlack(missing_usergroup_error="whatever")
