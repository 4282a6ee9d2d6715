"""Logging: level from ``LOG_LEVEL``, a redacting filter on every handler, and the HTTP libraries
pinned to WARNING whatever the level (reliability R15, R16)."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

__all__ = ["RedactingFilter", "redact", "setup_logging"]

# Token shapes that must never be printed, whoever logs them.
_PATTERNS = [
    re.compile(r"xox[abposr]-[0-9A-Za-z-]+"),
    re.compile(r"xapp-[0-9A-Za-z-]+"),
    re.compile(r"(?i)(authorization[\"']?\s*[:=,]\s*b?[\"']?)(basic|bearer)\s+[A-Za-z0-9+/=._-]+"),
]
_QUIET_LOGGERS = ("httpx", "httpcore", "urllib3", "slack_sdk.web.base_client", "waitress.queue")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret and every token-shaped string replaced."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    text = _PATTERNS[0].sub("[redacted]", text)
    text = _PATTERNS[1].sub("[redacted]", text)
    return _PATTERNS[2].sub(r"\1\2 [redacted]", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message so no configured secret or token shape survives."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not kill logging
            message = str(record.msg)
        clean = redact(message, self.secrets)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        record.msg, record.args = clean, None
        return True


def setup_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Configure the root logger once: one stderr handler with the redacting filter."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_cartrover_bot", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._cartrover_bot = True  # type: ignore[attr-defined]
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    handler.addFilter(RedactingFilter(secrets))
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
