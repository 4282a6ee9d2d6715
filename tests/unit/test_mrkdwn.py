"""Safe pieces of Slack mrkdwn (Slack's escaping rules, reliability R14)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.slack.mrkdwn import code, date_token, escape, literal, truncate, user

ENTITY = re.compile(r"&(amp|lt|gt);")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_escape_replaces_exactly_the_three_control_characters() -> None:
    """`&`, `<`, `>` become entities; quotes, asterisks and the rest stay as they are."""
    assert escape("a & b < c > d \" ' * _ ~ ` é") == "a &amp; b &lt; c &gt; d \" ' * _ ~ ` é"


def test_escape_converts_non_strings() -> None:
    """Non-string values are converted with str() before escaping."""
    assert escape(12) == "12"
    assert escape(None) == "None"


def test_escape_escapes_an_existing_entity_again() -> None:
    """Text that already looks escaped is escaped again, so it shows as typed."""
    assert escape("&lt;!channel&gt;") == "&amp;lt;!channel&amp;gt;"


@given(st.text())
def test_escaped_text_has_no_angle_brackets_and_unescapes_to_the_input(text: str) -> None:
    """Escaped output never contains `<` or `>`, every `&` starts an entity, and it round-trips."""
    out = escape(text)
    assert "<" not in out
    assert ">" not in out
    assert out.count("&") == len(ENTITY.findall(out))
    assert unescape(out) == text


@pytest.mark.parametrize(
    ("hostile", "inert"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<!here|here>", "&lt;!here|here&gt;"),
        ("<https://x|Approve>", "&lt;https://x|Approve&gt;"),
        ("<@U0123ABCD>", "&lt;@U0123ABCD&gt;"),
        ("<!subteam^S0123ABCD>", "&lt;!subteam^S0123ABCD&gt;"),
    ],
)
def test_broadcasts_links_and_mentions_come_out_inert(hostile: str, inert: str) -> None:
    """Slack control sequences in untrusted text are escaped, so they cannot ping or link."""
    assert escape(hostile) == inert


def test_code_wraps_escaped_text_in_one_span() -> None:
    """code() gives one backtick span with the text escaped inside."""
    assert code("<!channel> & co") == "`&lt;!channel&gt; &amp; co`"


@given(st.text())
def test_code_cannot_be_broken_out_of(text: str) -> None:
    """Whatever the text, code() has exactly two backticks (its own) and no angle brackets."""
    out = code(text)
    assert out.startswith("`")
    assert out.endswith("`")
    assert out.count("`") == 2
    assert "<" not in out
    assert ">" not in out


def test_code_replaces_backticks() -> None:
    """A backtick inside the text cannot close the span."""
    assert code("a`<!here>`b") == "`a'&lt;!here&gt;'b`"


@pytest.mark.parametrize("user_id", ["U0123ABCD", "W0123ABCD", "U12"])
def test_user_renders_a_user_id_as_a_mention(user_id: str) -> None:
    """A Slack user id (U… or W…) becomes a `<@…>` mention."""
    assert user(user_id) == f"<@{user_id}>"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "U1",
        "u0123abcd",
        "C0123ABCD",
        "S0123ABCD",
        "U0123ABCD>",
        "U0123|x",
        "U0123ABCD\n",
        "U01 <!channel>",
        "<!channel>",
        "alice",
    ],
)
def test_user_shows_anything_else_escaped_not_as_a_mention(text: str) -> None:
    """A value that is not exactly a user id is shown escaped and never as a mention."""
    out = user(text)
    assert "<" not in out
    assert ">" not in out
    assert out == escape(text)


def test_date_token_renders_in_the_viewer_zone_with_an_escaped_fallback() -> None:
    """date_token() gives Slack's date token with the Unix time and an escaped fallback."""
    when = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert date_token(when) == (
        f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|2026-03-02 12:00 UTC>"
    )
    assert date_token(when, "<soon>").endswith("|&lt;soon&gt;>")


def test_truncate_leaves_short_text_alone() -> None:
    """Text within the limit is returned unchanged."""
    assert truncate("abc", 3) == "abc"


def test_truncate_cuts_long_text_to_the_limit_with_an_ellipsis() -> None:
    """Text over the limit is cut to exactly the limit, the last character an ellipsis."""
    assert truncate("abcdef", 4) == "abc…"


@pytest.mark.parametrize("limit", range(1, 12))
def test_truncate_never_cuts_an_entity_in_half(limit: int) -> None:
    """A cut that would split `&amp;`, `&lt;` or `&gt;` drops the whole entity instead."""
    out = truncate(escape("a<b&c>d<<"), limit)
    body = out.removesuffix("…")
    assert len(out) <= limit
    assert body.count("&") == len(ENTITY.findall(body))


@given(st.text(max_size=200), st.integers(min_value=1, max_value=250))
def test_truncated_escaped_text_stays_safe_and_within_the_limit(text: str, limit: int) -> None:
    """Truncating escaped text gives a prefix of it, within the limit, with only whole entities."""
    escaped = escape(text)
    out = truncate(escaped, limit)
    body = out.removesuffix("…") if out != escaped else out
    assert len(out) <= limit
    assert escaped.startswith(body)
    assert body.count("&") == len(ENTITY.findall(body))
    assert "<" not in out


def test_literal_shows_cartrover_text_as_written() -> None:
    """`**PII Removed**` cannot turn bold: text that could format is put in a code span; other
    text, underscores inside words included, is only escaped."""
    assert literal("**PII Removed**") == "`**PII Removed**`"
    assert literal("_test_ ~x~") == "`_test_ ~x~`"
    assert literal("a `tick`") == "`a 'tick'`"
    assert literal("shopify_store a*b") == "shopify_store a*b"
    assert literal("<!channel> & co") == "&lt;!channel&gt; &amp; co"


@pytest.mark.parametrize(
    ("zone", "fallback"),
    [
        ("Europe/Berlin", "2026-03-02 09:30 Europe/Berlin"),
        ("EST", "2026-03-02 09:30 EST"),
        ("UTC", "2026-03-02 09:30 UTC"),
    ],
)
def test_a_date_token_falls_back_to_the_time_in_its_own_zone(zone: str, fallback: str) -> None:
    """A zone-aware time is shown in its zone and named by it, never labelled UTC."""
    when = datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo(zone))
    token = date_token(when)
    assert token.startswith(f"<!date^{int(when.timestamp())}^")
    assert token.endswith(f"|{fallback}>")


def test_a_date_token_can_show_another_zone_or_the_day_alone() -> None:
    """``zone=`` picks the fallback's zone; ``date_only`` gives the day."""
    when = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert date_token(when, zone=ZoneInfo("Asia/Tokyo")).endswith("|2026-03-02 21:00 Asia/Tokyo>")
    assert date_token(when, date_only=True) == (
        f"<!date^{int(when.timestamp())}^{{date_short_pretty}}|2026-03-02>"
    )
