"""Where ``cartrover-bot check`` sees its replies: on the clients' own reply paths.

- Slack: :class:`RecordingWebClient`, a ``WebClient`` whose ``api_call`` hands each reply (or
  refusal, or failed connection) on, as a :class:`~bot.runners.check_shapes.Reply`. Every typed
  method (``auth_test``, ``usergroups_users_list``, …) calls ``api_call``, so nothing escapes it.
- CartRover: :func:`recording_http`, an httpx client whose transport wraps the CartRover client's
  own deadline transport; each reply body is copied as the client reads it (so the client's
  deadline and size limits still apply) and handed on when the client closes the reply.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web import SlackResponse

from bot.cartrover.exchange import DEFAULT_TIMEOUT
from bot.cartrover.transport import DeadlineTransport
from bot.runners.check_shapes import Reply

__all__ = ["MAX_RECORDED_BYTES", "RecordingWebClient", "decoded_body", "recording_http"]

MAX_RECORDED_BYTES = 2 * 1024 * 1024  # of one CartRover reply body


class RecordingWebClient(WebClient):
    """A ``WebClient`` that hands every reply it receives to ``on_reply``."""

    def __init__(self, on_reply: Callable[[Reply], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_reply = on_reply

    def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> SlackResponse:
        arguments = {**(params or {}), **(data or {}), **(json or {})}
        try:
            response = super().api_call(
                api_method,
                http_verb=http_verb,
                files=files,
                data=data,
                params=params,
                json=json,
                headers=headers,
                auth=auth,
            )
        except SlackApiError as exc:
            self._on_reply(_slack_reply(api_method, arguments, exc.response))
            raise
        except (SlackRequestError, OSError) as exc:
            reason = f"no answer: {type(exc).__name__}"
            self._on_reply(Reply("slack", api_method, arguments, error=reason))
            raise
        self._on_reply(_slack_reply(api_method, arguments, response))
        return response


def _slack_reply(method: str, arguments: dict[str, Any], response: SlackResponse) -> Reply:
    headers = {
        str(k): ", ".join(v) if isinstance(v, list | tuple) else str(v)
        for k, v in (response.headers or {}).items()
    }
    body = response.data if isinstance(response.data, dict) else _text(response.data)
    return Reply("slack", method, arguments, response.status_code, headers, body)


def recording_http(on_reply: Callable[[Reply], None]) -> httpx.Client:
    """An httpx client for ``CartRoverClient(http=…)``, over the client's deadline transport."""
    transport = _RecordingTransport(DeadlineTransport(), on_reply)
    return httpx.Client(transport=transport, timeout=DEFAULT_TIMEOUT)


class _RecordingTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, on_reply: Callable[[Reply], None]) -> None:
        self._inner, self._on_reply = inner, on_reply

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        call = f"{request.method} {request.url.path}"
        arguments = dict(parse_qsl(request.url.query.decode("ascii", "replace")))
        try:
            response = self._inner.handle_request(request)
        except httpx.HTTPError as exc:
            reason = f"no answer: {type(exc).__name__}"
            self._on_reply(Reply("cartrover", call, arguments, error=reason))
            raise

        def received(raw: bytes, truncated: bool) -> None:
            status, headers = response.status_code, dict(response.headers.items())
            body = decoded_body(status, response.headers, raw)
            reply = Reply("cartrover", call, arguments, status, headers, body, truncated=truncated)
            self._on_reply(reply)

        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_CopyingStream(response.stream, received),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._inner.close()


class _CopyingStream(httpx.SyncByteStream):
    """The reply's bytes as they pass (up to MAX_RECORDED_BYTES), handed on once, at close."""

    def __init__(self, inner: httpx.SyncByteStream, done: Callable[[bytes, bool], None]) -> None:
        self._inner, self._done = inner, done
        self._chunks: list[bytes] = []
        self._size = 0
        self._finished = False
        self._reported = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            if self._size < MAX_RECORDED_BYTES:
                self._chunks.append(chunk[: MAX_RECORDED_BYTES - self._size])
            self._size += len(chunk)
            yield chunk
        self._finished = True

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            if not self._reported:
                self._reported = True
                truncated = not self._finished or self._size > MAX_RECORDED_BYTES
                self._done(b"".join(self._chunks), truncated)


def decoded_body(status: int, headers: httpx.Headers, raw: bytes) -> Any:
    """The body as the client read it: content-decoded (gzip, …), then JSON where it is."""
    try:
        content = httpx.Response(status, headers=headers, content=raw).read()
    except httpx.DecodingError:
        return "(a body that could not be decoded)"
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return _text(content)


def _text(data: Any) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return str(data)
