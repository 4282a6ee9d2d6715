"""The collaborators handed to handlers and jobs, as one frozen bundle."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field

from bot.cartrover.service import OrderService
from bot.cartrover.vitals import CartRoverPulse
from bot.holds.approvers import Approvers
from bot.settings import Settings
from bot.slack.webapi import Poster
from bot.store.base import Store
from bot.times import Clock
from bot.workers import Workers

__all__ = ["Deps", "process_name"]


def process_name() -> str:
    """This process among the bot's processes: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


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
    runner: str = field(default_factory=process_name)  # this process, as a holder of leases
    pulse: CartRoverPulse | None = None  # CartRover's last replies to this process (App Home)
