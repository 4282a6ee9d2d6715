"""Who may approve or withdraw a hold request (interface §3.2, reliability R2, R3).

Fails closed: with no ``APPROVERS`` nobody may approve. User groups (``S…``) are expanded through
an injected lookup (``usergroups.users.list``) and cached briefly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

__all__ = ["Approvers"]

log = logging.getLogger(__name__)


class Approvers:
    def __init__(
        self,
        ids: Iterable[str],
        *,
        allow_self_approval: bool = False,
        group_members: Callable[[str], set[str]] | None = None,
        cache_seconds: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        ids = tuple(ids)
        self.users = frozenset(i for i in ids if not i.startswith("S"))
        self.groups = tuple(i for i in ids if i.startswith("S"))
        self.allow_self_approval = allow_self_approval
        self._group_members = group_members
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def is_approver(self, user_id: str) -> bool:
        if user_id in self.users:
            return True
        return any(user_id in self._members(group) for group in self.groups)

    def refusal_to_approve(self, user_id: str, requester: str) -> str | None:
        """Why ``user_id`` may not approve a request by ``requester``; None when they may."""
        if not self.users and not self.groups:
            return "Nobody may approve holds yet: APPROVERS is not set for this bot."
        if not self.is_approver(user_id):
            return "You are not an approver for holds (ask an admin to add you to APPROVERS)."
        if user_id == requester and not self.allow_self_approval:
            return "You asked for this hold, so a second person must approve it."
        return None

    def refusal_to_reject(self, user_id: str, requester: str) -> str | None:
        """The requester may withdraw; approvers may reject; nobody else."""
        if user_id == requester or self.is_approver(user_id):
            return None
        return "Only an approver or the person who asked can reject this hold request."

    def _members(self, group: str) -> frozenset[str]:
        now = self._monotonic()
        with self._lock:
            cached = self._cache.get(group)
            if cached and now - cached[0] < self._cache_seconds:
                return cached[1]
        if self._group_members is None:
            return frozenset()
        try:
            members = frozenset(self._group_members(group))
        except Exception as exc:  # a lookup failure must fail closed, not crash the click
            log.warning("could not expand user group %s: %s", group, exc)
            return cached[1] if cached else frozenset()
        with self._lock:
            self._cache[group] = (now, members)
        return members
