"""How the client retries and what it says when the network fails: tenacity policies (bounded by
an operation's deadline with :class:`bot.retrying.StopAtDeadline`), and httpx exceptions
translated into :mod:`bot.cartrover.errors`."""

from __future__ import annotations

import re

import httpx
import tenacity
from tenacity.wait import wait_base

from bot.cartrover.errors import CartRoverError, ConnectionFailed, RateLimited, UnexpectedReply

__all__ = ["NOT_SENT", "ReadWait", "translate"]

# The request surely never left: the one case in which even a cancel may be tried again.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def _detail(exc: Exception) -> str:
    text = re.sub(r"\w+://\S+", "<url>", " ".join(str(exc).split()))[:120]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def translate(exc: Exception, deadline: float | None) -> CartRoverError:
    """An httpx exception → ConnectionFailed / UnexpectedReply, without URL or credentials.
    ``deadline`` is the operation's deadline in seconds when that is what cut the call short."""
    if isinstance(exc, httpx.DecodingError):
        return UnexpectedReply(f"CartRover's reply could not be decoded ({_detail(exc)})")
    sent = not isinstance(exc, NOT_SENT)
    if deadline is not None and sent:
        message = f"no complete answer from CartRover within the {deadline:g} s deadline"
    elif sent:
        message = f"no complete answer from CartRover ({_detail(exc)})"
    else:
        message = f"could not reach CartRover; nothing was sent ({_detail(exc)})"
    return ConnectionFailed(message, request_sent=sent)


class ReadWait(wait_base):
    """Capped, jittered exponential backoff, but never shorter than the server's Retry-After."""

    def __init__(self) -> None:
        self._backoff = tenacity.wait_exponential_jitter(multiplier=0.5, max=8.0, jitter=0.5)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        wait = self._backoff(retry_state)
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            wait = max(wait, exc.retry_after)
        return wait
