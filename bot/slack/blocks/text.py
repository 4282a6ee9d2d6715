"""Block Kit → readable plain text, for the terminal demo, ``digest --dry-run`` and test assertions.

Headers are underlined, sections keep their text and fields, context lines are indented, dividers
become a rule, and every button (in an actions block or as a section accessory) is numbered —
``[1] Approve  [2] Reject`` — so that a terminal user can press one by its number. mrkdwn is
made readable: ``&lt;`` and friends are unescaped, ``<@U123>`` becomes ``@U123``, ``<#C1|name>``
``#name``, ``<url|label>`` ``label (url)`` and ``<!date^…|fallback>`` its fallback text.

:func:`for_terminal` goes one step further for a terminal, where mrkdwn means nothing: emoji codes
(``:warning:``) become the characters and ``*bold*``, ``_italic_`` and ``~strike~`` lose their
markers (or are styled by the caller); inline code keeps its backticks, so a reference still
stands out. ``digest --dry-run`` prints :func:`render_plain`; the demo styles the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EMOJI",
    "Button",
    "Rendered",
    "for_terminal",
    "readable",
    "render",
    "render_blocks",
    "render_plain",
]

Block = Mapping[str, Any]
_ANGLE = re.compile(r"<([^<>]*)>")
_RULE = "─" * 40
# The emoji codes the bot writes, as the characters a terminal shows.
EMOJI = {":warning:": "⚠️", ":white_check_mark:": "✅", ":x:": "❌", ":hourglass:": "⏳"}
_CODE_SPAN = re.compile(r"(`[^`\n]+`)")
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")
_EMPHASIS = {
    marker: re.compile(
        rf"(?<![\w{marker}]){re.escape(marker)}([^{marker}\n]+){re.escape(marker)}(?![\w{marker}])"
    )
    for marker in "*_~"
}


@dataclass(frozen=True)
class Button:
    """A numbered button: what a click on it would send."""

    number: int
    label: str
    action_id: str
    value: str
    style: str | None = None
    confirm: str | None = None  # the confirm dialog's text, if it has one
    url: str | None = None


@dataclass(frozen=True)
class Rendered:
    text: str
    buttons: list[Button] = field(default_factory=list)


def readable(mrkdwn: str) -> str:
    """Slack mrkdwn → plain text (links, mentions, dates and entities resolved)."""
    return (
        _ANGLE.sub(_angle, mrkdwn).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )


def _angle(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return label or target
    if target.startswith("#"):
        return "#" + label if label else target
    if target.startswith("!date^"):
        return label or target
    if target.startswith("!subteam^"):
        return label or "@" + target.split("^", 1)[1]
    if target.startswith("!"):
        return "@" + target[1:]
    return f"{label} ({target})" if label and label != target else target


def _text(obj: Any) -> str:
    """The text of a text object (plain_text or mrkdwn), or a bare string."""
    if isinstance(obj, str):
        return obj
    if not isinstance(obj, Mapping):
        return ""
    text = str(obj.get("text") or "")
    return readable(text) if obj.get("type") == "mrkdwn" else text


class _Renderer:
    def __init__(self, first: int) -> None:
        self.lines: list[str] = []
        self.buttons: list[Button] = []
        self._next = first

    def button(self, element: Mapping[str, Any]) -> str:
        confirm = element.get("confirm")
        button = Button(
            number=self._next,
            label=_text(element.get("text")),
            action_id=str(element.get("action_id") or ""),
            value=str(element.get("value") or ""),
            style=element.get("style"),
            confirm=_text(confirm.get("text")) if isinstance(confirm, Mapping) else None,
            url=element.get("url"),
        )
        self._next += 1
        self.buttons.append(button)
        return f"[{button.number}] {button.label}"

    def element(self, element: Mapping[str, Any]) -> str:
        kind = element.get("type")
        if kind == "button":
            return self.button(element)
        if kind == "image":
            return f"[image: {element.get('alt_text', '')}]"
        if kind in ("mrkdwn", "plain_text"):
            return _text(element)
        placeholder = _text(element.get("placeholder")) or str(kind)
        return f"[{placeholder}]"

    def block(self, block: Block) -> None:
        kind = block.get("type")
        if kind == "header":
            title = _text(block.get("text"))
            self.lines += [title, "═" * max(len(title), 3)]
        elif kind == "section":
            self.section(block)
        elif kind == "context":
            parts = [self.element(e) for e in block.get("elements") or ()]
            self.lines.append("  " + " · ".join(p for p in parts if p))
        elif kind == "divider":
            self.lines.append(_RULE)
        elif kind == "actions":
            self.lines.append("  ".join(self.element(e) for e in block.get("elements") or ()))
        elif kind == "image":
            self.lines.append(f"[image: {block.get('alt_text', '')}]")
        elif kind in ("markdown", "rich_text"):
            self.lines.append(str(block.get("text") or "[rich text]"))
        else:
            self.lines.append(f"[{kind} block]")

    def section(self, block: Block) -> None:
        text = _text(block.get("text"))
        if text:
            self.lines.append(text)
        for item in block.get("fields") or ():
            self.lines.append("  • " + _text(item))
        accessory = block.get("accessory")
        if isinstance(accessory, Mapping):
            self.lines.append("  " + self.element(accessory))


def render_blocks(blocks: Iterable[Block], *, first_button: int = 1) -> Rendered:
    """Render ``blocks``; buttons are numbered from ``first_button``."""
    renderer = _Renderer(first_button)
    for block in blocks:
        renderer.block(block)
    return Rendered("\n".join(renderer.lines), renderer.buttons)


def for_terminal(
    text: str,
    *,
    bold: Callable[[str], str] | None = None,
    code: Callable[[str], str] | None = None,
) -> str:
    """Readable text (:func:`readable`) as a terminal shows it: emoji codes as characters, bold,
    italic and strike markers removed (bold passed through ``bold`` when given), inline code
    spans left as they are (or passed through ``code`` without their backticks). Nothing inside
    a code span changes, and emphasis may run across one (``*History of `X`*``)."""
    spans: list[str] = []

    def keep(match: re.Match[str]) -> str:
        spans.append(match.group(1))
        return f"\x00{len(spans) - 1}\x00"

    text = _CODE_SPAN.sub(keep, text.replace("\x00", ""))
    for emoji, char in EMOJI.items():
        text = text.replace(emoji, char)
    text = _EMPHASIS["*"].sub(lambda m: bold(m.group(1)) if bold else m.group(1), text)
    text = _EMPHASIS["_"].sub(lambda m: m.group(1), text)
    text = _EMPHASIS["~"].sub(lambda m: m.group(1), text)
    return _PLACEHOLDER.sub(
        lambda m: code(spans[int(m.group(1))][1:-1]) if code else spans[int(m.group(1))], text
    )


def render_plain(blocks: Iterable[Block], fallback: str = "") -> str:
    """:func:`render` for a terminal (:func:`for_terminal`): no mrkdwn markers, no emoji codes."""
    return for_terminal(render(blocks, fallback))


def render(blocks: Iterable[Block], fallback: str = "") -> str:
    """Readable text of ``blocks`` (or of ``fallback`` when there are none)."""
    rendered = render_blocks(blocks)
    return rendered.text if rendered.text else readable(fallback)
