"""What asking for a hold came to, as data for :mod:`bot.holds.messages` to put in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from bot.store.records import HoldRequest

__all__ = ["Asked", "Posted", "Posting"]


class Posting(Enum):
    POSTED = "posted"
    IN_DOUBT = "in_doubt"  # no answer came back: it may be in the channel
    FAILED = "failed"  # Slack refused it; the request was closed


@dataclass(frozen=True)
class Posted:
    """What became of a request's card: ``request`` as it now stands, and for a failure Slack's
    error and, for a setup problem, what to do about it."""

    outcome: Posting
    request: HoldRequest
    error: str = ""
    advice: str = ""


@dataclass(frozen=True)
class Asked:
    """What asking for a hold came to: the card's fate (None: nothing was opened), and the
    orders left out with why."""

    channel_id: str
    posted: Posted | None
    refused: list[tuple[str, str]] = field(default_factory=list)
    others_holdable: bool = False  # nothing opened, yet some orders could have been
