"""Counting words: one helper for every message, never ``order(s)``."""

from __future__ import annotations

import pytest

from bot.words import agree, first_few, plural


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


def test_the_first_few_are_named_and_the_rest_counted() -> None:
    """Up to five named, each as the caller writes it; more are counted after them."""
    refs = [f"TS-{n}" for n in range(1, 9)]
    assert first_few(refs[:2]) == "TS-1, TS-2"
    assert first_few(refs[:5]) == "TS-1, TS-2, TS-3, TS-4, TS-5"
    assert (
        first_few(refs, lambda ref: f"`{ref}`")
        == "`TS-1`, `TS-2`, `TS-3`, `TS-4`, `TS-5` and 3 more"
    )
