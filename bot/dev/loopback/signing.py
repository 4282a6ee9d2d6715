"""Request bodies exactly as Slack sends them to ``/slack/events``, signed as Slack signs them:
HMAC-SHA256 over ``v0:{timestamp}:{raw body}`` with the app's signing secret.

Slash commands, button clicks (on a message or on an App Home), shortcuts and view submissions
are forms (``application/x-www-form-urlencoded``, interactions in one ``payload`` field); Events
API deliveries are JSON (:data:`JSON`), and Slack's retries of one carry ``X-Slack-Retry-Num``
(:meth:`SlackRequests.retry_headers`). Every interaction gets a ``trigger_id`` of its own: Slack
lets each open one modal only."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from urllib.parse import urlencode

from bot.dev.loopback.slack import TEAM_ID
from bot.slack.ids import COMMAND

__all__ = ["APP_ID", "JSON", "SlackRequests"]

APP_ID = "A0LOOPBACK"  # the api_app_id of every payload, unless told otherwise
JSON = "application/json"  # the content type of Events API deliveries


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
        enterprise_id: str | None = None,
    ) -> None:
        self.secret = signing_secret.encode()
        self.team_id, self.app_id = team_id, app_id
        self.enterprise_id = enterprise_id  # the Enterprise Grid org payloads name, if any
        self._numbers = itertools.count(1)
        self._triggers = itertools.count(1)
        self._events = itertools.count(1)
        self._response_url = response_url or (
            lambda: f"https://hooks.slack.com/r{next(self._numbers)}"
        )

    def trigger(self) -> str:
        """A fresh ``trigger_id``."""
        return f"{next(self._triggers)}.{int(time.time())}.loopback"

    def event_id(self) -> str:
        """A fresh ``event_id``."""
        return f"Ev{next(self._events):08d}"

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
        trigger_id: str | None = None,
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
                **({"enterprise_id": self.enterprise_id} if self.enterprise_id else {}),
                "api_app_id": self.app_id,
                "response_url": response_url or self._response_url(),
                "trigger_id": trigger_id or self.trigger(),
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
        return self._interaction(
            {
                "type": "block_actions",
                "api_app_id": app_id or self.app_id,
                "user": {"id": user, "team_id": team},
                "team": {"id": team, "domain": "loopback"},
                "enterprise": self._org(),
                "container": {"type": "message", "channel_id": channel, "message_ts": ts},
                "channel": {"id": channel},
                "response_url": response_url or self._response_url(),
                "trigger_id": self.trigger(),
                "actions": [_button(action_id, value)],
            }
        )

    def _interaction(self, payload: dict[str, object]) -> str:
        return urlencode({"payload": json.dumps(payload)})

    def _who(self, user: str, team: str | None) -> dict[str, object]:
        team = team or self.team_id
        return {
            "user": {"id": user, "username": "someone", "team_id": team},
            "team": {"id": team, "domain": "loopback"},
            "enterprise": self._org(),
        }

    def _org(self) -> dict[str, str] | None:
        return {"id": self.enterprise_id, "name": "Loopback Org"} if self.enterprise_id else None

    def view_click(
        self,
        action_id: str,
        value: str,
        *,
        user: str,
        view: dict[str, object],
        team: str | None = None,
        app_id: str | None = None,
    ) -> str:
        """The form body of a click on a button in ``view`` (an App Home or a modal, as the
        local Slack's :meth:`~bot.dev.loopback.views.Views.submitted` gives it)."""
        return self._interaction(
            {
                "type": "block_actions",
                "api_app_id": app_id or self.app_id,
                **self._who(user, team),
                "container": {"type": "view", "view_id": view.get("id")},
                "view": view,
                "trigger_id": self.trigger(),
                "actions": [_button(action_id, value)],
            }
        )

    def shortcut(self, callback_id: str, *, user: str, team: str | None = None) -> str:
        """The form body of a global shortcut (no channel, no ``response_url``)."""
        return self._interaction(
            {
                "type": "shortcut",
                "callback_id": callback_id,
                "trigger_id": self.trigger(),
                "action_ts": str(time.time()),
                "token": "deprecated",
                **self._who(user, team),
            }
        )

    def message_shortcut(
        self,
        callback_id: str,
        *,
        user: str,
        channel: str,
        text: str,
        ts: str = "1700000000.000001",
        author: str = "UAUTHOR01",
        team: str | None = None,
    ) -> str:
        """The form body of a message shortcut on message ``ts`` (by ``author``) of ``channel``."""
        return self._interaction(
            {
                "type": "message_action",
                "callback_id": callback_id,
                "trigger_id": self.trigger(),
                "action_ts": str(time.time()),
                "token": "deprecated",
                **self._who(user, team),
                "channel": {"id": channel, "name": "holds"},
                "message_ts": ts,
                "message": {"type": "message", "user": author, "ts": ts, "text": text},
                "response_url": self._response_url(),
            }
        )

    def view_submission(
        self,
        view: dict[str, object],
        *,
        user: str,
        team: str | None = None,
        app_id: str | None = None,
    ) -> str:
        """The form body of submitting ``view`` (its ``state.values`` filled in)."""
        return self._interaction(
            {
                "type": "view_submission",
                "api_app_id": app_id or self.app_id,
                **self._who(user, team),
                "trigger_id": self.trigger(),
                "view": view,
                "response_urls": [],
                "is_enterprise_install": False,
            }
        )

    def event(
        self,
        event: dict[str, object],
        *,
        event_id: str | None = None,
        team: str | None = None,
        app_id: str | None = None,
    ) -> str:
        """The JSON body of an Events API delivery of ``event`` (send it as :data:`JSON`)."""
        return json.dumps(
            {
                "token": "deprecated",
                "team_id": team or self.team_id,
                "api_app_id": app_id or self.app_id,
                "event": event,
                "type": "event_callback",
                "event_id": event_id or self.event_id(),
                "event_time": int(time.time()),
                "enterprise_id": self.enterprise_id,
                "authorizations": [
                    {
                        "team_id": team or self.team_id,
                        "enterprise_id": self.enterprise_id,
                        "is_bot": True,
                    }
                ],
                "is_ext_shared_channel": False,
            }
        )

    def home_opened(
        self, *, user: str, event_id: str | None = None, tab: str = "home", **options: str
    ) -> str:
        """The JSON body of ``app_home_opened`` for ``user``."""
        event: dict[str, object] = {
            "type": "app_home_opened",
            "user": user,
            "channel": "D0HOME0001",
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        }
        return self.event(event, event_id=event_id, **options)

    @staticmethod
    def retry_headers(number: int, reason: str = "http_timeout") -> dict[str, str]:
        """The headers Slack adds to its ``number``-th retry of an event delivery."""
        return {"X-Slack-Retry-Num": str(number), "X-Slack-Retry-Reason": reason}


def _button(action_id: str, value: str) -> dict[str, object]:
    """One clicked button, as a ``block_actions`` payload lists it."""
    return {
        "action_id": action_id,
        "block_id": "b",
        "value": value,
        "type": "button",
        "action_ts": str(time.time()),
    }
