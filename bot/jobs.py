"""Scheduled bodies, free of APScheduler: each takes ``Deps`` and never raises (it logs)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot import approval
from bot.deps import Deps

__all__ = ["guarded", "maintenance"]

log = logging.getLogger(__name__)


def guarded(name: str, body: Callable[[], object]) -> Callable[[], None]:
    """Wrap a job so one failure is logged with its name and the next run still happens."""

    def run() -> None:
        try:
            body()
        except Exception:
            log.exception("scheduled job %s failed", name)

    run.__name__ = name
    return run


def maintenance(deps: Deps) -> None:
    """Expire overdue hold requests and finish approved ones that a stopped process left."""
    approval.sweep(deps)
    approval.resume_unfinished(deps)
