"""Safe pieces of Slack mrkdwn.

Slack's rule: escape exactly ``&``, ``<`` and ``>``; escaped entities are never re-parsed as
mentions, links or broadcasts. Every text that comes from a user or from CartRover goes through
:func:`escape` (or a helper built on it) before it enters a mrkdwn field.
"""

from __future__ import annotations

import re
from datetime import datetime

__all__ = ["code", "date_token", "escape", "truncate", "user"]

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def escape(text: object) -> str:
    """Escape ``&``, ``<``, ``>`` in ``text`` (converted with ``str``)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: object) -> str:
    """An escaped inline code span; backticks inside are replaced so the span cannot break."""
    return "`" + escape(str(text).replace("`", "'")) + "`"


def user(user_id: str) -> str:
    """A user mention from an id; anything that is not a user id is shown escaped, not linked."""
    if _USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return escape(user_id)


def date_token(when: datetime, fallback: str | None = None) -> str:
    """A Slack date token that renders in each viewer's time zone."""
    stamp = int(when.timestamp())
    text = fallback or when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{escape(text)}>"


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, ending in an ellipsis when cut.

    Cuts never split an escape entity (``&amp;``), so escaped text stays safe.
    """
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"
