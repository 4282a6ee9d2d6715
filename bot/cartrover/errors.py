"""Every way a CartRover call can fail, under one root.

    CartRoverError                 .message .http_status .error_code .process_id
    ├── ConnectionFailed           never reached CartRover, or no complete answer (timeouts, resets)
    │                              .request_sent: False when the request surely never left
    ├── Unavailable                HTTP 5xx or an HTML error page
    ├── RateLimited                error_code "RateLimit" or HTTP 429   .retry_after (seconds)
    ├── AuthenticationFailed       HTTP 401/403: wrong or revoked API user / key
    ├── OrderNotFound              recognisably "no such order" (HTTP 404 or a not-found message)
    ├── InvalidRequest             error_code "Invalid" (or HTTP 400/422)
    ├── Refused                    error_code "Failure", or any other error envelope
    ├── UnexpectedReply            a reply the client cannot read (bad JSON, missing fields, …)
    ├── NotConfigured              the client lacks what the call needs (the cancel keys); nothing
    │                              was sent
    └── Withheld                   the caller said no just before the request would have left;
                                   nothing was sent

httpx exceptions never escape the client: they are translated to :class:`ConnectionFailed`.
Messages never contain credentials or full URLs with query strings.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "CartRoverError",
    "ConnectionFailed",
    "InvalidRequest",
    "NotConfigured",
    "OrderNotFound",
    "RateLimited",
    "Refused",
    "Unavailable",
    "UnexpectedReply",
    "Withheld",
]


class CartRoverError(Exception):
    """A CartRover call failed. Carries what CartRover said, where it said anything."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        error_code: str | None = None,
        process_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.error_code = error_code
        self.process_id = process_id

    def __str__(self) -> str:
        parts = [self.message]
        if self.error_code:
            parts.append(f"error_code={self.error_code}")
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        if self.process_id:
            parts.append(f"Process-ID {self.process_id}")
        return " · ".join(parts)


class ConnectionFailed(CartRoverError):
    """No (complete) answer. ``request_sent`` is False only when the request surely never left
    (connect error / connect timeout / pool timeout), which is the one case a cancel may retry."""

    def __init__(self, message: str, *, request_sent: bool, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.request_sent = request_sent


class Unavailable(CartRoverError):
    """CartRover answered with a server error (5xx) or a non-JSON error page."""


class RateLimited(CartRoverError):
    """Over CartRover's rate limit; ``retry_after`` is the server's hint in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class AuthenticationFailed(CartRoverError):
    """The API user / key pair was refused."""


class OrderNotFound(CartRoverError):
    """CartRover recognisably said that the order does not exist."""


class InvalidRequest(CartRoverError):
    """CartRover refused the request's data (``error_code: Invalid``)."""


class Refused(CartRoverError):
    """CartRover refused the call (``error_code: Failure`` or another error envelope)."""


class UnexpectedReply(CartRoverError):
    """A reply the client cannot interpret; never guessed at, always reported."""


class NotConfigured(CartRoverError):
    """The call needs credentials this client was not given (the cancel call's Cart API keys);
    nothing was sent."""


class Withheld(CartRoverError):
    """The caller's ``go_ahead`` said no once the call could leave (after any wait for the rate
    limit), so nothing was sent: for a cancel, its process is stopping or another runner has
    the order."""
