"""Talking to Slack: post, update and ephemeral messages, with Slack's failures translated.

- 429s are retried after ``Retry-After`` by slack_sdk's ``RateLimitErrorRetryHandler`` (bounded).
- A connection error is retried only for idempotent methods: ``chat.postMessage`` has no idempotency
  key, so a reset after Slack accepted it must not post twice (R21).
- ``not_in_channel`` / ``channel_not_found`` become :class:`SetupProblem` (never retried, R33).
- ``invalid_auth`` / ``token_revoked`` / ``account_inactive`` mark the poster unhealthy and log one
  alert line (R24).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    HttpRequest,
    HttpResponse,
    RateLimitErrorRetryHandler,
    RetryHandler,
    RetryState,
)

__all__ = [
    "Poster",
    "SetupProblem",
    "SlackFailed",
    "SlackPoster",
    "make_web_client",
]

log = logging.getLogger(__name__)

Blocks = Sequence[dict[str, Any]]
FATAL_AUTH_ERRORS = ("invalid_auth", "token_revoked", "account_inactive", "not_authed")
SETUP_ERRORS = ("not_in_channel", "channel_not_found", "is_archived", "missing_scope")


class SlackFailed(Exception):
    """A Slack Web API call failed; ``error`` is Slack's error code (``ratelimited``, …)."""

    def __init__(self, method: str, error: str) -> None:
        super().__init__(f"Slack {method} failed: {error}")
        self.method = method
        self.error = error


class SetupProblem(SlackFailed):
    """The bot cannot post there until someone fixes the setup; ``advice`` says how."""

    @property
    def advice(self) -> str:
        if self.error in ("not_in_channel", "channel_not_found"):
            return (
                "I can't post in that channel. Invite me with `/invite @cartrover` "
                "(for a private channel, from the channel's settings), then try again."
            )
        if self.error == "is_archived":
            return "That channel is archived; use another channel."
        return "The Slack app is missing a scope; reinstall it from manifest.yml."


class _IdempotentConnectionRetry(ConnectionErrorRetryHandler):
    """Retry a reset connection, except for ``chat.postMessage`` (it could post twice)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.rstrip("/").endswith("chat.postMessage"):
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


def make_web_client(token: str, base_url: str, *, rate_limit_retries: int = 3) -> WebClient:
    handlers: list[RetryHandler] = [
        _IdempotentConnectionRetry(max_retry_count=1),
        RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
    ]
    return WebClient(token=token, base_url=base_url, timeout=15, retry_handlers=handlers)


class Poster(Protocol):
    """The bot's outgoing Slack messages."""

    def post(self, channel: str, text: str, blocks: Blocks) -> str:
        """Post a message; return its ``ts``."""
        ...

    def update(self, channel: str, ts: str, text: str, blocks: Blocks) -> None: ...

    def ephemeral(self, channel: str, user: str, text: str, blocks: Blocks = ()) -> None: ...


class SlackPoster:
    def __init__(self, client: WebClient, on_fatal: Callable[[str], None] | None = None) -> None:
        self.client = client
        self._on_fatal = on_fatal
        self._lock = threading.Lock()
        self.fatal_error: str | None = None

    def post(self, channel: str, text: str, blocks: Blocks) -> str:
        reply = self._call("chat.postMessage", channel=channel, text=text, blocks=list(blocks))
        return str(reply["ts"])

    def update(self, channel: str, ts: str, text: str, blocks: Blocks) -> None:
        self._call("chat.update", channel=channel, ts=ts, text=text, blocks=list(blocks))

    def ephemeral(self, channel: str, user: str, text: str, blocks: Blocks = ()) -> None:
        self._call("chat.postEphemeral", channel=channel, user=user, text=text, blocks=list(blocks))

    def whoami(self) -> dict[str, Any]:
        """``auth.test``: the token's team and user; raises SlackFailed when refused."""
        return self._call("auth.test")

    def group_members(self, group_id: str) -> set[str]:
        reply = self._call("usergroups.users.list", usergroup=group_id)
        return {str(u) for u in reply.get("users") or ()}

    def _call(self, method: str, **params: Any) -> dict[str, Any]:
        if self.fatal_error:
            raise SlackFailed(method, self.fatal_error)
        try:
            response = self.client.api_call(method, json=params)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
            self._fail(method, error)
        except (SlackRequestError, OSError) as exc:
            log.warning("Slack %s: connection failed: %s", method, type(exc).__name__)
            raise SlackFailed(method, "connection_failed") from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    def _fail(self, method: str, error: str) -> None:
        if error in FATAL_AUTH_ERRORS:
            with self._lock:
                first = self.fatal_error is None
                self.fatal_error = error
            if first:
                log.critical("Slack refused the bot token (%s): fix SLACK_BOT_TOKEN", error)
                if self._on_fatal:
                    self._on_fatal(error)
        if error in SETUP_ERRORS:
            raise SetupProblem(method, error)
        raise SlackFailed(method, error)
