"""Slack's error codes in words, for people: the audit trail, a notice sent elsewhere."""

from __future__ import annotations

__all__ = ["known_slack_error", "slack_error_words"]

_ERROR_WORDS = {
    "not_in_channel": "the bot is not in that channel",
    "channel_not_found": "no such channel, or a private one the bot is not in",
    "is_archived": "the channel is archived",
    "is_inactive": "the channel is archived or deleted",
    "message_not_found": "the message was deleted",
    "thread_not_found": "the message was deleted",
    "missing_scope": "the Slack app lacks a permission (reinstall it from manifest.yml)",
    "connection_failed": "no answer came back from Slack",
    "user_disabled": "that person's account is deactivated",
}


def known_slack_error(error: str) -> str | None:
    """A Slack error code in words, or None when the bot has none for it."""
    return _ERROR_WORDS.get(error)


def slack_error_words(error: str) -> str:
    """A Slack error code in words (the code itself when it has none)."""
    return known_slack_error(error) or f"Slack answered {error}"
