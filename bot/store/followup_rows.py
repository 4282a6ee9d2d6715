"""The methods of :class:`~bot.store.contracts.HoldStore` that follow a waiting request up (its
approvers reminded once, its orders re-read, its card rendered again): each one statement."""

from __future__ import annotations

from datetime import datetime

from bot.store.primitives import Primitives
from bot.store.sql import CARD_OUTDATED, CLAIM_REMINDER, MARK_FOLLOWED

__all__ = ["FollowUpRows"]


class FollowUpRows(Primitives):
    def card_outdated(self, request_id: int) -> None:
        self._change(CARD_OUTDATED, (request_id,))

    def claim_reminder(self, request_id: int, at: datetime) -> bool:
        return self._change(CLAIM_REMINDER, (self._instant(at), request_id)) == 1

    def mark_followed(self, request_id: int, at: datetime) -> None:
        self._change(MARK_FOLLOWED, (self._instant(at), request_id))
