"""Ids shared by block builders and handlers: the command, action ids, block-id prefixes."""

from __future__ import annotations

COMMAND = "/cartrover"

APPROVE_HOLD = "approve_hold"
REJECT_HOLD = "reject_hold"
REQUEST_HOLD_ALL = "request_hold_all"

# Every action id a builder may render; a test checks each has a registered listener (R26).
ALL_ACTIONS = (APPROVE_HOLD, REJECT_HOLD, REQUEST_HOLD_ALL)
