"""The help text, generated from the same table that routes subcommands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.slack.blocks.message import Message, context, section
from bot.slack.ids import COMMAND
from bot.slack.mrkdwn import escape

__all__ = ["help_message", "usage_error"]


class Syntax(Protocol):
    """A subcommand as help shows it (:class:`bot.grammar.Syntax` is one)."""

    @property
    def usage(self) -> str: ...

    @property
    def summary(self) -> str: ...


SAFETY = (
    "This bot never deletes orders: a deleted order can be re-imported from the order source and "
    "shipped again. A hold request stops *sending to the WMS*, which is the safe way to stop an "
    "order."
)
ELSEWHERE = (
    "*Beyond the command:* the bot's *App Home* tab (open it from the app's name) shows your hold "
    "requests, and for approvers every open one with its buttons; the shortcuts *Hold test "
    "orders* (from the shortcuts menu) and *Hold orders in message* (on a message's ⋮ menu) open "
    f"the hold form, as `{COMMAND} hold` with no order does."
)


def help_message(subcommands: Sequence[Syntax]) -> Message:
    lines = [f"`{COMMAND} {escape(sub.usage)}` — {escape(sub.summary)}" for sub in subcommands]
    text = "*How to use the CartRover bot*\n" + "\n".join(lines)
    return Message(text=text, blocks=[section(text), section(ELSEWHERE), context(SAFETY)])


def usage_error(problem: str, usage: str | None, subcommands: Sequence[Syntax]) -> Message:
    """A specific message for text that does not fit the grammar, with the right usage line."""
    if usage:
        text = f"{escape(problem)}\nUsage: `{COMMAND} {escape(usage)}`"
        return Message.note(text)
    listing = help_message(subcommands)
    text = f"{escape(problem)}\n\n{listing.text}"
    return Message(text=text, blocks=[section(escape(problem)), *listing.blocks])
