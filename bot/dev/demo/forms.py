"""Modals in the terminal: a form shown as text, and filled in field by field.

:func:`modal_text` renders a modal (its title, its text, each input with what it holds now, and
the errors Slack would show under a field); :class:`FormFill` asks for each input in turn, one
line each, keeping what is shown on an empty line, and after a refused submission asks again only
for the fields that have an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.dev.demo.people import CHANNEL_ID, CHANNEL_NAME
from bot.slack.blocks.text import readable, render_blocks

__all__ = ["Field", "FormFill", "fields_of", "modal_text"]


@dataclass(frozen=True)
class Field:
    """One input of a modal."""

    name: str  # its block id
    label: str
    optional: bool
    initial: str  # what it holds now ("" for nothing)
    channel: bool = False  # a channel picker

    @property
    def shown(self) -> str:
        return f"#{CHANNEL_NAME}" if self.channel and self.initial == CHANNEL_ID else self.initial


def _text(obj: Any) -> str:
    return str(obj.get("text") or "") if isinstance(obj, Mapping) else ""


def fields_of(view: Mapping[str, Any], typed: Mapping[str, str] | None = None) -> list[Field]:
    """The inputs of ``view``, each holding what was ``typed`` in it or its initial value."""
    found = []
    for block in view.get("blocks") or ():
        element = block.get("element") if isinstance(block, Mapping) else None
        if block.get("type") != "input" or not isinstance(element, Mapping):
            continue
        channel = element.get("type") == "conversations_select"
        initial = element.get("initial_conversation" if channel else "initial_value") or ""
        initial = (typed or {}).get(str(block.get("block_id")), initial)
        found.append(
            Field(
                name=str(block.get("block_id")),
                label=_text(block.get("label")),
                optional=bool(block.get("optional")),
                initial=str(initial).replace("\n", " "),
                channel=channel,
            )
        )
    return found


def modal_text(
    view: Mapping[str, Any],
    errors: Mapping[str, str] | None = None,
    typed: Mapping[str, str] | None = None,
) -> str:
    """A modal as readable text: title, text blocks, inputs with what they hold (``typed``, by
    block, or their initial values) and errors."""
    lines = [f"[{_text(view.get('title'))}]"]
    for block in view.get("blocks") or ():
        if block.get("type") == "input":
            item = fields_of({"blocks": [block]}, typed)[0]
            optional = " (optional)" if item.optional else ""
            lines.append(f"▸ {item.label}{optional}: {item.shown or '—'}")
            hint = _text(block.get("hint"))
            if hint:
                lines.append(f"    {hint}")
        else:
            lines.append(render_blocks([block]).text)
        error = (errors or {}).get(str(block.get("block_id")))
        if error:
            lines.append(f"    ⚠ {error}")
    submit = _text(view.get("submit"))
    lines.append(f"[{submit}]  [{_text(view.get('close'))}]" if submit else "")
    return readable("\n".join(line for line in lines if line))


@dataclass
class FormFill:
    """Filling in one modal at the terminal. :meth:`take` answers the current field."""

    view_id: str
    title: str
    fields: Sequence[Field]
    values: dict[str, str] = field(default_factory=dict)
    asking: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.asking:
            self.asking = list(range(len(self.fields)))

    @property
    def current(self) -> Field:
        return self.fields[self.asking[0]]

    @property
    def prompt(self) -> str:
        now = self.current
        shown = f" [{now.shown}]" if now.shown else ""
        optional = " (optional)" if now.optional else ""
        return f"{now.label}{optional}{shown} ›"

    def take(self, line: str) -> bool:
        """Answer the current field with ``line`` (empty: keep it); True once all are answered."""
        now = self.current
        typed = line.strip()
        if typed:
            self.values[now.name] = _channel(typed) if now.channel else typed
        self.asking.pop(0)
        return not self.asking

    def again(self, errors: Mapping[str, str]) -> bool:
        """After a refused submission: ask again for the fields with an error; False if none."""
        self.asking = [i for i, item in enumerate(self.fields) if item.name in errors]
        return bool(self.asking)


def _channel(typed: str) -> str:
    """The demo has one channel: ``#demo``, ``demo`` or its id name it; anything else is kept
    as typed (the bot refuses what is not a channel)."""
    return CHANNEL_ID if typed.lstrip("#").lower() in (CHANNEL_NAME, CHANNEL_ID.lower()) else typed
