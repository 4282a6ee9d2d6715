"""Logging: level from ``LOG_LEVEL``, format from ``LOG_FORMAT``, and one filter on the handler
that every record passes, whichever library logged it:

- secrets and token shapes are redacted;
- ``response_url``s (each one lets its holder post into Slack for 30 minutes) are cut to their
  origin, whether written plainly, percent-encoded or JSON-escaped;
- newlines and other control, bidirectional and zero-width characters are escaped, so text that
  came from outside (order references, reasons, CartRover messages, header values, paths) can
  never start a forged log line. A traceback keeps its line breaks, each line indented.

The HTTP libraries are pinned to WARNING whatever the level (they log full URLs at INFO), and so
is APScheduler below DEBUG: its INFO lines ("Running job …", "executed successfully") come every
minute and say nothing the bot's own lines do not. The demo stamps lines with its sandbox clock
(:func:`stamp_with`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from bot.settings import SLACK_HOOKS_ORIGIN
from bot.slack.mrkdwn import UNSAFE_CHARS

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = [
    "JsonFormatter",
    "RedactingFilter",
    "TextFormatter",
    "configure_logging",
    "escape_controls",
    "redact",
    "setup_logging",
    "stamp_with",
]

# Token shapes that must never be printed, whoever logs them.
_PATTERNS = [
    re.compile(r"xox[abposr]-[0-9A-Za-z-]+"),
    re.compile(r"xapp-[0-9A-Za-z-]+"),
    re.compile(r"(?i)(authorization[\"']?\s*[:=,]\s*b?[\"']?)(basic|bearer)\s+[A-Za-z0-9+/=._-]+"),
]
_QUIET_LOGGERS = ("httpx", "httpcore", "urllib3", "slack_sdk.web.base_client", "waitress.queue")
_CHATTY_LOGGERS = ("apscheduler",)  # quiet unless LOG_LEVEL=DEBUG


class _Clock(Protocol):
    def now(self) -> datetime: ...


_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# What may follow a host in a logged URL: a path written plainly, percent-encoded or JSON-escaped.
_URL_TAIL = r"(?:/|%2[fF]|\\/)[^\s\"'&<>,;]*"


def escape_controls(text: str) -> str:
    """``text`` with every control, bidirectional and zero-width character written as an escape
    (``\\n``, ``\\x1b``, ``\\u202e``), so it stays one visible line."""
    return UNSAFE_CHARS.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def _private_url_patterns(origins: Iterable[str], keep: str | None) -> list[re.Pattern[str]]:
    """One pattern per ``response_url`` origin, matching the host (and port) and what follows.

    ``keep`` is the Web API's own URL on such a host (``SLACK_API_URL``): its method URLs stay
    readable. Slack's hooks host is always covered, configured or not.
    """
    patterns = []
    keep_path = urlsplit(keep).path if keep else ""
    for origin in dict.fromkeys([SLACK_HOOKS_ORIGIN, *origins]):
        parts = urlsplit(origin)
        if not parts.hostname:
            continue
        host = re.escape(parts.hostname)
        port = rf"(?::|%3[aA]){parts.port}" if parts.port else ""
        spared = ""
        if keep_path and origin != SLACK_HOOKS_ORIGIN:
            spared = rf"(?!{re.escape(keep_path)})"
        patterns.append(re.compile(rf"(?i)({host}{port}){spared}{_URL_TAIL}"))
    return patterns


_HOOKS_ONLY = _private_url_patterns((), None)


def redact(
    text: str,
    secrets: Iterable[str] = (),
    url_patterns: Iterable[re.Pattern[str]] | None = None,
) -> str:
    """``text`` with every known secret, every token-shaped string and every response_url path
    replaced by ``[redacted]``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    text = _PATTERNS[0].sub("[redacted]", text)
    text = _PATTERNS[1].sub("[redacted]", text)
    text = _PATTERNS[2].sub(r"\1\2 [redacted]", text)
    for pattern in _HOOKS_ONLY if url_patterns is None else url_patterns:
        text = pattern.sub(r"\1/[redacted]", text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message (and traceback) so that no configured secret, token
    shape or response_url survives, and no character from outside can break the line."""

    def __init__(
        self,
        secrets: Iterable[str] = (),
        *,
        response_origins: Iterable[str] = (),
        api_url: str | None = None,
    ) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.url_patterns = _private_url_patterns(response_origins, api_url)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not kill logging
            message = str(record.msg)
        clean = escape_controls(redact(message, self.secrets, self.url_patterns))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            lines = redact(record.exc_text, self.secrets, self.url_patterns).split("\n")
            record.exc_text = "\n".join(escape_controls(line) for line in lines)
        if record.stack_info:
            lines = redact(record.stack_info, self.secrets, self.url_patterns).split("\n")
            record.stack_info = "\n".join(escape_controls(line) for line in lines)
        record.msg, record.args = clean, None
        return True


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message``; traceback lines follow indented, so that only a record's
    first line starts at the margin. ``clock``: stamp lines with its time instead of the wall
    clock's (the demo's sandbox clock)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
        self.clock: _Clock | None = None

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if self.clock is None:
            return super().formatTime(record, datefmt)
        return self.clock.now().strftime(datefmt or "%Y-%m-%dT%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        extra = [part for part in (record.exc_text, record.stack_info) if part]
        if not extra and record.exc_info:
            extra = [self.formatException(record.exc_info)]
        for part in extra:
            text += "\n" + "\n".join(f"    {line}" for line in part.splitlines())
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, and
    ``exception`` / ``stack`` when the record has them."""

    clock: _Clock | None = None

    def format(self, record: logging.LogRecord) -> str:
        when = self.clock.now() if self.clock else datetime.fromtimestamp(record.created, UTC)
        entry = {
            "time": when.astimezone(UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(
    level: str = "INFO",
    secrets: Iterable[str] = (),
    *,
    log_format: str = "text",
    response_origins: Iterable[str] = (),
    api_url: str | None = None,
) -> None:
    """Configure the root logger once: one stderr handler with the redacting filter."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_cartrover_bot", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._cartrover_bot = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RedactingFilter(secrets, response_origins=response_origins, api_url=api_url))
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)


def stamp_with(clock: _Clock | None) -> None:
    """Stamp the bot's log lines with ``clock``'s time from now on (None: the wall clock's)."""
    for handler in logging.getLogger().handlers:
        formatter = handler.formatter
        if getattr(handler, "_cartrover_bot", False) and isinstance(
            formatter, TextFormatter | JsonFormatter
        ):
            formatter.clock = clock


def configure_logging(settings: Settings) -> None:
    """:func:`setup_logging` from the settings: level, format, secrets and response_url hosts."""
    setup_logging(
        settings.log_level,
        settings.secrets(),
        log_format=settings.log_format,
        response_origins=settings.response_url_origins,
        api_url=settings.slack_api_url,
    )
