"""The local Slack's views: modals opened with ``views.open`` and replaced with ``views.update``,
App Home tabs published with ``views.publish``, and what a view submission's answer does to a
modal (``response_action``: ``errors`` keeps it open with the errors, ``update`` replaces it,
anything else closes it).

As Slack does: every view has an id and a ``hash`` that changes with each new version; an update
or a publish naming an older ``hash`` is refused with ``hash_conflict``; a Home keeps its id for
its user; a ``trigger_id`` opens one modal only (``exchanged_trigger_id`` the second time), and
updating a closed modal fails with ``not_found``. :meth:`Views.submitted` builds the ``view``
object Slack sends with a submission or a click: the view as shown, its ``state.values`` filled
in from what was typed (or the inputs' initial values).
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ShownView", "Views"]

View = dict[str, Any]


@dataclass
class ShownView:
    """One modal or Home as Slack shows it now."""

    id: str
    view: View
    hash: str
    kind: str  # "modal" or "home"
    user: str | None = None  # the Home's user
    closed: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    versions: int = 1
    typed: dict[str, str] = field(default_factory=dict)  # what the inputs hold now, by block


class Views:
    def __init__(self, team_id: str, app_id: str = "A0LOOPBACK") -> None:
        self.team_id, self.app_id = team_id, app_id
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._views: dict[str, ShownView] = {}
        self._homes: dict[str, str] = {}  # user → view id
        self._triggers: set[str] = set()

    # -- the Web API methods
    def open(self, body: Mapping[str, Any]) -> dict[str, Any]:
        trigger, view = str(body.get("trigger_id") or ""), body.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        with self._lock:
            if not trigger:
                return {"ok": False, "error": "invalid_trigger_id"}
            if trigger in self._triggers:
                return {"ok": False, "error": "exchanged_trigger_id"}
            self._triggers.add(trigger)
            shown = ShownView(self._new_id(), copy.deepcopy(view), self._new_hash(), "modal")
            self._views[shown.id] = shown
            return self._reply(shown)

    def update(self, body: Mapping[str, Any]) -> dict[str, Any]:
        view = body.get("view")
        with self._lock:
            shown = self._views.get(str(body.get("view_id") or ""))
            if shown is None or shown.closed or shown.kind != "modal":
                return {"ok": False, "error": "not_found"}
            if not isinstance(view, dict):
                return {"ok": False, "error": "invalid_arguments"}
            if body.get("hash") and body.get("hash") != shown.hash:
                return {"ok": False, "error": "hash_conflict"}
            self._replace(shown, view)
            return self._reply(shown)

    def publish(self, body: Mapping[str, Any]) -> dict[str, Any]:
        user, view = str(body.get("user_id") or ""), body.get("view")
        if not user or not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        with self._lock:
            shown = self._views.get(self._homes.get(user, ""))
            if shown is None:
                shown = ShownView(self._new_id(), copy.deepcopy(view), "", "home", user)
                self._views[shown.id] = shown
                self._homes[user] = shown.id
                shown.versions = 0
            elif body.get("hash") and body.get("hash") != shown.hash:
                return {"ok": False, "error": "hash_conflict"}
            self._replace(shown, view)
            return self._reply(shown)

    # -- what a submission's answer does
    def answer(self, view_id: str, response: Mapping[str, Any] | None) -> ShownView:
        """Apply the bot's answer to a submission of ``view_id`` (its HTTP body as JSON)."""
        with self._lock:
            shown = self._views[view_id]
            action = (response or {}).get("response_action")
            errors = (response or {}).get("errors")
            if action == "errors" and isinstance(errors, dict):
                shown.errors = {str(k): str(v) for k, v in errors.items()}
            elif action == "update" and isinstance((response or {}).get("view"), dict):
                self._replace(shown, dict((response or {})["view"]))
            else:
                shown.closed = True
            return shown

    def close(self, view_id: str) -> None:
        with self._lock:
            self._views[view_id].closed = True

    # -- looking
    def get(self, view_id: str) -> ShownView | None:
        with self._lock:
            return self._views.get(view_id)

    def home(self, user: str) -> ShownView | None:
        with self._lock:
            return self._views.get(self._homes.get(user, ""))

    def modals(self) -> list[ShownView]:
        """Every modal ever opened, oldest first."""
        with self._lock:
            return [v for v in self._views.values() if v.kind == "modal"]

    def submitted(self, view_id: str, values: Mapping[str, str] | None = None) -> View:
        """The ``view`` object of a submission (or a click) on ``view_id``: as shown, with
        ``state.values`` from ``values`` (by input block id; a missing one keeps what was typed
        before, or the initial value). The inputs keep what is typed, as in Slack, until the
        view is replaced."""
        with self._lock:
            shown = self._views[view_id]
            shown.typed.update(values or {})
            view = copy.deepcopy(shown.view)
            state: dict[str, Any] = {}
            for block in view.get("blocks") or ():
                if block.get("type") != "input" or not isinstance(block.get("element"), dict):
                    continue
                element = block["element"]
                typed = shown.typed.get(str(block.get("block_id")))
                state[str(block.get("block_id"))] = {
                    str(element.get("action_id")): _state(element, typed)
                }
            view.update(
                id=shown.id,
                team_id=self.team_id,
                app_id=self.app_id,
                hash=shown.hash,
                state={"values": state},
                root_view_id=shown.id,
            )
            view.setdefault("private_metadata", "")
            view.setdefault("callback_id", "")
            return view

    # -- inside
    def _replace(self, shown: ShownView, view: Mapping[str, Any]) -> None:
        shown.view = copy.deepcopy(dict(view))
        shown.hash = self._new_hash()
        shown.errors = {}
        shown.typed = {}
        shown.versions += 1

    def _reply(self, shown: ShownView) -> dict[str, Any]:
        view = copy.deepcopy(shown.view)
        view.update(id=shown.id, hash=shown.hash, team_id=self.team_id, app_id=self.app_id)
        return {"ok": True, "view": view}

    def _new_id(self) -> str:
        return f"V{next(self._numbers):08d}"

    def _new_hash(self) -> str:
        return f"1700000000.{next(self._numbers):08d}"


def _state(element: Mapping[str, Any], typed: str | None) -> dict[str, Any]:
    kind = str(element.get("type"))
    if kind == "conversations_select":
        chosen = typed if typed is not None else element.get("initial_conversation")
        return {"type": kind, "selected_conversation": chosen or None}
    value = typed if typed is not None else element.get("initial_value")
    return {"type": kind, "value": value if value else None}
