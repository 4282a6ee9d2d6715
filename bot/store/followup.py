"""What following a waiting hold request up needs of the store: its approvers reminded once, its
orders re-read now and then, and its card rendered again when they change."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

__all__ = ["FollowUpStore"]


class FollowUpStore(Protocol):
    def card_outdated(self, request_id: int) -> None:
        """Forget what the request's card last showed (its orders changed while its state did
        not), so that ``lagging_cards`` finds it until it is rendered again."""

    def claim_reminder(self, request_id: int, at: datetime) -> bool:
        """Take the right to remind a pending request's approvers: True for exactly one caller,
        once per request."""

    def mark_followed(self, request_id: int, at: datetime) -> None:
        """Record that a pending request's orders were just re-read."""
