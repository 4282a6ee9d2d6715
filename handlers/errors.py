"""What the user hears when something fails: specific for CartRover, brief for the rest.

No traceback ever reaches Slack; the log has it, with a correlation id the user can quote.
Nothing is said to anyone about a request that was not verified: its ``response_url`` could
point anywhere.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from bot.cartrover.errors import (
    AuthenticationFailed,
    CartRoverError,
    ConnectionFailed,
    RateLimited,
    Unavailable,
)
from bot.slack.blocks import Message
from bot.slack.mrkdwn import code, escape
from bot.slack.webapi import Responder

if TYPE_CHECKING:
    from bot.deps import Deps
    from handlers.replies import Asker

__all__ = ["cartrover_problem", "handle_error", "report_failure"]

log = logging.getLogger(__name__)


def cartrover_problem(exc: CartRoverError) -> Message:
    if isinstance(exc, AuthenticationFailed):
        text = (
            "CartRover refused the bot's API credentials. An admin should check "
            "CARTROVER_API_USER / CARTROVER_API_KEY (Merchant API Keys in CartRover)."
        )
    elif isinstance(exc, RateLimited):
        text = "CartRover is rate limiting the bot right now; try again in a minute."
    elif isinstance(exc, ConnectionFailed | Unavailable):
        text = "CartRover is not answering right now; try again in a few minutes."
    else:
        text = f"CartRover said: {escape(exc.message)}"
    if exc.process_id:
        text += f"\nCartRover Process-ID: {code(exc.process_id)}"
    return Message.note(text)


def report_failure(deps: Deps, asker: Asker, correlation: str) -> None:
    from handlers.replies import tell

    text = f"Sorry, something went wrong on my side. It was logged as `{correlation}`."
    tell(deps, asker, Message.note(text))


def handle_error(error: Exception, body: dict[str, Any], respond: Any) -> None:
    """bolt's global error handler: log once with a correlation id, tell the user briefly.

    Only a request that passed the request gate (so was verified) carries a verified
    :class:`~bot.slack.webapi.Responder`; for anything else, such as a request whose signature
    headers made bolt's own check fail, the error is logged in one line and nobody is answered.
    """
    correlation = uuid.uuid4().hex[:8]
    if not (isinstance(respond, Responder) and respond.verified):
        log.warning(
            "refused a request that failed before it was verified (correlation id %s): %s",
            correlation,
            type(error).__name__,
        )
        return
    log.error(
        "listener failed (correlation id %s): %s", correlation, type(error).__name__, exc_info=error
    )
    if body.get("response_url"):
        try:
            respond(
                text=f"Sorry, something went wrong on my side. It was logged as `{correlation}`.",
                response_type="ephemeral",
                replace_original=False,
            )
        except Exception:
            log.warning("could not tell the user about %s", correlation)
