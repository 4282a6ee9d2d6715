"""Small pieces shared by the builders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.slack.mrkdwn import truncate

__all__ = [
    "MAX_BLOCKS",
    "SECTION_LIMIT",
    "Message",
    "archive_link",
    "context",
    "divider",
    "header",
    "plain",
    "section",
]

MAX_BLOCKS = 50
SECTION_LIMIT = 3000
Block = dict[str, Any]


@dataclass(frozen=True)
class Message:
    """Fallback ``text`` (notifications, screen readers) plus ``blocks``."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.blocks) > MAX_BLOCKS:
            raise ValueError(f"{len(self.blocks)} blocks: Slack allows {MAX_BLOCKS}")

    @classmethod
    def note(cls, text: str) -> Message:
        """A message of one section of mrkdwn ``text`` (already escaped), with it as fallback."""
        return cls(text=text, blocks=[section(text)])


def plain(text: str, limit: int = 150) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, 150)}


def section(text: str, *, block_id: str | None = None, fields: list[str] | None = None) -> Block:
    block: Block = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)},
    }
    if fields:
        block["fields"] = [{"type": "mrkdwn", "text": truncate(f, 2000)} for f in fields[:10]]
    if block_id:
        block["block_id"] = block_id
    return block


def context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": truncate(t, 2000)} for t in texts[:10]],
    }


def divider() -> Block:
    return {"type": "divider"}


def archive_link(channel_id: str, ts: str, label: str) -> str:
    """A link to a message from its channel and ts (Slack resolves it in the viewer's workspace)."""
    return f"<https://slack.com/archives/{channel_id}/p{ts.replace('.', '')}|{label}>"


def lines_within(lines: list[str], limit: int = SECTION_LIMIT, more: str = "…and {n} more") -> str:
    """Join as many lines as fit in ``limit`` characters, then say how many were left out."""
    kept: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        tail = len(more.format(n=len(lines) - index)) + 1
        if size + len(line) + 1 + tail > limit:
            kept.append(more.format(n=len(lines) - index))
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)
