"""Answering the person who typed or clicked, through ``response_url`` with a fallback.

``respond()`` does not raise when the ``response_url`` has expired or been used up: the
status is checked, and the message goes out through ``chat.postEphemeral`` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.deps import Deps
from bot.slack.blocks import Message
from bot.slack.webapi import SlackFailed

__all__ = ["Asker", "tell"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asker:
    """Who asked, where, and how to answer them."""

    user: str
    channel: str
    respond: Callable[..., Any]
    team: str | None = None


def tell(deps: Deps, asker: Asker, message: Message, *, in_channel: bool = False) -> None:
    try:
        response = asker.respond(
            text=message.text,
            blocks=message.blocks,
            response_type="in_channel" if in_channel else "ephemeral",
            replace_original=False,
        )
        status = getattr(response, "status_code", 200)
    except Exception as exc:  # the webhook client can raise on a dead connection
        log.warning("response_url failed: %s", type(exc).__name__)
        status = 0
    if 200 <= status < 300:
        return
    how = f"answered {status}" if status else "was not used"
    log.warning("the response_url %s; falling back to chat.postEphemeral", how)
    try:
        deps.poster.ephemeral(asker.channel, asker.user, message.text, message.blocks)
    except SlackFailed as exc:
        log.warning("could not reach %s at all: %s", asker.user, exc.error)
