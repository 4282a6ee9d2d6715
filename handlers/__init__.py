"""``register(app, deps)``: the only place where Slack ids and subcommands meet the functions
that answer them."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot import grammar, ids
from bot.deps import Deps
from handlers import actions, commands, digest
from handlers.commands import Subcommand
from handlers.errors import handle_error

__all__ = ["SUBCOMMANDS", "register", "registered_actions"]

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
        commands.handle_command(deps, ack, body, respond, SUBCOMMANDS)

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
