"""The ``/cartrover`` listener: ack at once, parse, then do the work on the bot's own pool."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, Respond

from bot import metrics
from bot.cartrover.errors import CartRoverError, OrderNotFound
from bot.cartrover.models import Order
from bot.deps import Deps
from bot.grammar import Command, Syntax, UsageError, parse
from bot.holds import flow
from bot.holds.messages import ambiguous_word, asked_message, pending_message, reason_hint
from bot.holds.rules import NOT_KNOWN
from bot.logcontext import log_context
from bot.lookup import StatusLine, history_message, status_message
from bot.slack.blocks.help import help_message, usage_error
from bot.slack.blocks.message import Message
from bot.spelling import suggestions
from bot.workers import Lane
from handlers.replies import Asker, cartrover_problem, report_failure, tell, telling_not_saved

__all__ = ["Runner", "Subcommand", "handle_command"]

log = logging.getLogger(__name__)

Runner = Callable[[Deps, Asker, Command], None]


@dataclass(frozen=True)
class Subcommand:
    """One row of the subcommand table: how it is written, and what answers it (None: the ack
    itself, as for ``help``)."""

    syntax: Syntax
    run: Runner | None = None


def handle_command(
    deps: Deps,
    ack: Ack,
    body: dict[str, Any],
    respond: Respond,
    subcommands: Sequence[Subcommand],
) -> None:
    syntaxes = [sub.syntax for sub in subcommands]
    try:
        command = parse(str(body.get("text") or ""), syntaxes)
    except UsageError as exc:
        metrics.COMMANDS.labels("invalid").inc()
        message = usage_error(str(exc), exc.usage, syntaxes)
        ack(text=message.text, blocks=message.blocks, response_type="ephemeral")
        return
    metrics.COMMANDS.labels(command.name).inc()
    run = next((sub.run for sub in subcommands if sub.syntax.name == command.name), None)
    if run is None:  # help, answered in the ack
        message = help_message(syntaxes)
        ack(text=message.text, blocks=message.blocks, response_type="ephemeral")
        return
    ack()
    asker = Asker(
        user=str(body.get("user_id")),
        channel=str(body.get("channel_id")),
        respond=respond,
        team=body.get("team_id"),
    )
    deps.workers.submit(
        lambda: _run(deps, asker, command, run),
        what=f"/cartrover {command.name}",
        on_error=lambda correlation: report_failure(deps, asker, correlation),
        lane=Lane.READS,
    )


def _run(deps: Deps, asker: Asker, command: Command, run: Runner) -> None:
    with log_context(orders=command.refs):
        try:
            telling_not_saved(deps, asker, lambda: run(deps, asker, command))()
        except CartRoverError as exc:
            log.warning("/cartrover %s: CartRover failed: %s", command.name, exc)
            tell(deps, asker, cartrover_problem(exc))


def run_status(deps: Deps, asker: Asker, command: Command) -> None:
    lines = []
    reads = deps.cartrover.get_orders(command.refs)
    better = suggestions(
        deps.cartrover, [r for r, o in reads.items() if isinstance(o, OrderNotFound)]
    )
    for ref, read in reads.items():
        if isinstance(read, CartRoverError):
            lines.append(StatusLine(ref, error=read, suggestion=better.get(ref)))
        else:
            held = deps.holds.open_requests_for(ref)
            lines.append(StatusLine(ref, read, held_by=held[0] if held else None))
    tell(deps, asker, status_message(lines, deps.clock.now(), deps.settings.zone))


def run_hold(deps: Deps, asker: Asker, command: Command) -> None:
    refs, reason = list(command.refs), command.reason
    word = command.maybe_order
    if word and word not in refs:
        read = deps.cartrover.get_orders([word]).get(word)
        if isinstance(read, Order):  # a word that is also an order: never taken silently
            tell(deps, asker, ambiguous_word(refs, reason, word))
            return
    asked = flow.ask(deps, requester=asker.user, channel_id=asker.channel, refs=refs, reason=reason)
    message = asked_message(asked, deps.clock.now(), deps.settings.zone)
    unknown = [ref for ref, why in asked.refused if why.startswith(NOT_KNOWN)]
    hint = reason_hint(refs, reason, unknown)
    if hint:
        message = Message.note(f"{message.text}\n{hint}")
    tell(deps, asker, message)


def run_pending(deps: Deps, asker: Asker, command: Command) -> None:
    tell(deps, asker, pending_message(deps.holds.open_requests(), deps.clock.now()))


def run_history(deps: Deps, asker: Asker, command: Command) -> None:
    ref = command.refs[0]
    tell(deps, asker, history_message(ref, deps.holds.audit_for_order(ref), deps.settings.zone))
