"""``register(app, deps)``: the only place where Slack ids meet handler functions."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot import ids
from bot.deps import Deps
from handlers import actions, commands, digest
from handlers.errors import handle_error

__all__ = ["register", "registered_actions"]

_ACTIONS: dict[str, actions.Clicked] = {
    ids.APPROVE_HOLD: actions.approve_clicked,
    ids.REJECT_HOLD: actions.reject_clicked,
    ids.REQUEST_HOLD_ALL: digest.hold_all_clicked,
}


def registered_actions() -> set[str]:
    return set(_ACTIONS)


def register(app: App, deps: Deps) -> App:
    """Bind the command, every action id and the error handler to ``app``; return it."""

    @app.command(ids.COMMAND)
    def _command(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        commands.handle_command(deps, ack, body, respond)

    for action_id, clicked in _ACTIONS.items():
        app.action(action_id)(_bind(deps, clicked))

    @app.error
    def _error(error: Exception, body: dict[str, Any], respond: Respond) -> None:
        handle_error(error, body, respond)

    return app


def _bind(deps: Deps, clicked: actions.Clicked) -> Any:
    def listener(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        actions.handle_click(deps, ack, body, respond, clicked)

    listener.__name__ = clicked.__name__
    return listener
