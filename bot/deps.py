"""The collaborators handed to handlers and jobs, as one frozen bundle."""

from __future__ import annotations

from dataclasses import dataclass

from bot.cartrover.service import OrderService
from bot.holds.approvers import Approvers
from bot.settings import Settings
from bot.slackio import Poster
from bot.store.base import Store
from bot.times import Clock
from bot.vitals import CartRoverPulse
from bot.workers import Workers

__all__ = ["Deps"]


@dataclass(frozen=True)
class Deps:
    settings: Settings
    clock: Clock
    cartrover: OrderService
    store: Store
    poster: Poster
    approvers: Approvers
    workers: Workers
    team_id: str | None = None  # the workspace auth.test reported for SLACK_BOT_TOKEN
    app_id: str | None = None
    pulse: CartRoverPulse | None = None  # CartRover's last replies to this process (App Home)
