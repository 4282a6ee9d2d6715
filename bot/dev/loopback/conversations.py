"""The local Slack's conversations: which channels were archived or deleted, which the bot is no
longer in, which users are deactivated, and the app's direct-message conversations, with the
refusals Slack documents for each.

- ``chat.postMessage`` and ``chat.postEphemeral``: ``channel_not_found`` for a deleted channel
  (or a DM never opened), ``is_archived`` for an archived one, ``not_in_channel`` where the bot
  is not a member (each method's reference page).
- ``chat.update``: ``is_inactive`` for a message in an archived channel ("The message cannot be
  edited within a frozen, archived or deleted channel"), ``channel_not_found`` for a deleted one.
- ``conversations.open``: ``users_list_not_supplied`` without ``users``; ``user_not_found`` for a
  value that is not a user id; ``user_disabled`` for a deactivated user; one user opens (or
  resumes) the app's DM with them, a ``D…`` id. Several users would open a group DM, which the
  bot never does: ``method_not_supported_for_channel_type`` here.

Every channel not named here exists and has the bot in it. Standard library only.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Mapping
from typing import Any

__all__ = ["Conversations"]

_USER = re.compile(r"[UW][A-Z0-9]{2,}")


class Conversations:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.archived: set[str] = set()
        self.deleted: set[str] = set()
        self.without_bot: set[str] = set()
        self.disabled_users: set[str] = set()
        self.dms: dict[str, str] = {}  # DM channel id → the user it is with
        self._numbers = itertools.count(1)

    # -- what a test does to the workspace
    def archive(self, channel: str) -> None:
        with self._lock:
            self.archived.add(channel)

    def delete(self, channel: str) -> None:
        with self._lock:
            self.deleted.add(channel)

    def remove_bot(self, channel: str) -> None:
        with self._lock:
            self.without_bot.add(channel)

    def disable_user(self, user: str) -> None:
        with self._lock:
            self.disabled_users.add(user)

    def dm_with(self, user: str) -> str | None:
        """The app's DM channel with ``user``, if it was opened."""
        with self._lock:
            return next((dm for dm, who in self.dms.items() if who == user), None)

    # -- Slack's answers
    def refuse_post(self, channel: str) -> str | None:
        """Why a message cannot be posted in ``channel`` (None: it can)."""
        with self._lock:
            if channel in self.deleted:
                return "channel_not_found"
            if channel.startswith("D"):
                return None if channel in self.dms else "channel_not_found"
            if channel in self.archived:
                return "is_archived"
            if channel in self.without_bot:
                return "not_in_channel"
            return None

    def refuse_update(self, channel: str) -> str | None:
        """Why a message in ``channel`` cannot be updated (None: it can)."""
        with self._lock:
            if channel in self.deleted:
                return "channel_not_found"
            if channel in self.archived:
                return "is_inactive"
            return None

    def open(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """``conversations.open``'s answer."""
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if len(users) > 1:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        (user,) = users
        if not _USER.fullmatch(user):
            return {"ok": False, "error": "user_not_found"}
        with self._lock:
            if user in self.disabled_users:
                return {"ok": False, "error": "user_disabled"}
            dm = next((d for d, who in self.dms.items() if who == user), None)
            if dm is None:
                dm = f"D0DM{next(self._numbers):05d}"
                self.dms[dm] = user
                return {"ok": True, "channel": {"id": dm}}
        return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": dm}}
