"""Safe pieces of Slack mrkdwn.

Slack's rule: escape exactly ``&``, ``<`` and ``>``; escaped entities are never re-parsed as
mentions, links or broadcasts. Every text that comes from a user or from CartRover goes through
:func:`escape` (or a helper built on it) before it enters a mrkdwn field.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from bot.words import listing

__all__ = [
    "UNSAFE_CHARS",
    "addressed",
    "code",
    "date_token",
    "escape",
    "literal",
    "mentions",
    "one_line",
    "truncate",
    "user",
    "zone_label",
]

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# Characters that are invisible or change how the text around them is laid out: C0 and C1
# controls, bidirectional embeddings, overrides, isolates and marks, zero-width characters, line
# and paragraph separators, the byte-order mark and the invisible tag characters.
UNSAFE_CHARS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)
_BREAKS = re.compile("[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029]")
_SPACES = re.compile(" {2,}")


def one_line(text: str) -> str:
    """Text typed by a person, made safe to show: line breaks and tabs become spaces, every other
    character of :data:`UNSAFE_CHARS` is removed, runs of spaces are collapsed."""
    text = UNSAFE_CHARS.sub("", _BREAKS.sub(" ", text))
    return _SPACES.sub(" ", text).strip()


def escape(text: object) -> str:
    """Escape ``&``, ``<``, ``>`` in ``text`` (converted with ``str``)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: object) -> str:
    """An escaped inline code span; backticks inside are replaced so the span cannot break."""
    return "`" + escape(str(text).replace("`", "'")) + "`"


# A formatting character that could open or close bold, italic, strike or code: one with a
# character that is not a letter or digit (or the start or end of the text) on either side.
# ``shopify_store`` and ``a*b`` cannot format anything; ``**PII Removed**`` and ``_x_`` can.
_ALNUM = r"[^\W_]"
_FORMATTING = re.compile(rf"(?<!{_ALNUM})[*_~`]|[*_~`](?!{_ALNUM})|`")


def literal(text: object) -> str:
    """Text from outside (CartRover's data, its messages) shown exactly as written.

    Slack has no escape for ``*``, ``_``, ``~`` and backticks, so text in which one of them could
    format (``**PII Removed**`` would turn bold) goes into an inline code span, where Slack
    formats nothing; other text is only escaped (:func:`escape`), so it reads as plain words.
    """
    value = str(text)
    return code(value) if _FORMATTING.search(value) else escape(value)


def user(user_id: str) -> str:
    """A user mention from an id; anything that is not a user id is shown escaped, not linked."""
    if _USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return escape(user_id)


_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")


def mentions(ids: list[str] | tuple[str, ...], *, at_most: int | None = None) -> str:
    """Mentions of users (``<@U…>``) and user groups (``<!subteam^S…>``) from their ids, joined
    as a sentence: ``<@U1>, <@U2> and 3 more``. Anything that is not such an id is left out: a
    mention is never made from text."""
    tokens = [
        f"<!subteam^{i}>" if _GROUP_ID.fullmatch(i) else f"<@{i}>"
        for i in ids
        if _GROUP_ID.fullmatch(i) or _USER_ID.fullmatch(i)
    ]
    if at_most is not None and len(tokens) > at_most:
        rest = len(tokens) - at_most
        tokens = [*tokens[:at_most], f"{rest} more"]
    return listing(tokens)


def addressed(user_id: str, sentence: str) -> str:
    """``sentence`` addressed to one person: their mention once, then a colon, so no one else
    named in it reads as a second addressee (``@alex: hold request #3 was rejected by @kim``)."""
    return f"{user(user_id)}: {sentence}"


def zone_label(zone: tzinfo | None) -> str:
    """How a time zone is named after a time: its IANA name (``Europe/Berlin``, ``EST``),
    ``UTC``, or the offset of a fixed zone."""
    if zone is None or zone is UTC:
        return "UTC"
    if isinstance(zone, ZoneInfo):
        return zone.key
    return zone.tzname(None) or "UTC"


def date_token(
    when: datetime,
    fallback: str | None = None,
    *,
    zone: tzinfo | None = None,
    date_only: bool = False,
) -> str:
    """A Slack date token: clients that render it show the time in each viewer's own zone;
    the others show ``fallback``, by default the time in ``zone`` (else in ``when``'s own zone,
    else UTC) labelled with that zone: ``2026-03-02 09:30 Europe/Berlin``. ``date_only``: the
    day alone (``2026-03-02``)."""
    stamp = int(when.timestamp())
    shown_in = zone or when.tzinfo or UTC
    local = when.astimezone(shown_in)
    if date_only:
        return f"<!date^{stamp}^{{date_short_pretty}}|{escape(fallback or f'{local:%Y-%m-%d}')}>"
    if fallback is None:
        fallback = f"{local:%Y-%m-%d %H:%M} {zone_label(shown_in)}"
    return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{escape(fallback)}>"


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
