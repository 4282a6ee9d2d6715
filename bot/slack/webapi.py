"""Talking to Slack: post, update and ephemeral messages, with Slack's failures translated.

- 429s are retried after ``Retry-After`` by slack_sdk's ``RateLimitErrorRetryHandler`` (bounded).
- A connection error is retried only for idempotent methods: ``chat.postMessage`` has no idempotency
  key, so a reset after Slack accepted it must not post twice.
- ``not_in_channel`` / ``channel_not_found`` become :class:`SetupProblem` (never retried).
- ``invalid_auth`` / ``token_revoked`` / ``account_inactive`` mark the poster unhealthy and log one
  alert line.
- Posts never unfurl links: a link typed by a user stays a line of text, not a preview card.
- Every method goes through slack_sdk's typed method for it, which encodes the arguments the way
  Slack documents for that method: a JSON body for the write methods that accept JSON
  (``chat.*``, ``views.*``), form arguments for read methods such as ``usergroups.users.list``,
  to which a JSON body would be no arguments at all.

Answers through a ``response_url`` go through :class:`Responder` instead of bolt's own
``respond()``: only for a verified request, only to Slack's hooks host (or the configured Web
API's host), and without following redirects.
"""

from __future__ import annotations

import functools
import logging
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

import httpx
from slack_bolt.context.respond import Respond
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
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookResponse

from bot.settings import url_origin

__all__ = [
    "Poster",
    "Published",
    "Responder",
    "ResponseUrls",
    "SetupProblem",
    "SlackFailed",
    "SlackPoster",
    "make_web_client",
]

log = logging.getLogger(__name__)

Blocks = Sequence[dict[str, Any]]
View = Mapping[str, Any]
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


@dataclass(frozen=True)
class Published:
    """A view Slack now shows: its id, and its ``hash`` (what the next update must name)."""

    view_id: str
    view_hash: str | None = None


class Poster(Protocol):
    """The bot's outgoing Slack messages, modals and App Home views."""

    def post(self, channel: str, text: str, blocks: Blocks, *, thread_ts: str | None = None) -> str:
        """Post a message (in the thread of ``thread_ts`` when given); return its ``ts``."""
        ...

    def update(self, channel: str, ts: str, text: str, blocks: Blocks) -> None: ...

    def direct(self, user: str, text: str, blocks: Blocks) -> str:
        """A direct message from the app to ``user`` (its App Home's Messages tab); its ``ts``."""
        ...

    def ephemeral(self, channel: str, user: str, text: str, blocks: Blocks = ()) -> None: ...

    def open_view(self, trigger_id: str, view: View) -> Published:
        """``views.open``: a modal, within 3 s of the interaction that gave ``trigger_id``."""
        ...

    def update_view(self, view_id: str, view: View, view_hash: str | None = None) -> Published:
        """``views.update``: replace an open modal (refused when ``view_hash`` is not current)."""
        ...

    def publish_view(self, user_id: str, view: View, view_hash: str | None = None) -> Published:
        """``views.publish``: the user's App Home (refused when ``view_hash`` is not current)."""
        ...


class SlackPoster:
    def __init__(self, client: WebClient, on_fatal: Callable[[str], None] | None = None) -> None:
        self.client = client
        self._on_fatal = on_fatal
        self._lock = threading.Lock()
        self.fatal_error: str | None = None

    def post(self, channel: str, text: str, blocks: Blocks, *, thread_ts: str | None = None) -> str:
        reply = self._call(
            "chat.postMessage",
            lambda client: client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=list(blocks),
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
            ),
        )
        return str(reply["ts"])

    def direct(self, user: str, text: str, blocks: Blocks) -> str:
        """``conversations.open`` for the app's own DM with ``user`` (scope ``im:write``), then
        ``chat.postMessage`` there: a user id as ``channel`` would post in the user's DM with
        Slackbot instead (Slack's "Sending messages" guide), so the DM's own id is used."""
        opened = self._call(
            "conversations.open", lambda client: client.conversations_open(users=[user])
        )
        channel = opened.get("channel")
        dm = channel.get("id") if isinstance(channel, dict) else None
        if not isinstance(dm, str) or not dm:
            raise SlackFailed("conversations.open", "no_channel_in_reply")
        return self.post(dm, text, blocks)

    def update(self, channel: str, ts: str, text: str, blocks: Blocks) -> None:
        self._call(
            "chat.update",
            lambda client: client.chat_update(
                channel=channel, ts=ts, text=text, blocks=list(blocks)
            ),
        )

    def ephemeral(self, channel: str, user: str, text: str, blocks: Blocks = ()) -> None:
        self._call(
            "chat.postEphemeral",
            lambda client: client.chat_postEphemeral(
                channel=channel, user=user, text=text, blocks=list(blocks)
            ),
        )

    def open_view(self, trigger_id: str, view: View) -> Published:
        reply = self._call(
            "views.open", lambda client: client.views_open(trigger_id=trigger_id, view=dict(view))
        )
        return _published(reply)

    def update_view(self, view_id: str, view: View, view_hash: str | None = None) -> Published:
        reply = self._call(
            "views.update",
            lambda client: client.views_update(
                view_id=view_id, view=dict(view), hash=view_hash or None
            ),
        )
        return _published(reply)

    def publish_view(self, user_id: str, view: View, view_hash: str | None = None) -> Published:
        reply = self._call(
            "views.publish",
            lambda client: client.views_publish(
                user_id=user_id, view=dict(view), hash=view_hash or None
            ),
        )
        return _published(reply)

    def whoami(self) -> dict[str, Any]:
        """``auth.test``: the token's team and user; raises SlackFailed when refused."""
        return self._call("auth.test", lambda client: client.auth_test())

    def group_members(self, group_id: str) -> set[str]:
        """``usergroups.users.list``: the user ids in a user group (``S…``); SlackFailed when
        Slack refuses (``no_such_subteam``, ``missing_scope``, ``plan_upgrade_required``, …)."""
        reply = self._call(
            "usergroups.users.list", lambda client: client.usergroups_users_list(usergroup=group_id)
        )
        return {str(u) for u in reply.get("users") or ()}

    def _call(self, method: str, send: Callable[[WebClient], SlackResponse]) -> dict[str, Any]:
        """Run one typed slack_sdk method (``send``), which picks the encoding Slack documents
        for ``method``: JSON for the write methods that accept it, form arguments for the read
        methods, which see a JSON body as no arguments at all."""
        if self.fatal_error:
            raise SlackFailed(method, self.fatal_error)
        try:
            response = send(self.client)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
            self._fail(method, error)
        except (SlackRequestError, OSError) as exc:
            log.warning("Slack %s: connection failed: %s", method, type(exc).__name__)
            raise SlackFailed(method, "connection_failed") from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    def _fail(self, method: str, error: str) -> NoReturn:
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


def _published(reply: Mapping[str, Any]) -> Published:
    view = reply.get("view") if isinstance(reply.get("view"), dict) else {}
    view_hash = (view or {}).get("hash")
    return Published(str((view or {}).get("id") or ""), str(view_hash) if view_hash else None)


class ResponseUrls:
    """The origins a ``response_url`` may point at (``Settings.response_url_origins``)."""

    def __init__(self, origins: Iterable[str]) -> None:
        self.origins = frozenset(origins)

    def allows(self, url: str | None) -> bool:
        return bool(url) and url_origin(url or "") in self.origins


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every response_url post (building one per post costs milliseconds)."""
    return httpx.create_ssl_context()


class Responder(Respond):
    """``respond()`` for one request, in place of bolt's.

    It posts only when the request was verified (signed, or delivered over the app's own Socket
    Mode connection) and its ``response_url`` is on an allowed origin; a redirect is answered as
    what it is (not 2xx, so the caller falls back to ``chat.postEphemeral``), never followed.
    Links in the message do not unfurl unless asked. Anything refused is logged by origin only:
    the URL itself is a credential.
    """

    def __init__(
        self,
        response_url: str | None,
        *,
        allowed: ResponseUrls,
        verified: bool,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(response_url=response_url)
        self.allowed = allowed
        self.verified = verified
        self.timeout = timeout

    def __call__(
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[dict[str, Any] | Block] | None = None,
        attachments: Sequence[dict[str, Any] | Attachment] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WebhookResponse:
        url = self.response_url or ""
        if not self.verified:
            log.warning("not answering through the response_url of an unverified request")
            return WebhookResponse(url="", status_code=0, body="refused", headers={})
        if not self.allowed.allows(url):
            where = url_origin(url) or "an unreadable URL"
            log.warning("not posting to a response_url on %s: not a Slack host", where)
            return WebhookResponse(url="", status_code=0, body="refused", headers={})
        message: dict[str, Any] = dict(text) if isinstance(text, dict) else {"text": text}
        optional = {
            "blocks": [_as_dict(b) for b in blocks] if blocks is not None else None,
            "attachments": [_as_dict(a) for a in attachments] if attachments is not None else None,
            "response_type": response_type,
            "replace_original": replace_original,
            "delete_original": delete_original,
            "unfurl_links": False if unfurl_links is None else unfurl_links,
            "unfurl_media": False if unfurl_media is None else unfurl_media,
            "thread_ts": thread_ts,
            "metadata": metadata,
        }
        for key, value in optional.items():
            if value is not None:
                message.setdefault(key, value)
        timeout = httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0))
        with httpx.Client(timeout=timeout, follow_redirects=False, verify=_tls()) as http:
            reply = http.post(url, json=message)
        if reply.is_redirect:
            log.warning("a response_url answered %s (a redirect); not followed", reply.status_code)
        return WebhookResponse(
            url=url, status_code=reply.status_code, body=reply.text, headers=dict(reply.headers)
        )


def _as_dict(item: Any) -> dict[str, Any]:
    return dict(item) if isinstance(item, dict) else dict(item.to_dict())
