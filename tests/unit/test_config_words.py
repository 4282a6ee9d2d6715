"""Malformed values are named with what they should be, in the bot's words rather than a
validation library's; an out-of-range number says so, not that it is no number."""

from __future__ import annotations

import pytest

from bot import grammar
from bot.grammar import Command, UsageError
from bot.settings import ConfigError, Settings
from handlers import SUBCOMMANDS


def parse(text: str) -> Command:
    return grammar.parse(text, [sub.syntax for sub in SUBCOMMANDS])


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("HOLD_REQUEST_TTL_HOURS", "soon", "HOLD_REQUEST_TTL_HOURS: not a number of hours above 0"),
        (
            "STALE_AFTER_HOURS",
            "100000",
            "STALE_AFTER_HOURS: out of range: expected a number of hours",
        ),
        ("PORT", "70000", "PORT: out of range: expected a port number from 1 to 65535"),
        ("PORT", "web", "PORT: not a port number from 1 to 65535"),
        ("ALLOW_SELF_APPROVAL", "maybe", "ALLOW_SELF_APPROVAL: not true or false"),
    ],
)
def test_a_malformed_number_or_flag_says_what_it_should_be(
    variable: str, value: str, words: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.load({variable: value})
    message = str(refused.value)
    assert words in message
    assert "Input should be" not in message and value not in message


@pytest.mark.parametrize("hours", ["100000", "0", "-3", "nan"])
def test_stale_hours_out_of_range_are_not_called_no_number(hours: str) -> None:
    with pytest.raises(UsageError) as refused:
        parse(f"stale {hours}")
    assert f"'{hours}' hours is out of range" in str(refused.value)
    assert "stale 48" in str(refused.value)


def test_stale_words_that_are_no_number_say_so() -> None:
    with pytest.raises(UsageError, match="'soon' is not a number of hours"):
        parse("stale soon")
