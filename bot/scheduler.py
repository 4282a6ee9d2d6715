"""The in-process scheduler (APScheduler 3) and its jobs.

Effective settings are asserted by a test (R12): every job has an explicit time zone,
``misfire_grace_time`` of an hour, ``coalesce=True`` and ``max_instances=1``. The job store is in
memory and jobs are registered in code at every start; what must survive a restart lives in the
bot's own tables (hold requests, digest claims), never in the scheduler.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING, BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot import jobs
from bot.deps import Deps

__all__ = ["JOB_DEFAULTS", "MAINTENANCE_SECONDS", "build_scheduler", "scheduler_state"]

JOB_DEFAULTS: dict[str, Any] = {"misfire_grace_time": 3600, "coalesce": True, "max_instances": 1}
MAINTENANCE_SECONDS = 60


def build_scheduler(deps: Deps, *, blocking: bool = False) -> BaseScheduler:
    """A scheduler with every job attached (not started)."""
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler: BaseScheduler = cls(timezone=UTC, job_defaults=dict(JOB_DEFAULTS))
    scheduler.add_job(
        jobs.guarded("maintenance", lambda: jobs.maintenance(deps)),
        "interval",
        seconds=MAINTENANCE_SECONDS,
        id="maintenance",
        replace_existing=True,
        timezone=UTC,
    )
    return scheduler


def scheduler_state(scheduler: BaseScheduler | None) -> str:
    if scheduler is None:
        return "disabled"
    return {STATE_RUNNING: "running", STATE_PAUSED: "paused"}.get(scheduler.state, "stopped")
