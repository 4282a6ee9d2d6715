"""Request bodies exactly as Slack sends them to ``/slack/events``, signed as Slack signs them:
HMAC-SHA256 over ``v0:{timestamp}:{raw body}`` with the app's signing secret."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from urllib.parse import urlencode

from bot.dev.loopback.slack import TEAM_ID
from bot.ids import COMMAND

__all__ = ["APP_ID", "SlackRequests"]

APP_ID = "A0LOOPBACK"  # the api_app_id of every payload, unless told otherwise


class SlackRequests:
    """Signed slash commands and button clicks for one app. ``response_url`` gives each request
    its own response URL (e.g. a local Slack's webhook sink)."""

    def __init__(
        self,
        signing_secret: str,
        *,
        team_id: str = TEAM_ID,
        app_id: str = APP_ID,
        response_url: Callable[[], str] | None = None,
    ) -> None:
        self.secret = signing_secret.encode()
        self.team_id, self.app_id = team_id, app_id
        self._numbers = itertools.count(1)
        self._response_url = response_url or (
            lambda: f"https://hooks.slack.com/r{next(self._numbers)}"
        )

    def sign(self, body: bytes, timestamp: str) -> str:
        """Slack's signature of the raw bytes (which need not be UTF-8)."""
        signed = b"v0:" + timestamp.encode() + b":" + body
        return "v0=" + hmac.new(self.secret, signed, hashlib.sha256).hexdigest()

    def headers(
        self,
        body: str | bytes,
        *,
        timestamp: int | None = None,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> dict[str, str]:
        """The headers Slack sends with ``body``: its content type, timestamp and signature."""
        raw = body.encode() if isinstance(body, str) else body
        ts = str(timestamp if timestamp is not None else int(time.time()))
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": self.sign(raw, ts),
        }

    def command(
        self,
        text: str,
        *,
        user: str,
        channel: str,
        channel_name: str = "holds",
        response_url: str | None = None,
        trigger_id: str = "1.2.3",
    ) -> str:
        """The form body of ``/cartrover <text>``."""
        return urlencode(
            {
                "token": "deprecated",
                "team_id": self.team_id,
                "team_domain": "loopback",
                "channel_id": channel,
                "channel_name": channel_name,
                "user_id": user,
                "user_name": "someone",
                "command": COMMAND,
                "text": text,
                "api_app_id": self.app_id,
                "response_url": response_url or self._response_url(),
                "trigger_id": trigger_id,
            }
        )

    def click(
        self,
        action_id: str,
        value: str,
        *,
        user: str,
        channel: str,
        ts: str,
        team: str | None = None,
        app_id: str | None = None,
        response_url: str | None = None,
    ) -> str:
        """The form body of a click on a button in message ``ts`` of ``channel``."""
        team = team or self.team_id
        payload = {
            "type": "block_actions",
            "api_app_id": app_id or self.app_id,
            "user": {"id": user, "team_id": team},
            "team": {"id": team, "domain": "loopback"},
            "container": {"type": "message", "channel_id": channel, "message_ts": ts},
            "channel": {"id": channel},
            "response_url": response_url or self._response_url(),
            "trigger_id": "1.2.3",
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "b",
                    "value": value,
                    "type": "button",
                    "action_ts": str(time.time()),
                }
            ],
        }
        return urlencode({"payload": json.dumps(payload)})
