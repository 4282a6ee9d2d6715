"""Counting words: one helper for every message, never ``order(s)``."""

from __future__ import annotations

import pytest

from bot.words import agree, plural


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0 orders"), (1, "1 order"), (2, "2 orders"), (500, "500 orders")],
)
def test_plural_counts_a_noun(count: int, expected: str) -> None:
    """One is singular; zero and more are plural."""
    assert plural(count, "order") == expected


def test_irregular_plurals_and_agreement() -> None:
    """An irregular plural is given; a verb or pronoun agrees with the count."""
    assert plural(1, "entry", "entries") == "1 entry"
    assert plural(3, "entry", "entries") == "3 entries"
    assert (agree(1, "is", "are"), agree(2, "is", "are")) == ("is", "are")
