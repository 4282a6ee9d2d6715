"""Ids shared by block builders, handlers and ``manifest.yml``: the command, action ids, shortcut
and modal callback ids, the input fields of the modals, the events the app subscribes to."""

from __future__ import annotations

COMMAND = "/cartrover"

APPROVE_HOLD = "approve_hold"
REJECT_HOLD = "reject_hold"
REQUEST_HOLD_ALL = "request_hold_all"
OPEN_HOLD_FORM = "open_hold_form"  # the App Home's "Hold test orders…" button

# Every action id a builder may render; a test checks each has a registered listener (R26).
ALL_ACTIONS = (APPROVE_HOLD, REJECT_HOLD, REQUEST_HOLD_ALL, OPEN_HOLD_FORM)

# Shortcuts, as declared in manifest.yml (a test keeps the two in step).
HOLD_SHORTCUT = "hold_test_orders"  # global: opens the hold form
HOLD_MESSAGE_SHORTCUT = "hold_orders_in_message"  # on a message: the form with its orders
ALL_SHORTCUTS = (HOLD_SHORTCUT, HOLD_MESSAGE_SHORTCUT)

# Modals (their callback ids) and their input fields (block id = action id = the field's name).
HOLD_FORM = "hold_form"
REJECT_FORM = "reject_form"
HOLD_RESULT = "hold_form_result"  # what became of a submitted hold form; nothing to submit
ALL_VIEWS = (HOLD_FORM, REJECT_FORM)  # the modals that can be submitted
ORDERS_FIELD = "orders"
REASON_FIELD = "reason"
CHANNEL_FIELD = "channel"
REJECT_REASON_FIELD = "reject_reason"

# Events API subscriptions, as declared in manifest.yml.
HOME_OPENED = "app_home_opened"
ALL_EVENTS = (HOME_OPENED,)
