"""``register(app, deps)``: the only place where Slack ids and subcommands meet the functions
that answer them: the command, every action id, the shortcuts, the modals and the events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from bot import grammar
from bot.deps import Deps
from bot.slack import ids
from bot.workers import Lane
from handlers import commands, digest, holds, home
from handlers.commands import Subcommand
from handlers.replies import Clicked, handle_click, handle_error

__all__ = [
    "SUBCOMMANDS",
    "register",
    "registered_actions",
    "registered_events",
    "registered_shortcuts",
    "registered_views",
]

# The one subcommand table: each syntax of bot.grammar and what answers it. Routing and help are
# both generated from it.
SUBCOMMANDS = (
    Subcommand(grammar.HELP),
    Subcommand(grammar.STATUS, commands.run_status),
    Subcommand(grammar.HOLD, commands.run_hold),
    Subcommand(grammar.PENDING, commands.run_pending),
    Subcommand(grammar.HISTORY, commands.run_history),
    Subcommand(grammar.STALE, digest.run_stale),
    Subcommand(grammar.DIGEST, digest.run_digest),
)

Listener = Callable[[Deps, Ack, dict[str, Any], Respond], None]

# Clicks whose work runs after the ack, and the lane it runs in: a queue of reads never delays
# a decision.
_ACTIONS: dict[str, tuple[Clicked, Lane]] = {
    ids.APPROVE_HOLD: (holds.approve_clicked, Lane.DECISIONS),
    ids.REQUEST_HOLD_ALL: (digest.hold_all_clicked, Lane.READS),
}
# Clicks that open a modal at once, within the trigger's three seconds.
_OPENING: dict[str, Listener] = {
    ids.REJECT_HOLD: holds.reject_clicked,
    ids.OPEN_HOLD_FORM: holds.open_form_clicked,
}
# Approve and Reject clicked on an App Home: registered first, with a matcher, so that bolt
# (which runs only the first matching listener) sends Home clicks here and card clicks on.
_FROM_HOME = {ids.APPROVE_HOLD: True, ids.REJECT_HOLD: False}
_SHORTCUTS = {ids.HOLD_SHORTCUT: holds.shortcut, ids.HOLD_MESSAGE_SHORTCUT: holds.shortcut}
_VIEWS: dict[str, Callable[[Deps, Ack, dict[str, Any]], None]] = {
    ids.HOLD_FORM: holds.hold_form_submitted_listener,
    ids.REJECT_FORM: holds.reject_form_submitted,
}
_EVENTS: dict[str, Callable[[Deps, dict[str, Any]], None]] = {ids.HOME_OPENED: home.home_opened}


def registered_actions() -> set[str]:
    return set(_ACTIONS) | set(_OPENING)


def registered_shortcuts() -> set[str]:
    return set(_SHORTCUTS)


def registered_views() -> set[str]:
    return set(_VIEWS)


def registered_events() -> set[str]:
    return set(_EVENTS)


def register(app: App, deps: Deps) -> App:
    """Bind the command, every action id, shortcut, modal and event, and the error handler to
    ``app``; return it."""

    @app.command(ids.COMMAND)
    def _command(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        if holds.wants_hold_form(body.get("text")):
            holds.hold_form_from_command(deps, ack, body, respond)
            return
        commands.handle_command(deps, ack, body, respond, SUBCOMMANDS)

    for action_id, approve in _FROM_HOME.items():
        app.action(action_id, matchers=[home.from_home])(_bind_home(deps, approve=approve))
    for action_id, (clicked, lane) in _ACTIONS.items():
        app.action(action_id)(_bind(deps, clicked, lane))
    for action_id, listener in _OPENING.items():
        app.action(action_id)(_bind_listener(deps, listener))
    for callback_id, opened in _SHORTCUTS.items():
        app.shortcut(callback_id)(_bind_listener(deps, opened))
    for callback_id, submitted in _VIEWS.items():
        app.view_submission(callback_id)(_bind_view(deps, submitted))
    for event, handled in _EVENTS.items():
        app.event(event)(_bind_event(deps, handled))

    @app.error
    def _error(error: Exception, body: dict[str, Any], respond: Respond) -> None:
        handle_error(error, body, respond)

    return app


def _bind(deps: Deps, clicked: Clicked, lane: Lane) -> Any:
    def on_click(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        handle_click(deps, ack, body, respond, clicked, lane)

    on_click.__name__ = clicked.__name__
    return on_click


def _bind_listener(deps: Deps, answer: Listener) -> Any:
    def on_interaction(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        answer(deps, ack, body, respond)

    on_interaction.__name__ = answer.__name__
    return on_interaction


def _bind_home(deps: Deps, *, approve: bool) -> Any:
    def on_home_click(ack: Ack, body: dict[str, Any]) -> None:
        home.home_decision(deps, ack, body, approve=approve)

    on_home_click.__name__ = "home_approve" if approve else "home_reject"
    return on_home_click


def _bind_view(deps: Deps, submitted: Callable[[Deps, Ack, dict[str, Any]], None]) -> Any:
    def on_submission(ack: Ack, body: dict[str, Any]) -> None:
        submitted(deps, ack, body)

    on_submission.__name__ = submitted.__name__
    return on_submission


def _bind_event(deps: Deps, handled: Callable[[Deps, dict[str, Any]], None]) -> Any:
    def on_event(body: dict[str, Any]) -> None:
        handled(deps, body)

    on_event.__name__ = handled.__name__
    return on_event
