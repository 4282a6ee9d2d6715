"""The Slack rows of ``cartrover-bot check``: one ``auth.test`` with ``SLACK_BOT_TOKEN`` (and, when
Slack cannot be reached, why not: refused, no such host, timed out, TLS), the scopes granted from
its ``x-oauth-scopes`` header where Slack sends one, and for ``DIGEST_CHANNEL`` and
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

from bot.runners.check_table import CHECK_TIMEOUT, Row, Status, origin
from bot.settings import Settings

__all__ = ["slack_rows"]

REFUSED_TOKEN = ("invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive")
NOT_A_MEMBER = ("not_in_channel", "user_not_in_channel", "channel_not_found")


def slack_rows(settings: Settings) -> list[Row]:
    token = settings.slack_bot_token
    if token is None:
        fix = "set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-…) from OAuth & Permissions"
        return [Row("Slack", Status.FAIL, "SLACK_BOT_TOKEN is not set", fix)]
    url = settings.slack_api_url
    client = WebClient(token=token.get_secret_value(), base_url=url, timeout=int(CHECK_TIMEOUT))
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
        fix = f"check SLACK_API_URL ({url}; normally https://slack.com/api/)"
        return [Row("Slack", Status.FAIL, f"auth.test failed: {error}", fix)]
    except (SlackRequestError, OSError) as exc:
        fix = f"check SLACK_API_URL ({url}; normally https://slack.com/api/) and the network"
        detail = f"could not reach Slack at {origin(url)}: {_cause(exc)}"
        return [Row("Slack", Status.FAIL, detail, fix)]
    team, user = (
        reply.get("team") or reply.get("team_id"),
        reply.get("user") or reply.get("user_id"),
    )
    where = "" if url == "https://slack.com/api/" else f" via {origin(url)}"
    rows = [Row("Slack", Status.OK, f"auth.test: workspace {team}, bot user {user}{where}")]
    rows.append(_scopes(settings, reply.headers))
    bot_user = reply.get("user_id")
    for variable in ("DIGEST_CHANNEL", "APPROVAL_CHANNEL"):
        channel = getattr(settings, variable.lower())
        if channel and isinstance(bot_user, str):
            rows.append(_membership(client, variable, channel, bot_user))
    return rows


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
    needed = ["commands", "chat:write"]
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
