"""Who may approve or withdraw a hold request (reliability R2, R3)."""

from __future__ import annotations

import pytest

from bot.holds.approvers import Approvers, refusal_to_approve, refusal_to_reject
from bot.holds.rules import RefusalReason

REQUESTER = "U0REQUEST"
APPROVER = "U0APPROVE"
STRANGER = "U0STRANGE"
GROUP = "S0OPSTEAM"
MEMBER = "W0INGROUP"


class Members:
    """A fake `usergroups.users.list`: counts calls, can be told to fail."""

    def __init__(self, groups: dict[str, set[str]]) -> None:
        self.groups = groups
        self.calls: list[str] = []
        self.failing = False

    def __call__(self, group: str) -> set[str]:
        self.calls.append(group)
        if self.failing:
            raise ConnectionError("slack is down")
        return set(self.groups[group])


class Ticks:
    """An injectable monotonic clock."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_nobody_may_approve_without_approvers() -> None:
    """With no APPROVERS every approval is refused (fail closed), naming the setting."""
    approvers = Approvers([])
    for who in (APPROVER, STRANGER, REQUESTER):
        refusal = refusal_to_approve(approvers, who, REQUESTER)
        assert refusal is not None
        assert refusal is RefusalReason.NO_APPROVERS
    assert not approvers.is_approver(APPROVER)


def test_a_listed_user_may_approve() -> None:
    """A user id in APPROVERS may approve someone else's request."""
    approvers = Approvers([APPROVER, "W0OTHER01"])
    assert refusal_to_approve(approvers, APPROVER, REQUESTER) is None
    assert refusal_to_approve(approvers, "W0OTHER01", REQUESTER) is None


def test_an_unlisted_user_may_not_approve() -> None:
    """A user outside APPROVERS is refused with a reason."""
    refusal = refusal_to_approve(Approvers([APPROVER]), STRANGER, REQUESTER)
    assert refusal is not None
    assert refusal is RefusalReason.NOT_APPROVER


def test_a_group_member_may_approve_through_the_lookup() -> None:
    """A member of a listed user group may approve; a non-member may not."""
    approvers = Approvers([GROUP], group_members=Members({GROUP: {MEMBER}}))
    assert refusal_to_approve(approvers, MEMBER, REQUESTER) is None
    assert refusal_to_approve(approvers, STRANGER, REQUESTER) is not None


def test_a_group_without_a_lookup_grants_nobody() -> None:
    """A listed group with no way to expand it lets nobody approve."""
    approvers = Approvers([GROUP])
    assert not approvers.is_approver(MEMBER)
    assert refusal_to_approve(approvers, MEMBER, REQUESTER) is not None


def test_group_members_are_cached_within_the_cache_time() -> None:
    """The lookup is called once while the cache is fresh and again after it expires."""
    members, ticks = Members({GROUP: {MEMBER}}), Ticks()
    approvers = Approvers([GROUP], group_members=members, cache_seconds=300, monotonic=ticks)
    assert approvers.is_approver(MEMBER)
    ticks.now += 299
    assert approvers.is_approver(MEMBER)
    assert not approvers.is_approver(STRANGER)
    assert members.calls == [GROUP]
    ticks.now += 2
    assert approvers.is_approver(MEMBER)
    assert members.calls == [GROUP, GROUP]


def test_a_removed_member_loses_approval_once_the_cache_expires() -> None:
    """A refreshed lookup that no longer lists a user refuses them."""
    members, ticks = Members({GROUP: {MEMBER}}), Ticks()
    approvers = Approvers([GROUP], group_members=members, cache_seconds=60, monotonic=ticks)
    assert approvers.is_approver(MEMBER)
    members.groups[GROUP] = set()
    ticks.now += 61
    assert not approvers.is_approver(MEMBER)


def test_a_direct_user_is_checked_without_a_lookup() -> None:
    """A user listed by id is an approver without expanding any group."""
    members = Members({GROUP: set()})
    approvers = Approvers([APPROVER, GROUP], group_members=members)
    assert approvers.is_approver(APPROVER)
    assert members.calls == []


def test_a_failing_lookup_fails_closed() -> None:
    """When the group lookup raises, group members are refused and nothing crashes."""
    members = Members({GROUP: {MEMBER}})
    members.failing = True
    approvers = Approvers([GROUP], group_members=members)
    refusal = refusal_to_approve(approvers, MEMBER, REQUESTER)
    assert refusal is not None
    assert refusal is RefusalReason.NOT_APPROVER


def test_a_failed_lookup_is_retried_on_the_next_click() -> None:
    """A failure is not cached: the next check asks again and can succeed."""
    members = Members({GROUP: {MEMBER}})
    members.failing = True
    approvers = Approvers([GROUP], group_members=members)
    assert not approvers.is_approver(MEMBER)
    members.failing = False
    assert approvers.is_approver(MEMBER)
    assert members.calls == [GROUP, GROUP]


def test_self_approval_is_refused_by_default() -> None:
    """An approver who asked for the hold may not approve it themselves (R3)."""
    refusal = refusal_to_approve(Approvers([REQUESTER, APPROVER]), REQUESTER, REQUESTER)
    assert refusal is not None
    assert refusal is RefusalReason.OWN_REQUEST


def test_self_approval_is_allowed_when_configured() -> None:
    """With ALLOW_SELF_APPROVAL an approver may approve their own request."""
    approvers = Approvers([REQUESTER], allow_self_approval=True)
    assert refusal_to_approve(approvers, REQUESTER, REQUESTER) is None


def test_allowing_self_approval_does_not_make_a_requester_an_approver() -> None:
    """ALLOW_SELF_APPROVAL lets only listed approvers approve their own request."""
    approvers = Approvers([APPROVER], allow_self_approval=True)
    assert refusal_to_approve(approvers, REQUESTER, REQUESTER) is not None


@pytest.mark.parametrize("ids", [[], [APPROVER], [GROUP]])
def test_the_requester_may_withdraw(ids: list[str]) -> None:
    """The requester may reject (withdraw) their own request, approver or not."""
    approvers = Approvers(ids, group_members=Members({GROUP: {MEMBER}}))
    assert refusal_to_reject(approvers, REQUESTER, REQUESTER) is None


def test_an_approver_may_reject() -> None:
    """A listed approver, directly or through a group, may reject someone else's request."""
    approvers = Approvers([APPROVER, GROUP], group_members=Members({GROUP: {MEMBER}}))
    assert refusal_to_reject(approvers, APPROVER, REQUESTER) is None
    assert refusal_to_reject(approvers, MEMBER, REQUESTER) is None


def test_a_stranger_may_not_reject() -> None:
    """Someone who is neither the requester nor an approver is refused."""
    refusal = refusal_to_reject(Approvers([APPROVER]), STRANGER, REQUESTER)
    assert refusal is not None
    assert refusal is RefusalReason.MAY_NOT_REJECT
