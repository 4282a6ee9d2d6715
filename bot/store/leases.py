"""Who runs an executing hold request: a lease (a runner's name and an end time), taken in one
conditional statement (or with the approval itself), renewed while the runner works, released
when the runner stops early or its process stops cleanly. A runner is one run of one request in
one process, named ``<process>/<run>``: two runners of one process never share a lease.
A process starting up, or sweeping, resumes every executing request whose lease is free or has
lapsed, so a stopped runner's work is taken over as soon as its lease ends, by whichever process
notices first (see ``docs/states.md``)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from bot.store.primitives import Primitives
from bot.store.records import HoldRequest
from bot.store.sql import (
    LEASE_COUNTS,
    RELEASE_LEASE,
    RELEASE_LEASES,
    RENEW_LEASE,
    RESUMABLE,
    SOONEST_LEASE_END,
    TAKE_LEASE,
)

__all__ = ["LeaseCounts", "Leases"]


class LeaseCounts(NamedTuple):
    """Executing requests run by this runner, by others, and by nobody (free or lapsed)."""

    here: int
    elsewhere: int
    unleased: int


class Leases(Primitives):
    """The lease methods of :class:`~bot.store.relational.SqlStore`."""

    def take_lease(self, request_id: int, runner: str, until: datetime, now: datetime) -> bool:
        params = (runner, self._instant(until), request_id, self._instant(now))
        return self._change(TAKE_LEASE, params) == 1

    def renew_lease(self, request_id: int, runner: str, until: datetime, now: datetime) -> bool:
        params = (self._instant(until), request_id, runner, self._instant(now))
        return self._change(RENEW_LEASE, params) == 1

    def release_lease(self, request_id: int, runner: str) -> bool:
        return self._change(RELEASE_LEASE, (request_id, runner)) == 1

    def release_leases(self, process: str) -> int:
        prefix = f"{process}/"
        return self._change(RELEASE_LEASES, (process, len(prefix), prefix))

    def resumable(self, now: datetime) -> list[HoldRequest]:
        return self._requests(RESUMABLE, (self._instant(now),))

    def lease_counts(self, runner: str, now: datetime) -> LeaseCounts:
        at, prefix = self._instant(now), f"{runner}/"
        for row in self._rows(LEASE_COUNTS, (at, at, at, runner, len(prefix), prefix)):
            return LeaseCounts(int(row["here"]), int(row["elsewhere"]), int(row["unleased"]))
        return LeaseCounts(0, 0, 0)

    def soonest_lease_end(self, now: datetime) -> datetime | None:
        for row in self._rows(SOONEST_LEASE_END, (self._instant(now),)):
            return None if row["soonest"] is None else self._time_out(row["soonest"])
        return None
