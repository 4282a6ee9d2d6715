"""The collaborators handed to handlers and jobs, as one frozen bundle, and the two small
contracts of the features above it that the bundle carries: who may approve (implemented by
:mod:`bot.holds.approvers`) and the App Home's "what changed" signal (implemented by
:mod:`bot.home.publishing`). The composition root (:mod:`bot.runners.app`) builds both."""

from __future__ import annotations

import os
import secrets
import socket
import threading
from dataclasses import dataclass, field
from typing import Protocol

from bot.cartrover.service import OrderService
from bot.cartrover.vitals import CartRoverPulse
from bot.settings import Settings
from bot.slack.webapi import Poster
from bot.store.contracts import DigestStore, HoldStore, SurfaceStore
from bot.times import Clock
from bot.workers import Workers

__all__ = ["ApproverList", "Deps", "HomeSignal", "Lookout", "process_name"]


def process_name() -> str:
    """This process among the bot's processes: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class ApproverList(Protocol):
    """Who may approve hold requests (``APPROVERS``, user groups expanded)."""

    @property
    def named(self) -> bool:
        """Whether anyone at all is named (with nobody, nobody may approve)."""

    @property
    def allow_self_approval(self) -> bool: ...

    def is_approver(self, user_id: str) -> bool: ...

    def people(self) -> frozenset[str]:
        """Every approver's user id, user groups expanded (for direct messages)."""
        ...


class HomeSignal(Protocol):
    """The App Home's publishing: a hold request changed state (publish again every Home that
    may show it), or one person's Home is wanted now."""

    def changed(self, deps: Deps) -> None:
        """Note the change and return at once; the Homes are published on the bot's pool."""

    def show(self, deps: Deps, user_id: str, *, notice: str = "", shared: object = None) -> None:
        """Publish ``user_id``'s Home (with ``notice`` at the top), at most once every few
        seconds per person: asked again sooner, it is published once more when due, built
        from the store then."""


class Lookout:
    """Wakes this process's takeover (:mod:`bot.holds.takeover`) to look at once for approved
    holds nobody runs, instead of at its next regular look: after an approval, after a runner
    gave up its lease."""

    def __init__(self) -> None:
        self._wake = threading.Event()

    def nudge(self) -> None:
        self._wake.set()

    def wait(self, seconds: float) -> bool:
        """Sleep until nudged or ``seconds`` have passed; True if nudged."""
        nudged = self._wake.wait(seconds)
        self._wake.clear()
        return nudged


@dataclass(frozen=True)
class Deps:
    settings: Settings
    clock: Clock
    cartrover: OrderService
    # The store, by role: the same object behind each, seen through the narrowest contract.
    holds: HoldStore
    digests: DigestStore
    surfaces: SurfaceStore
    poster: Poster
    approvers: ApproverList
    workers: Workers
    home: HomeSignal  # the App Home's refresh, one per process (bot.home.publishing.Refresher)
    team_id: str | None = None  # the workspace auth.test reported for SLACK_BOT_TOKEN
    enterprise_id: str | None = None  # its Enterprise Grid org, if auth.test named one
    app_id: str | None = None
    # This process; each run of a hold request in it leases the request as "<runner>/<run>".
    runner: str = field(default_factory=process_name)
    lookout: Lookout = field(default_factory=Lookout)  # wakes the takeover (bot.holds.takeover)
    pulse: CartRoverPulse | None = None  # CartRover's last replies to this process (App Home)
