"""Who may approve or withdraw a hold request.

Fails closed: with no ``APPROVERS`` nobody may approve. The requester may not approve their own
request unless ``ALLOW_SELF_APPROVAL``, but may withdraw it. User groups (``S…``) are expanded
through an injected lookup (``usergroups.users.list``) and cached briefly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from bot.deps import ApproverList
from bot.holds.rules import RefusalReason

__all__ = ["Approvers", "refusal_to_approve", "refusal_to_reject"]

log = logging.getLogger(__name__)


class Approvers:
    """The :class:`~bot.deps.ApproverList` the bot uses."""

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

    @property
    def named(self) -> bool:
        return bool(self.users or self.groups)

    def is_approver(self, user_id: str) -> bool:
        if user_id in self.users:
            return True
        return any(user_id in self._members(group) for group in self.groups)

    def people(self) -> frozenset[str]:
        return self.users.union(*(self._members(group) for group in self.groups))

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


def refusal_to_approve(
    approvers: ApproverList, user_id: str, requester: str
) -> RefusalReason | None:
    """Why ``user_id`` may not approve a request by ``requester``; None when they may."""
    if not approvers.named:
        return RefusalReason.NO_APPROVERS
    if not approvers.is_approver(user_id):
        return RefusalReason.NOT_APPROVER
    if user_id == requester and not approvers.allow_self_approval:
        return RefusalReason.OWN_REQUEST
    return None


def refusal_to_reject(
    approvers: ApproverList, user_id: str, requester: str
) -> RefusalReason | None:
    """The requester may withdraw; approvers may reject; nobody else."""
    if user_id == requester or approvers.is_approver(user_id):
        return None
    return RefusalReason.MAY_NOT_REJECT
