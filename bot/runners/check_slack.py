"""The Slack rows of ``cartrover-bot check``: one ``auth.test`` with ``SLACK_BOT_TOKEN`` (and, when
Slack cannot be reached, why not: refused, no such host, timed out, TLS), the scopes granted from
its ``x-oauth-scopes`` header where Slack sends one, each user group in ``APPROVERS`` expanded the
way a click expands it (``usergroups.users.list``; an empty or unknown group fails), and for
``DIGEST_CHANNEL`` and
``APPROVAL_CHANNEL`` whether the bot is in the channel. With only ``chat:write`` the one way to ask
is an ephemeral message addressed to the bot itself, which no person sees: Slack refuses it when
its recipient is not in the channel, and here the recipient is the bot.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.holds.approvers import Approvers
from bot.runners.check_record import Replies
from bot.runners.check_table import CHECK_TIMEOUT, Row, Status, check_url, origin
from bot.settings import Settings
from bot.slack.webapi import SlackFailed, SlackPoster
from bot.words import plural

__all__ = ["slack_rows"]

REFUSED_TOKEN = ("invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive")
NOT_A_MEMBER = ("not_in_channel", "user_not_in_channel", "channel_not_found")


def slack_rows(settings: Settings, replies: Replies) -> list[Row]:
    """The Slack rows; every call goes through ``replies``' client."""
    token = settings.slack_bot_token
    if token is None:
        fix = "set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-…) from OAuth & Permissions"
        return [Row("Slack", Status.FAIL, "SLACK_BOT_TOKEN is not set", fix)]
    url = settings.slack_api_url
    client = replies.slack_client(token.get_secret_value(), url, timeout=int(CHECK_TIMEOUT))
    try:
        reply = client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        if error in REFUSED_TOKEN:
            fix = (
                "copy the Bot User OAuth Token (xoxb-…) again from your app's OAuth & "
                "Permissions page into SLACK_BOT_TOKEN; reinstall the app if it was removed"
            )
            return [Row("Slack", Status.FAIL, f"Slack refused SLACK_BOT_TOKEN ({error})", fix)]
        fix = check_url("SLACK_API_URL", url, Settings.model_fields["slack_api_url"].default)
        return [Row("Slack", Status.FAIL, f"auth.test failed: {error}", fix)]
    except (SlackRequestError, OSError) as exc:
        fix = check_url("SLACK_API_URL", url, Settings.model_fields["slack_api_url"].default)
        detail = f"could not reach Slack at {origin(url)}: {_cause(exc)}"
        return [Row("Slack", Status.FAIL, detail, fix)]
    team, user = (
        reply.get("team") or reply.get("team_id"),
        reply.get("user") or reply.get("user_id"),
    )
    where = "" if url == "https://slack.com/api/" else f" via {origin(url)}"
    rows = [Row("Slack", Status.OK, f"auth.test: workspace {team}, bot user {user}{where}")]
    rows.append(_scopes(settings, reply.headers))
    poster = SlackPoster(client)
    rows += [_group(poster, group) for group in Approvers(settings.approvers).groups]
    bot_user = reply.get("user_id")
    for variable in ("DIGEST_CHANNEL", "APPROVAL_CHANNEL"):
        channel = getattr(settings, variable.lower())
        if channel and isinstance(bot_user, str):
            rows.append(_membership(client, variable, channel, bot_user))
    return rows


def _group(poster: SlackPoster, group: str) -> Row:
    """Expand a user group of APPROVERS as a click would (``usergroups.users.list``)."""
    what = f"approver group {group}"
    try:
        members = poster.group_members(group)
    except SlackFailed as exc:
        detail, fix = _GROUP_REFUSALS.get(
            exc.error,
            (
                f"usergroups.users.list failed ({exc.error})",
                "check that APPROVERS names the group by its id (S…)",
            ),
        )
        return Row(what, Status.FAIL, detail.format(group=group, error=exc.error), fix)
    if not members:
        detail = "the group has no members, so nobody in it can approve"
        fix = "add the approvers to the group in Slack, or list their user ids (U…) in APPROVERS"
        return Row(what, Status.FAIL, detail, fix)
    return Row(what, Status.OK, f"{plural(len(members), 'member')} may approve")


_GROUP_REFUSALS = {
    "no_such_subteam": (
        "Slack knows no user group {group} in this workspace (no_such_subteam)",
        "use the group's id (S…, shown in the group's details in Slack) in APPROVERS, or remove it",
    ),
    "missing_scope": (
        "the app may not read user groups (missing_scope)",
        "add usergroups:read under OAuth & Permissions → Bot Token Scopes (manifest.yml lists "
        "it), then reinstall the app to the workspace",
    ),
    "plan_upgrade_required": (
        "this workspace's Slack plan has no user groups (plan_upgrade_required)",
        "list the approvers' user ids (U…) in APPROVERS instead of the group",
    ),
    "connection_failed": (
        "could not ask Slack for the group's members",
        "check the network and run the check again",
    ),
}


def _cause(exc: BaseException) -> str:
    """What stopped a connection, in words: refused, no such host, timed out, TLS, …"""
    reason: Any = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (nothing listens there)"
    if isinstance(reason, socket.gaierror):
        return f"host name not found ({reason.strerror or reason})"
    if isinstance(reason, TimeoutError | socket.timeout):
        return f"no answer within {CHECK_TIMEOUT:g} s"
    if isinstance(reason, ssl.SSLError):
        return f"TLS failed ({reason.reason or reason})"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def _membership(client: WebClient, variable: str, channel: str, bot_user: str) -> Row:
    """Whether the bot is in ``channel``: an ephemeral message to the bot itself, which Slack
    refuses when the bot is not in the channel and which no person sees."""
    what = f"{variable} {channel}"
    invite = f"invite the bot there: /invite @cartrover in {channel} (or check {variable})"
    try:
        client.chat_postEphemeral(
            channel=channel, user=bot_user, text="cartrover-bot check: can I post here?"
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        if error in NOT_A_MEMBER:
            detail = f"the bot is not in this channel, or it does not exist ({error})"
            return Row(what, Status.FAIL, detail, invite)
        if error == "is_archived":
            return Row(what, Status.FAIL, "the channel is archived", f"use another {variable}")
        return Row(what, Status.WARN, f"could not tell whether the bot is in it ({error})", invite)
    except (SlackRequestError, OSError) as exc:
        return Row(what, Status.WARN, f"could not ask Slack: {_cause(exc)}")
    return Row(what, Status.OK, "the bot is in this channel and may post there")


def _scopes(settings: Settings, headers: Mapping[str, object]) -> Row:
    header = next((v for k, v in headers.items() if k.lower() == "x-oauth-scopes"), None)
    if header is None:
        return Row("Slack scopes", Status.SKIP, "Slack did not report the token's scopes")
    values = header if isinstance(header, list | tuple) else [header]
    granted = {s.strip() for value in values for s in str(value).split(",") if s.strip()}
    # im:write: the requester is told by direct message when the card's thread is gone (and,
    # with NOTIFY_APPROVERS=dm, each approver is asked that way).
    needed = ["commands", "chat:write", "im:write"]
    if any(a.startswith("S") for a in settings.approvers):
        needed.append("usergroups:read")  # APPROVERS lists user groups
    missing = [s for s in needed if s not in granted]
    if missing:
        fix = (
            f"add {', '.join(missing)} under OAuth & Permissions → Bot Token Scopes (manifest.yml "
            "lists them), then reinstall the app to the workspace"
        )
        return Row("Slack scopes", Status.FAIL, f"missing: {', '.join(missing)}", fix)
    return Row("Slack scopes", Status.OK, f"granted: {', '.join(needed)}")
